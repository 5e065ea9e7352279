import { dirname, isAbsolute, join } from 'node:path';
import { decodeBundle } from '../core/attest/bundle.js';
import { RUNTIME_REASON_CODES } from '../core/policy/runtime.js';
import { parseStatement, type GitSource } from '../core/attest/provenance.js';
import { INGOT_BUILD_TYPE, InToto, type ProvenanceSummary } from '../domain/attestation.js';
import { digestOf, type Digest } from '../domain/digest.js';
import { IngotError } from '../domain/errors.js';
import type { Descriptor } from '../domain/oci.js';
import type { Store } from '../ports/store.js';
import { readAttestations } from './attestation.js';
import type { BuildRequest, BuildResult } from './build/index.js';
import type { LoadedPolicy } from './policy.js';
import { verifyArtifact } from './verify.js';

export interface RebuildRequest {
  readonly ref: string;
  /** Where the user's checkout is (the current directory). */
  readonly cwd: string;
  /** When given, the provenance is used only if it verifies against these keys and policy. */
  readonly trust?: LoadedPolicy;
}

export interface RebuildReport {
  readonly identical: boolean;
  readonly original: Digest;
  readonly rebuilt: Digest;
  readonly commit: string;
  readonly baseline: string;
  readonly baselineDigest: { readonly recorded: string | null; readonly now: Digest };
  readonly sourceTree: { readonly recorded: string | null; readonly rebuilt: Digest };
  /** Inputs of the original build that git ignores: the commit does not hold them. */
  readonly ignoredInputs: number;
  readonly verified: boolean;
}

type WorkTree = GitSource & { readonly root: string };

export interface RebuildDeps {
  readonly store: Store;
  readonly describeSource: (dir: string) => WorkTree | null;
  /** A path with every symlink resolved; throws if it does not exist. */
  readonly realpath: (path: string) => string;
  /** A whole file's bytes; throws if it cannot be read. */
  readonly readFile: (path: string) => Buffer;
  /**
   * Build into a throwaway store with no cache: a rebuild that reused cached compressed
   * segments would prove only that the cache is stable, not that the build is.
   */
  readonly buildFresh: (request: BuildRequest) => Promise<BuildResult>;
}

type RebuildErrorCode =
  | 'E_REBUILD_NO_PROVENANCE'
  | 'E_REBUILD_NO_GIT'
  | 'E_REBUILD_COMMIT'
  | 'E_REBUILD_DIRTY'
  | 'E_REBUILD_UNTRUSTED'
  | 'E_REBUILD_PATH';

const fail = (code: RebuildErrorCode, message: string) => new IngotError(code, message);

/**
 * `ingot rebuild --check`: redo the build its provenance describes, from the user's own
 * checkout at the recorded commit, and compare digests. Anyone with the source can run it;
 * an identical digest proves the artifact is exactly what that commit builds into.
 */
export async function rebuildCheck(
  deps: RebuildDeps,
  request: RebuildRequest,
): Promise<RebuildReport> {
  const image = await deps.store.resolve(request.ref);
  const provenance = await readProvenance(deps.store, image, request.trust);
  if (!provenance || !provenance.baseline || provenance.buildType !== INGOT_BUILD_TYPE)
    throw fail(
      'E_REBUILD_NO_PROVENANCE',
      `image ${image.digest} has no Ingot build provenance to rebuild from`,
    );
  const recorded = provenance.git;
  if (!recorded)
    throw fail(
      'E_REBUILD_NO_GIT',
      'the provenance names no git commit: the sources it was built from cannot be identified',
    );
  if (recorded.dirty)
    throw fail(
      'E_REBUILD_DIRTY',
      `the artifact was built from uncommitted changes on top of ${recorded.commit.slice(0, 12)}: no commit holds its sources`,
    );
  const baselineFile = locateBaseline(deps, request.cwd, provenance.baseline.path, recorded);

  let baselineNow: Digest;
  try {
    baselineNow = digestOf(deps.readFile(baselineFile));
  } catch {
    throw fail(
      'E_REBUILD_NO_PROVENANCE',
      `${provenance.baseline.path} (named by the provenance) is not in this work tree`,
    );
  }
  const compression = provenance.compression ?? 'gzip';
  if (compression !== 'gzip' && compression !== 'zstd' && compression !== 'none')
    throw fail('E_REBUILD_NO_PROVENANCE', `unknown compression ${JSON.stringify(compression)}`);
  const result = await deps.buildFresh({
    path: baselineFile,
    ...(provenance.tag !== null && { tag: provenance.tag }),
    compression,
    ...(provenance.level !== null && { level: provenance.level }),
    sourceDateEpoch: provenance.sourceDateEpoch ?? 0,
  });
  return {
    identical: result.digest === image.digest,
    original: image.digest,
    rebuilt: result.digest,
    commit: recorded.commit,
    baseline: provenance.baseline.path,
    baselineDigest: { recorded: provenance.baseline.digest, now: baselineNow },
    sourceTree: { recorded: provenance.sourceTree, rebuilt: result.source.tree },
    ignoredInputs: recorded.ignoredInputs,
    verified: request.trust !== undefined,
  };
}

/**
 * The provenance to rebuild from: with trust, only what verifies against it; without,
 * the first Ingot provenance attached, unverified: only a recipe, as the digests decide.
 */
async function readProvenance(
  store: Store,
  image: Descriptor,
  trust: LoadedPolicy | undefined,
): Promise<ProvenanceSummary | null> {
  if (trust) {
    const report = await verifyArtifact(store, {
      ref: image.digest,
      policy: trust.policy,
      keys: trust.keys,
      rehash: false,
      resources: null,
    });
    // Whether it may run (its user, its capabilities) is no question of whom to believe.
    const reasons = report.decision.reasons.filter((r) => !RUNTIME_REASON_CODES.has(r.code));
    if (report.problems.length > 0 || (!report.decision.allowed && reasons.length > 0))
      throw fail(
        'E_REBUILD_UNTRUSTED',
        `the artifact does not verify, so its provenance is not used: ${[...report.problems.map((p) => p.message), ...reasons.map((r) => r.message)].join('; ')}`,
      );
    return report.provenance;
  }
  for (const { bundle } of await readAttestations(store, image.digest)) {
    try {
      const { envelope } = decodeBundle(bundle);
      if (envelope.payloadType !== InToto.payloadType) continue;
      const parsed = parseStatement(JSON.parse(Buffer.from(envelope.payload).toString('utf8')));
      if ('problem' in parsed || !parsed.subjects.includes(image.digest)) continue;
      if (parsed.provenance?.buildType === INGOT_BUILD_TYPE) return parsed.provenance;
    } catch {
      continue;
    }
  }
  return null;
}

/**
 * The baseline file the provenance names, in the user's work tree at the recorded commit
 * and clean. Without --key the recorded path is unauthenticated (whoever wrote the store
 * chose it): it must stay inside the checkout, through symlinks too.
 */
function locateBaseline(
  deps: RebuildDeps,
  cwd: string,
  recordedPath: string,
  recorded: GitSource,
): string {
  const here = deps.describeSource(cwd);
  if (!here)
    throw fail(
      'E_REBUILD_NO_GIT',
      `${cwd} is not in a git work tree; check out ${recorded.remote ?? 'the source'} at ${recorded.commit}`,
    );
  if (isAbsolute(recordedPath) || recordedPath.split(/[\\/]/).includes('..'))
    throw fail(
      'E_REBUILD_PATH',
      `the provenance names the baseline ${JSON.stringify(recordedPath)}, which is not a path inside a work tree`,
    );
  const baselineFile = join(here.root, recordedPath);
  let real: string;
  try {
    real = deps.realpath(baselineFile);
  } catch {
    throw fail(
      'E_REBUILD_NO_PROVENANCE',
      `${recordedPath} (named by the provenance) is not in this work tree`,
    );
  }
  const rootReal = deps.realpath(here.root);
  if (real !== rootReal && !real.startsWith(`${rootReal}/`))
    throw fail('E_REBUILD_PATH', `${recordedPath} leads outside the work tree (to ${real})`);
  const tree = deps.describeSource(dirname(baselineFile));
  if (!tree || tree.commit !== recorded.commit)
    throw fail(
      'E_REBUILD_COMMIT',
      `the work tree is at ${(tree ?? here).commit.slice(0, 12)}, but the artifact was built at ${recorded.commit.slice(0, 12)}: git checkout ${recorded.commit}`,
    );
  if (tree.dirty)
    throw fail(
      'E_REBUILD_DIRTY',
      `${dirname(baselineFile)} has uncommitted changes: commit or stash them, then check again`,
    );
  return baselineFile;
}
