/** Messages between the verifier and its hashing workers. Plain data: they cross threads. */

/**
 * A file to hash, reached through its parent folder's open descriptor
 * (`/proc/self/fd/N/name`), so that no component above it is resolved again. Bytes when
 * the name is not UTF-8 (a Buffer arrives in a worker as a Uint8Array).
 */
export type PinnedPath = string | Uint8Array;

/**
 * Paths joined by NUL (which no path holds): one string crosses threads much faster than
 * hundreds. A name that is not UTF-8 leaves its place empty and travels as bytes in `raw`.
 */
export interface HashBatch {
  readonly id: number;
  readonly paths: string;
  readonly raw: readonly (readonly [index: number, path: Uint8Array])[];
}

export function packBatch(id: number, files: readonly PinnedPath[]): HashBatch {
  const raw: [number, Uint8Array][] = [];
  const paths = files.map((f, i) => {
    if (typeof f === 'string') return f;
    raw.push([i, f]);
    return '';
  });
  return { id, paths: paths.join('\0'), raw };
}

export function unpackBatch(batch: HashBatch): PinnedPath[] {
  const files: PinnedPath[] = batch.paths.split('\0');
  for (const [i, path] of batch.raw) files[i] = path;
  return files;
}

export type HashOutcome =
  /** What a measurement records of the file, all read from the descriptor that was hashed. */
  | {
      readonly kind: 'hashed';
      /** The 32 bytes of its SHA-256. */
      readonly digest: Uint8Array;
      readonly mode: number;
      readonly uid: number;
      readonly gid: number;
      readonly size: number;
    }
  /** It no longer exists. */
  | { readonly kind: 'gone' }
  /** It is no longer a regular file (now a symlink, a folder, a FIFO, a device…). */
  | { readonly kind: 'raced' }
  | { readonly kind: 'failed'; readonly code: string; readonly message: string };

/**
 * The outcomes of a batch's first `count` files, packed into two arrays that are moved,
 * not copied, to the main thread: cloning one object per file cost each worker about as
 * much as opening the files. A worker stops after a few MiB, so that a batch of large
 * files does not leave the other workers idle at the end; the files it did not reach are
 * sent again.
 */
export interface HashReply {
  readonly id: number;
  readonly count: number;
  /** Per file: kind (index in KINDS), mode, uid, gid, size. */
  readonly meta: Float64Array<ArrayBuffer>;
  /** Per file: its SHA-256, if it was hashed. */
  readonly digests: Uint8Array<ArrayBuffer>;
  readonly failures: readonly {
    readonly index: number;
    readonly code: string;
    readonly message: string;
  }[];
}

const KINDS = ['hashed', 'gone', 'raced', 'failed'] as const;
const FIELDS = 5;
const DIGEST = 32;

export function packReply(id: number, outcomes: readonly HashOutcome[]): HashReply {
  const meta = new Float64Array(outcomes.length * FIELDS);
  const digests = new Uint8Array(outcomes.length * DIGEST);
  const failures: { index: number; code: string; message: string }[] = [];
  outcomes.forEach((o, i) => {
    meta[i * FIELDS] = KINDS.indexOf(o.kind);
    if (o.kind === 'failed') failures.push({ index: i, code: o.code, message: o.message });
    if (o.kind !== 'hashed') return;
    meta.set([o.mode, o.uid, o.gid, o.size], i * FIELDS + 1);
    digests.set(o.digest, i * DIGEST);
  });
  return { id, count: outcomes.length, meta, digests, failures };
}

export function unpackReply(reply: HashReply): HashOutcome[] {
  const { meta, digests } = reply;
  const failed = new Map(reply.failures.map((f) => [f.index, f]));
  const out: HashOutcome[] = [];
  for (let i = 0; i < reply.count; i++) {
    const at = i * FIELDS;
    const kind = KINDS[meta[at]!];
    if (kind === 'hashed')
      out.push({
        kind,
        digest: digests.subarray(i * DIGEST, (i + 1) * DIGEST),
        mode: meta[at + 1]!,
        uid: meta[at + 2]!,
        gid: meta[at + 3]!,
        size: meta[at + 4]!,
      });
    else if (kind === 'failed') {
      const f = failed.get(i);
      out.push({ kind, code: f?.code ?? 'UNKNOWN', message: f?.message ?? 'unknown error' });
    } else if (kind === 'gone' || kind === 'raced') out.push({ kind });
    else throw new Error(`a hashing worker sent an unknown outcome (${meta[at]})`);
  }
  return out;
}
