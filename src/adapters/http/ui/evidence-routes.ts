import type { FastifyInstance, FastifyRequest } from 'fastify';
import * as z from 'zod';
import type { HostsAnswer, ListedHost } from '../../../core/api/hosts.js';
import { encodeEntry, type LedgerEntry } from '../../../core/ledger/index.js';
import type { ArtifactReader } from '../../../core/ui/artifact-view.js';
import type { EntryProof } from '../../../core/ui/proof-verify.js';
import type { UiFleet } from '../../../core/ui/fleet-view.js';
import { isDigest, type Digest } from '../../../domain/digest.js';
import { IngotError } from '../../../domain/errors.js';
import type { LedgerReader } from '../../../ports/ledger.js';

/** What the evidence views read: the ledger, the store's artifacts, the hosts. */
export interface EvidenceDeps {
  readonly ledger: LedgerReader;
  readonly artifacts: ArtifactReader;
  /** GET /v1/hosts's use case. */
  readonly hosts: () => Promise<HostsAnswer>;
}

/** One ledger entry as the list shows it (the detail is in its proof's body). */
export interface UiEntry {
  readonly seq: number;
  /** RFC 3339. */
  readonly time: string;
  readonly kind: string;
  readonly actor: string;
  readonly subjects: readonly string[];
  readonly fleet: string | null;
  readonly instance: string | null;
}

export interface UiEntriesPage {
  /** The log's size as of this read (the newest seq + 1); 0 when empty. */
  readonly size: number;
  /** Newest first. */
  readonly entries: readonly UiEntry[];
  /** Pass as `before` for the next (older) page; null: no older entries. */
  readonly next: number | null;
}

export interface UiCheckpoint {
  readonly size: number;
  /** RFC 3339; when it was signed (not covered by the signature). */
  readonly time: string;
  readonly note: string;
}

export interface UiHost extends ListedHost {
  readonly instances: readonly { id: string; fleet: string; state: string }[];
}

export const ENTRY_PAGE_MAX = 100;
const CHECKPOINTS_SHOWN = 10;

const count = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const entriesQuery = z.strictObject({
  before: count.optional(),
  limit: z.coerce.number().int().min(1).max(ENTRY_PAGE_MAX).default(50),
  kind: z
    .string()
    .regex(/^[a-z0-9-]{1,64}$/)
    .optional(),
});
const measurementQuery = z.strictObject({
  offset: count.default(0),
  limit: z.coerce.number().int().min(1).max(200).default(100),
  // A substring of the path; bounded so a filter cannot cost more than a page of paths.
  filter: z.string().max(256).default(''),
});

/** Query strings and path parameters are the caller's: every field checked, every bad one named. */
function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new IngotError(
      'E_REQUEST',
      parsed.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; '),
    );
  return parsed.data;
}

function digestParam(req: FastifyRequest): Digest {
  const { digest } = req.params as { digest: string };
  if (!isDigest(digest))
    throw new IngotError('E_DIGEST_INVALID', 'name an artifact by its sha256:… digest');
  return digest;
}

const rfc3339 = (ms: number) => new Date(ms).toISOString();

function uiEntry(e: LedgerEntry): UiEntry {
  return {
    seq: e.seq,
    time: rfc3339(e.time),
    kind: e.kind,
    actor: e.actor,
    subjects: e.subjects,
    fleet: e.fleet ?? null,
    instance: e.instance ?? null,
  };
}

/** The most entries one filtered page of the ledger searches (see scanRange). */
export const SCAN_WINDOW = 20_000;

/**
 * The seqs one page of entries searches: those before `before` (the log's end if absent or
 * past it). A kind is matched inside each entry's JSON, with no index: filtered, a page reads
 * at most `window` entries, so no session (read-only included) can make the server scan the
 * whole log per request while the controller waits on the same database. Pure.
 */
export function scanRange(
  size: number,
  before: number | undefined,
  filtered: boolean,
  window = SCAN_WINDOW,
): { from: number; to: number } {
  const to = Math.min(before ?? size, size);
  return { from: filtered ? Math.max(0, to - window) : 0, to };
}

/**
 * The dashboard's evidence, read-only, for any signed-in session (admin or read-only): the
 * ledger (entries, checkpoints, an entry's inclusion proof against the latest signed
 * checkpoint, and the verifier key; the page checks the proof itself), the artifacts with
 * their provenance, signatures, policy decision, SBOM and measurement, and the hosts.
 * The ledger records env names, never their values, so the read-only role may read it whole.
 */
export function serveEvidence(
  ui: FastifyInstance,
  deps: EvidenceDeps,
  signed: (req: FastifyRequest) => unknown,
  fleets: () => Promise<readonly UiFleet[]>,
): void {
  ui.get('/api/ledger/entries', async (req): Promise<UiEntriesPage> => {
    signed(req);
    const q = parse(entriesQuery, req.query);
    const [newest] = await deps.ledger.entries({ limit: 1, order: 'desc' });
    const size = newest === undefined ? 0 : newest.seq + 1;
    const { from, to } = scanRange(size, q.before, q.kind !== undefined);
    const found = await deps.ledger.entries({
      from,
      to,
      ...(q.kind !== undefined && { kind: q.kind }),
      // One more than asked: whether an older page exists, without counting the log.
      limit: q.limit + 1,
      order: 'desc',
    });
    const page = found.slice(0, q.limit);
    return {
      size,
      entries: page.map(uiEntry),
      // Older entries remain past a full page, or past the window this page searched.
      next: found.length > q.limit ? page[page.length - 1]!.seq : from > 0 ? from : null,
    };
  });
  ui.get('/api/ledger/checkpoints', async (req): Promise<{ checkpoints: UiCheckpoint[] }> => {
    signed(req);
    const list = await deps.ledger.recentCheckpoints(CHECKPOINTS_SHOWN);
    return {
      checkpoints: list.map((c) => ({ size: c.size, time: rfc3339(c.time), note: c.note })),
    };
  });
  ui.get('/api/ledger/key', (req): { vkey: string } => {
    signed(req);
    return { vkey: deps.ledger.vkey };
  });
  ui.get('/api/ledger/proof/:seq', async (req): Promise<EntryProof> => {
    signed(req);
    const seq = parse(count, (req.params as { seq: string }).seq);
    const [entry] = await deps.ledger.entries({ from: seq, to: seq + 1 });
    if (entry === undefined)
      throw new IngotError('E_LEDGER_RANGE', `the ledger has no entry ${seq}`);
    const [latest] = await deps.ledger.recentCheckpoints(1);
    // Only what a signature covers is proven: an entry newer than the last checkpoint waits.
    if (latest === undefined || latest.size <= seq)
      throw new IngotError(
        'E_LEDGER_UNANCHORED',
        `entry ${seq} is not covered by a signed checkpoint yet (one is signed every 10 s): try again shortly`,
      );
    const proof = await deps.ledger.inclusionProof(seq, latest.size);
    return {
      seq,
      // The stored body is canonical (decoding insists), so re-encoding gives its very bytes.
      body: encodeEntry(entry).toString('utf8'),
      size: latest.size,
      proof: proof.map((h) => Buffer.from(h).toString('base64')),
      checkpoint: latest.note,
    };
  });

  ui.get('/api/artifacts', async (req) => {
    signed(req);
    return { artifacts: await deps.artifacts.list() };
  });
  ui.get('/api/artifacts/:digest', async (req) => {
    signed(req);
    return deps.artifacts.evidence(digestParam(req));
  });
  ui.get('/api/artifacts/:digest/measurement', async (req) => {
    signed(req);
    const digest = digestParam(req);
    return deps.artifacts.measurement(digest, parse(measurementQuery, req.query));
  });

  ui.get('/api/hosts', async (req): Promise<{ hosts: UiHost[]; leader: unknown }> => {
    signed(req);
    const [answer, all] = await Promise.all([deps.hosts(), fleets()]);
    const placed = all.flatMap((f) =>
      f.instances.map((i) => ({ id: i.id, fleet: f.name, state: i.state, host: i.host })),
    );
    return {
      hosts: answer.hosts.map((h) => ({
        ...h,
        instances: placed
          // One machine's server names no host on its instances: they are all its own.
          .filter((i) => (i.host ?? (answer.hosts.length === 1 ? h.name : null)) === h.name)
          .map(({ id, fleet, state }) => ({ id, fleet, state })),
      })),
      leader: answer.leader,
    };
  });
}
