import type { IKeyValue } from 'etcd3';
import { decodeValue, type ValueKind } from '../../core/cluster/index.js';
import type { Entry, InvalidValue, Listing } from '../../ports/coordination.js';
import { PAGE, prefixEnd, revisionOf, type Connection } from './connect.js';

/** Where a key sits: its host and instance (or host name twice), or null for a stray key. */
export type KeyParser = (key: string) => { readonly host: string; readonly id: string } | null;

/**
 * How one kind of value is read: which keys, how a key is parsed, how a value is decoded and
 * checked against its key. Shared by listings and watches so that both read alike.
 */
export interface Reader<T> {
  readonly prefix: string;
  readonly kind: ValueKind;
  readonly parseKey: KeyParser;
  /** A check of the decoded value against its key (a status must be for its key's instance). */
  readonly check?: (
    host: string,
    id: string,
    value: unknown,
  ) => { ok: true; value: T } | { ok: false; reason: string };
}

/**
 * One key-value from etcd as an entry, or why it cannot be used (and, when only the value is
 * wrong, where it sits).
 */
export function readKv<T>(
  reader: Reader<T>,
  kv: IKeyValue,
):
  | { entry: Entry<T> }
  | { invalid: InvalidValue; at?: { readonly host: string; readonly id: string } } {
  const key = kv.key.toString('utf8');
  const shown = JSON.stringify(key.slice(0, 200));
  const at = reader.parseKey(key);
  if (at === null) return { invalid: { key: shown, reason: 'not a key of this layout' } };
  const decoded = decodeValue(reader.kind, kv.value);
  if (!decoded.ok) return { invalid: { key: shown, reason: decoded.reason }, at };
  const checked = reader.check
    ? reader.check(at.host, at.id, decoded.value)
    : { ok: true as const, value: decoded.value as T };
  if (!checked.ok) return { invalid: { key: shown, reason: checked.reason }, at };
  return {
    entry: {
      host: at.host,
      id: at.id,
      value: checked.value,
      modRevision: revisionOf(kv.mod_revision, key),
    },
  };
}

/**
 * Every value under the reader's prefix as of one revision, a page at a time (a large fleet's
 * values do not fit one gRPC message). Later pages are read at the first page's revision, so
 * the listing is one consistent snapshot.
 */
export async function listAll<T>(
  conn: Connection,
  reader: Reader<T>,
  what: string,
  /** Read as of this revision (another listing's, to make one snapshot of both). */
  at?: number,
): Promise<Listing<T>> {
  return conn.run(what, async () => {
    // The snapshot's revision can be compacted between two pages: then start again, at a
    // newer one (unless the caller fixed the revision).
    for (let attempt = 1; ; attempt++) {
      try {
        return await pages(conn, reader, what, at);
      } catch (err) {
        if (!compacted(err) || at !== undefined || attempt >= 3) throw err;
      }
    }
  });
}

/** etcd refused to read as of a revision it compacted away (as it said, or as wrapped here). */
export function compacted(err: unknown): boolean {
  const said = (e: unknown) => e instanceof Error && e.message.includes('compacted');
  return said(err) || (err instanceof Error && said(err.cause));
}

async function pages<T>(
  conn: Connection,
  reader: Reader<T>,
  what: string,
  at: number | undefined,
): Promise<Listing<T>> {
  const entries: Entry<T>[] = [];
  const invalid: InvalidValue[] = [];
  const end = prefixEnd(reader.prefix);
  let start = Buffer.from(reader.prefix, 'utf8');
  let revision: number | null = at ?? null;
  for (;;) {
    const res = await conn.client.kv.range({
      key: start,
      range_end: end,
      limit: PAGE,
      ...(revision !== null && { revision }),
    });
    revision ??= revisionOf(res.header.revision, what);
    for (const kv of res.kvs) {
      const read = readKv(reader, kv);
      if ('entry' in read) entries.push(read.entry);
      else invalid.push(read.invalid);
    }
    const last = res.kvs.at(-1);
    if (!res.more || last === undefined) break;
    start = Buffer.concat([last.key, Buffer.from([0])]);
  }
  return { revision, entries, invalid };
}
