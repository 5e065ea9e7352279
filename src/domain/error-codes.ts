import { EDGE_ERROR_CODES } from './edge-error-codes.js';

/**
 * Every code an Ingot error can carry, by the module that raises it. Each module's codes
 * are a closed union (`CodesOf<'ledger'>`): a typo in a code does not compile, scripts and
 * tests can match on them, and the HTTP adapter must give every one a status.
 */
export const ERROR_CODES = {
  /** The command line was used wrongly, or waited in vain. */
  usage: [
    'E_USAGE',
    'E_TIMEOUT',
    /** An output format a command cannot honour (debug's stdout is the session's own bytes). */
    'E_OUTPUT_UNSUPPORTED',
  ],
  /** The CLI talking to its server (the home's, or one named by --server). */
  client: [
    'E_NOT_RUNNING',
    'E_SERVER_IDENTITY',
    'E_UNAUTHORIZED',
    'E_API',
    /** The token file cannot be read, or holds no token. */
    'E_TOKEN_FILE',
    /** The token file is open to the file's group or others (as ssh refuses such a key). */
    'E_TOKEN_FILE_INSECURE',
    'E_CA_FILE',
    /** The server's certificate could not be verified. */
    'E_TLS',
  ],
  /** The CLI's context file ($XDG_CONFIG_HOME/ingot/config.yaml): the servers it can reach by name. */
  context: [
    /** The file cannot be read: not a regular file, unreadable, or it cannot be written back. */
    'E_CONTEXT_FILE',
    'E_CONTEXT_SYNTAX',
    /** Its fields are not those of a context file (every problem named, with its line). */
    'E_CONTEXT_INVALID',
    'E_CONTEXT_TOO_LARGE',
    'E_CONTEXT_ENCODING',
    /** No context of that name. */
    'E_CONTEXT_NOT_FOUND',
  ],
  /** The HTTP API itself: a request it cannot read, a fault it does not describe. */
  http: ['E_REQUEST', 'E_INTERNAL'],
  /** The dashboard at /ui: its session cookie, its CSRF header, its roles, its streams. */
  ui: [
    /** No session cookie, or one whose session ended (expired, signed out, server restarted). */
    'E_UI_SESSION',
    /** A state-changing request without the session's CSRF header (or with another value). */
    'E_UI_CSRF',
    /** The session signed in with the read-only token: it may look, not act. */
    'E_UI_READ_ONLY',
    /** The session holds as many event streams as it may. */
    'E_UI_STREAMS',
    /** This build has no dashboard (dist/web is missing: run `npm run build`). */
    'E_UI_NOT_BUILT',
    /** Too many sign-in attempts from this address, or from everyone: wait (Retry-After). */
    'E_UI_SIGN_IN_LIMIT',
  ],
  digest: ['E_DIGEST_INVALID', 'E_DIGEST_ALGORITHM'],
  /** The OCI layout store. */
  store: [
    'E_STORE_INVALID',
    'E_STORE_LOCKED',
    'E_BLOB_NOT_FOUND',
    'E_BLOB_CORRUPT',
    'E_BLOB_SIZE_MISMATCH',
    'E_BLOB_TOO_LARGE',
    'E_REF_NOT_FOUND',
    'E_REF_AMBIGUOUS',
    'E_TAG_INVALID',
  ],
  /** A baseline's own files: sources and where they go. */
  source: [
    'E_SOURCE_NOT_FOUND',
    'E_SOURCE_OUTSIDE_CONTEXT',
    'E_SOURCE_SYMLINK_ESCAPE',
    'E_SOURCE_SYMLINK_LOOP',
    'E_SOURCE_SPECIAL_FILE',
    'E_SOURCE_SETUID',
    'E_SOURCE_NAME_INVALID',
    'E_SOURCE_CHANGED',
    'E_SOURCE_TOO_LARGE',
    'E_DEST_THROUGH_SYMLINK',
    'E_DEST_CONFLICT',
  ],
  /** A base image's layers: somebody else's tar archives. */
  layer: [
    'E_LAYER_ENTRY_NAME',
    'E_LAYER_DUPLICATE_ENTRY',
    'E_LAYER_HARDLINK_ESCAPE',
    'E_LAYER_THROUGH_SYMLINK',
    'E_LAYER_SPECIAL_FILE',
    'E_LAYER_SIZE_MISMATCH',
    'E_LAYER_BOMB',
    'E_LAYER_CORRUPT',
    'E_LAYER_MEDIA_TYPE',
    'E_LAYER_DIFF_ID',
  ],
  /** Finding the base image. */
  baseImage: [
    'E_BASE_NOT_FOUND',
    'E_BASE_TAG_NOT_FOUND',
    'E_BASE_DIGEST_MISMATCH',
    'E_BASE_PLATFORM',
    'E_BASE_INVALID',
  ],
  /** ingot.yaml. */
  baseline: [
    'E_SPEC_SYNTAX',
    'E_SPEC_INVALID',
    'E_SPEC_TOO_LARGE',
    'E_SPEC_NOT_FOUND',
    'E_SPEC_ENCODING',
  ],
  /** The build's own machinery: the encoder, the build cache. */
  build: ['E_ENCODE', 'E_CACHE_SECRET'],
  /** One attestation, or the evidence as a whole. */
  attestation: [
    'E_BUNDLE_TOO_LARGE',
    'E_BUNDLE_NOT_JSON',
    'E_BUNDLE_INVALID',
    'E_BUNDLE_MEDIA_TYPE',
    'E_BUNDLE_SIGNATURES',
    'E_PAYLOAD_TYPE',
    'E_SIGNATURE_INVALID',
    'E_STATEMENT_INVALID',
    'E_SUBJECT_MISMATCH',
    'E_ATTACHMENT_INVALID',
  ],
  /** Key files. */
  key: [
    'E_KEY_NOT_FOUND',
    'E_KEY_INVALID',
    'E_KEY_TYPE',
    'E_KEY_PERMISSIONS',
    'E_KEY_EXISTS',
    /** A private key is gone while its public half is still trusted. */
    'E_KEY_LOST',
    /** A private key and the public key kept beside it are not one pair. */
    'E_KEY_MISMATCH',
  ],
  /** policy.yaml and what admission trusts. */
  policy: [
    'E_POLICY_SYNTAX',
    'E_POLICY_INVALID',
    'E_POLICY_TOO_LARGE',
    'E_POLICY_NOT_FOUND',
    'E_POLICY_ENCODING',
    'E_NO_TRUST',
  ],
  /** An artifact as a host and `ingot verify` read it. */
  artifact: [
    'E_NOT_AN_IMAGE',
    'E_ARTIFACT_CONTRACT',
    'E_NO_ATTESTATION',
    /** Several keys signed the image and `ingot attestation` was not told which one to print. */
    'E_ATTESTATION_AMBIGUOUS',
    'E_MEASUREMENT_MISSING',
    'E_MEASUREMENT_INVALID',
    'E_MEASUREMENT_MISMATCH',
    'E_MEASUREMENT_UNSIGNED',
    /** No SBOM is attached to the image (`ingot inspect --sbom`). */
    'E_SBOM_MISSING',
    /** An attached document's gzip parts do not come back to its digest and size. */
    'E_DOCUMENT_INVALID',
  ],
  rebuild: [
    'E_REBUILD_NO_PROVENANCE',
    'E_REBUILD_NO_GIT',
    'E_REBUILD_PATH',
    'E_REBUILD_COMMIT',
    'E_REBUILD_DIRTY',
    'E_REBUILD_UNTRUSTED',
  ],
  /** fleet.yaml, deploys, rollouts and the state they are kept in. */
  fleet: [
    'E_FLEET_SYNTAX',
    'E_FLEET_INVALID',
    'E_FLEET_TOO_LARGE',
    'E_FLEET_NOT_FOUND',
    /** `FLEET@N` names a release the fleet does not have. */
    'E_RELEASE_NOT_FOUND',
    'E_FLEET_ENCODING',
    'E_FLEET_CONFLICT',
    'E_DEPLOY_REFUSED',
    /** The fleet asks for what runc or the kernel refuses: it could never start. */
    'E_FLEET_UNRUNNABLE',
    /** The fleet does not fit on the host beside the others (addresses, limits, resources). */
    'E_CAPACITY',
    'E_ROLLBACK_NONE',
    'E_PROMOTE_NONE',
    /** `ingot pause`, `resume`, `abort`: no rollout in progress (or paused) to act on. */
    'E_PAUSE_NONE',
    'E_RESUME_NONE',
    'E_ABORT_NONE',
    'E_STATE_MIGRATION',
  ],
  /** The host agent: what it is asked to run, and break-glass. */
  agent: [
    'E_INSTANCE_ID',
    'E_INSTANCE_NOT_FOUND',
    /** `ingot logs --previous`: no exited instance of that id is kept on this host. */
    'E_PREVIOUS_NOT_FOUND',
    'E_INSTANCE_USER',
    'E_FLEET_NAME',
    'E_VOLUME_NAME',
    'E_VOLUME_UNKNOWN',
    /** A volume could not be moved into its instances' id range (user namespaces). */
    'E_VOLUME_OWNER',
    /** A desired instance's stop grace is not a whole number of ms within the bound. */
    'E_STOP_GRACE',
    /** A desired instance's source is not a registry reference pinning its artifact. */
    'E_INSTANCE_SOURCE',
    'E_DEBUG_INVALID',
    'E_DEBUG_HELD',
    /** A session asked to run in an instance no break-glass was opened on, for that command. */
    'E_DEBUG_NOT_OPEN',
    'E_INTEGRITY_OFF',
  ],
  /** The OCI runtime and the instances' network on a host. */
  host: [
    'E_RUNTIME',
    'E_RUNTIME_MISSING',
    'E_NETWORK',
    'E_NETWORK_MISSING',
    'E_PROCESS_EVENTS',
    /** An image asks for an init (runtime: init: true) and the host has none to give. */
    'E_INIT',
    /** The host-wide registry of user-namespace id ranges is unsafe or unusable. */
    'E_USERNS',
    /** Every id range of the pool is claimed. */
    'E_USERNS_EXHAUSTED',
  ],
  /** A materialised rootfs, and drift found in it. */
  rootfs: [
    'E_ROOTFS_LAYER',
    'E_ROOTFS_MEASUREMENT',
    'E_ROOTFS_MOUNTPOINT',
    'E_ROOTFS_VERIFY',
    'E_ROOTFS_DISCARD',
    'E_ROOTFS_WATCH',
    'E_ROOTFS_DRIFT',
    /** A file's owner lies outside the instance's id range (65,536 ids). */
    'E_ROOTFS_IDMAP',
  ],
  /** Why a rootfs could not be verified (as opposed to drift, which is a result). */
  rootfsVerify: [
    /** The root is missing or is not a folder. */
    'E_ROOTFS_VERIFY_ROOT',
    /** /proc/self/fd is not available: the tree cannot be read without following links. */
    'E_ROOTFS_VERIFY_PROC',
    /** An I/O error other than the path changing under the verifier. */
    'E_ROOTFS_VERIFY_READ',
    /** A path was replaced again on every attempt to read it. */
    'E_ROOTFS_VERIFY_UNSTABLE',
    /** A hashing worker died; the verifier cannot be used any more. */
    'E_ROOTFS_VERIFY_WORKER',
    'E_ROOTFS_VERIFY_CLOSED',
    'E_ROOTFS_VERIFY_ABORTED',
  ],
  /**
   * The ledger. The verification codes name what an auditor found broken, so that a script
   * reading `-o json` can tell an edited entry from a rewritten history.
   */
  ledger: [
    /** An entry is malformed, too large, not canonical, or does not hash to its leaf. */
    'E_LEDGER_ENTRY',
    /** Entries are missing, repeated or out of order. */
    'E_LEDGER_SEQ',
    /** A stored subtree hash is wrong, missing, or for a subtree that is not complete. */
    'E_LEDGER_NODE',
    /** A checkpoint's body is malformed. */
    'E_LEDGER_CHECKPOINT_INVALID',
    /** A checkpoint is not signed by the trusted key, or a signature on it is bad. */
    'E_LEDGER_CHECKPOINT_SIG',
    /** A checkpoint's root or size does not match the entries. */
    'E_LEDGER_CHECKPOINT_ROOT',
    /** A checkpoint names another log. */
    'E_LEDGER_CHECKPOINT_ORIGIN',
    /** The log is not an extension of a checkpoint trusted earlier: history was rewritten. */
    'E_LEDGER_CONSISTENCY',
    /** A signed note is malformed or too large. */
    'E_LEDGER_NOTE_INVALID',
    /** No signature on a note is by a known key. */
    'E_LEDGER_NOTE_UNKNOWN_KEY',
    /** A signature by a known key does not verify. */
    'E_LEDGER_NOTE_SIGNATURE',
    /** A verifier key ("name+keyid+base64") is malformed or its key ID does not match. */
    'E_LEDGER_VKEY',
    /** An exported ledger is malformed. */
    'E_LEDGER_EXPORT',
    /** A proof or root was asked for a size or index the log does not have. */
    'E_LEDGER_RANGE',
    /** Something that must commit on its own (signing a checkpoint) ran inside a transaction. */
    'E_LEDGER_TRANSACTION',
    /** The last checkpoint kept beside the key does not verify with it. */
    'E_LEDGER_LAST',
    /** The checkpoint key is gone while files or checkpoints say the log was signed with it. */
    'E_LEDGER_KEY_LOST',
    /** The checkpoint key is not the one the kept verifier key names. */
    'E_LEDGER_KEY_MISMATCH',
    /** This home has no ledger (or no verifier key) yet. */
    'E_LEDGER_NONE',
    /** No signed checkpoint covers the entry a proof was asked for. */
    'E_LEDGER_UNANCHORED',
  ],
  /**
   * OCI distribution registries: references typed by a user, credentials, and what a
   * registry answers (hostile until its digest is checked).
   */
  registry: [
    /** A registry reference is not HOST[:PORT]/REPO[:TAG][@sha256:…]. */
    'E_REGISTRY_REF_INVALID',
    /** The HOST[:PORT] part of a reference is not a host name, address or port. */
    'E_REGISTRY_HOST_INVALID',
    /** A repository name breaks the distribution spec's grammar. */
    'E_REGISTRY_REPO_INVALID',
    /** A tag breaks the distribution spec's grammar. */
    'E_REGISTRY_TAG_INVALID',
    /** `--creds`, $REGISTRY_AUTH_FILE or ~/.docker/config.json cannot be read or parsed. */
    'E_REGISTRY_CREDENTIALS',
    /** A WWW-Authenticate challenge cannot be parsed or names no scheme we can answer. */
    'E_REGISTRY_CHALLENGE',
    /** The registry refused us: 401 even with credentials or a token, or 403. */
    'E_REGISTRY_UNAUTHORIZED',
    /** The registry does not have the manifest or blob. */
    'E_REGISTRY_NOT_FOUND',
    /** A manifest or other document is larger than its bound (4 MiB for manifests). */
    'E_REGISTRY_TOO_LARGE',
    /** Content does not hash to the digest that names it. */
    'E_REGISTRY_DIGEST_MISMATCH',
    /** Content is not the size its descriptor says. */
    'E_REGISTRY_SIZE_MISMATCH',
    /** Too many redirects, or a redirect loop or to a scheme we may not follow. */
    'E_REGISTRY_REDIRECT',
    /** Still 429 or 5xx after the bounded retries (or it asked to wait too long). */
    'E_REGISTRY_UNAVAILABLE',
    /** An answer that breaks the distribution spec (status, headers, body). */
    'E_REGISTRY_PROTOCOL',
    /** The registry cannot be reached: connection, DNS or TLS failure. */
    'E_REGISTRY_CONNECT',
    /** A referrer names another subject than the image it was listed for. */
    'E_REGISTRY_REFERRER_SUBJECT',
    /** A tag pointed at another digest between two requests. */
    'E_REGISTRY_TAG_MOVED',
    /**
     * A measurement's or SBOM's parts, as the registry served them, do not make the document
     * their attachment names (and admission checked): nothing of the pull is committed.
     */
    'E_REGISTRY_DOCUMENT_INVALID',
  ],
  /** Deciding which host runs each instance. */
  placement: [
    /** A fleet's placement constraint or spread label breaks the grammar (kept specs only). */
    'E_PLACEMENT_CONSTRAINT',
    /** Placement was given two hosts of one name or two instances of one id. */
    'E_PLACEMENT_INPUT',
  ],
  /**
   * Coordination of a cluster (etcd): host leases, assignments, status and the leader. A
   * caller tells "another server leads now" (FENCED) from "etcd cannot answer" (UNAVAILABLE)
   * from "these credentials may not do that" (DENIED).
   */
  cluster: [
    /** Endpoints, TLS material or credentials given to connect are malformed. */
    'E_CLUSTER_CONFIG',
    /** A host or server name is not a DNS label: it would not make a safe key or user name. */
    'E_CLUSTER_NAME',
    /** No quorum, no member reachable, or no answer within the deadline (a write's outcome is then unknown). */
    'E_CLUSTER_UNAVAILABLE',
    /** etcd refused the credentials themselves (wrong user or password, bad token). */
    'E_CLUSTER_AUTH',
    /** etcd's RBAC refused the operation: these credentials may not read or write that key. */
    'E_CLUSTER_DENIED',
    /** A leader's write carried an epoch that is no longer the current one: another server leads, or none does. */
    'E_CLUSTER_FENCED',
    /** A lease (a host's registration, a leader's term) expired or was revoked. */
    'E_CLUSTER_LEASE_LOST',
    /** A value is malformed or over its bound (read: another process wrote it; write: refused before sending). */
    'E_CLUSTER_VALUE',
    /** etcd refused a request over its size bound (its members' --max-request-bytes). */
    'E_CLUSTER_TOO_LARGE',
    /** etcd's answer is not what the protocol promises (a revision that is not a number). */
    'E_CLUSTER_PROTOCOL',
    /** The coordination session was closed. */
    'E_CLUSTER_CLOSED',
    /** A join token or a host's credential is missing or wrong. */
    'E_CLUSTER_JOIN',
    /** The operation acts on a host's agent (logs, debug, verify now), and that agent offers no API (started without --listen). */
    'E_CLUSTER_HOST_ONLY',
    /** A host's agent did not answer a server's call (down, cut off, or it answered something else). */
    'E_CLUSTER_HOST_UNREACHABLE',
    /** A host refused a server's call: its signature, its time, or a replay. */
    'E_CLUSTER_CALL',
  ],
  /** The disk and the files Ingot keeps its state in, as the machine gives them. */
  storage: [
    /** No space (or quota) left where Ingot writes: ENOSPC, EDQUOT, SQLITE_FULL. */
    'E_DISK_FULL',
    /** state.db is damaged: truncated, a corrupt page, not a database at all. */
    'E_STATE_CORRUPT',
    /** The state's PostgreSQL cannot be reached, or refuses the login. */
    'E_STATE_UNREACHABLE',
  ],
  /** A server taking its home. */
  server: [
    'E_HOME_UNSAFE',
    'E_ALREADY_RUNNING',
    'E_SERVER_START',
    /** The metrics listener (--metrics-listen) cannot take its address. */
    'E_METRICS_LISTEN',
  ],
  /** Where the CLI keeps its state. */
  home: [
    /** No --home, no INGOT_HOME, and no HOME to put the default under (a service account). */
    'E_NO_HOME',
  ],
  /** The test bed of hosts simulated as network namespaces on one machine. */
  testbed: [
    /** A prefix, subnet, host number or command line that is not one the bed accepts. */
    'E_TESTBED_INPUT',
    /** The bed's addresses overlap a route the machine already has. */
    'E_TESTBED_CONFLICT',
    /** A command that makes or removes part of the bed failed. */
    'E_TESTBED_COMMAND',
  ],
  /**
   * The traffic edge: HAProxy in front of a fleet, its rendered configuration, its Runtime API
   * socket and the process Ingot supervises. A caller tells "the edge state asked for is bad"
   * (INVALID) from "HAProxy said no" (REFUSED) from "HAProxy cannot be reached" (UNREACHABLE).
   */
  edge: EDGE_ERROR_CODES,
} as const satisfies Record<string, readonly `E_${string}`[]>;

export type ErrorModule = keyof typeof ERROR_CODES;

/** The closed union of one module's codes. */
export type CodesOf<M extends ErrorModule> = (typeof ERROR_CODES)[M][number];

/** Every code. */
export type ErrorCode = CodesOf<ErrorModule>;

const ALL: ReadonlySet<string> = new Set(Object.values(ERROR_CODES).flat());

/** A code that arrived from elsewhere (an API answer) and is one of ours. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && ALL.has(value);
}
