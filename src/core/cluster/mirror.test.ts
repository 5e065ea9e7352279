import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Mirror, type MirrorEntry } from './mirror.js';

fc.configureGlobal({ numRuns: Number(process.env['FC_RUNS'] ?? 200) });

/**
 * A model of one etcd folder: every revision's operations (one transaction each), so that
 * the folder can be listed as of any revision, and a watch replayed from any revision.
 */
class Store {
  revision = 0;
  /** history[r - 1]: the operations of revision r. */
  readonly history: { key: string; value: string | undefined }[][] = [];

  commit(ops: readonly { key: string; value: string | undefined }[]): number {
    this.history.push([...ops]);
    return ++this.revision;
  }

  /** The folder as of `revision`, as a listing gives it. */
  listing(revision: number): MirrorEntry<string>[] {
    const now = new Map<string, { value: string; modRevision: number }>();
    for (let r = 1; r <= revision; r++)
      for (const { key, value } of this.history[r - 1]!)
        if (value === undefined) now.delete(key);
        else now.set(key, { value, modRevision: r });
    return [...now].map(([key, v]) => ({ ...split(key), ...v }));
  }

  valueAt(key: string, revision: number): string | undefined {
    for (let r = revision; r >= 1; r--)
      for (const op of [...this.history[r - 1]!].reverse()) if (op.key === key) return op.value;
    return undefined;
  }
}

const split = (key: string) => {
  const [host, id] = key.split('/') as [string, string];
  return { host, id };
};

/** What the mirror shows, as key → value. */
function shown(m: Mirror<string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [host, values] of m.byHost())
    for (const [id, v] of values) out.set(`${host}/${id}`, v);
  return out;
}

const HOSTS = ['h1', 'h2', 'h3'];
/** This process (the leader) writes `own-*` keys; others (hosts) write `x-*` keys. */
const OWN = ['own-a', 'own-b', 'own-c', 'own-d'];
const OTHER = ['x-a', 'x-b', 'x-c'];
const key = (ids: readonly string[]) =>
  fc.tuple(fc.constantFrom(...HOSTS), fc.constantFrom(...ids)).map(([h, i]) => `${h}/${i}`);
const value = fc.option(fc.constantFrom('v1', 'v2', 'v3'), { nil: undefined, freq: 3 });

type Step =
  | {
      kind: 'own';
      /** One change: its operations, split into transactions of `chunk` operations. */
      ops: { key: string; value: string | undefined }[];
      chunk: number;
      /** The answer reached this process (else it was lost: only the watch tells). */
      confirmed: boolean;
    }
  | { kind: 'other'; key: string; value: string | undefined }
  | { kind: 'deliver'; revisions: number }
  | { kind: 'relist' };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('own' as const),
    ops: fc.uniqueArray(fc.record({ key: key(OWN), value }), {
      minLength: 1,
      maxLength: 5,
      selector: (o) => o.key,
    }),
    chunk: fc.integer({ min: 1, max: 3 }),
    confirmed: fc.integer({ min: 0, max: 4 }).map((n) => n > 0),
  }),
  fc.record({ kind: fc.constant('other' as const), key: key(OTHER), value }),
  fc.record({ kind: fc.constant('deliver' as const), revisions: fc.integer({ min: 1, max: 4 }) }),
  fc.constant({ kind: 'relist' as const }),
);

/**
 * Runs the steps against the model and the mirror. The watch's position is `watched`: every
 * revision up to it was delivered (or listed). Returns what the mirror should show after each
 * step, and checks it.
 */
function run(steps: readonly Step[], pre: readonly Step[]): void {
  const store = new Store();
  const mirror = new Mirror<string>();
  // History before the leader's listing.
  for (const s of pre)
    if (s.kind === 'other') store.commit([{ key: s.key, value: s.value }]);
    else if (s.kind === 'own') store.commit(s.ops);
  mirror.listed(store.revision, store.listing(store.revision));
  let watched = store.revision;
  /** Each own key's last confirmed write: the revision etcd answered, and the value. */
  const confirmed = new Map<string, { revision: number; value: string | undefined }>();

  const deliver = (upTo: number) => {
    for (let r = watched + 1; r <= upTo; r++)
      for (const { key: k, value: v } of store.history[r - 1]!)
        mirror.changed(
          v === undefined
            ? { kind: 'delete', ...split(k), revision: r }
            : { kind: 'put', ...split(k), value: v, revision: r },
        );
    watched = Math.max(watched, upTo);
    mirror.caughtUp(watched);
  };

  for (const s of steps) {
    if (s.kind === 'other') store.commit([{ key: s.key, value: s.value }]);
    else if (s.kind === 'own') {
      let last = 0;
      for (let i = 0; i < s.ops.length; i += s.chunk)
        last = store.commit(s.ops.slice(i, i + s.chunk));
      if (s.confirmed)
        for (const op of s.ops) {
          const change =
            op.value === undefined
              ? { kind: 'delete' as const, ...split(op.key), revision: last }
              : { kind: 'put' as const, ...split(op.key), value: op.value, revision: last };
          mirror.wrote(change);
          confirmed.set(op.key, { revision: last, value: op.value });
        }
    } else if (s.kind === 'deliver') deliver(Math.min(store.revision, watched + s.revisions));
    else {
      // The watch's revision was compacted: listed again now, watched from after it.
      mirror.listed(store.revision, store.listing(store.revision));
      watched = store.revision;
    }

    // Never older than the watch, and never older than this process's own confirmed writes.
    const expected = new Map<string, string>();
    for (const h of HOSTS)
      for (const id of [...OWN, ...OTHER]) {
        const k = `${h}/${id}`;
        const mine = confirmed.get(k);
        const v =
          mine !== undefined && mine.revision > watched ? mine.value : store.valueAt(k, watched);
        if (v !== undefined) expected.set(k, v);
      }
    expect(shown(mirror)).toEqual(expected);
  }

  // Once the watch delivered everything: exactly a listing now, and no tombstone left.
  deliver(store.revision);
  const listed = new Map(store.listing(store.revision).map((e) => [`${e.host}/${e.id}`, e.value]));
  expect(shown(mirror)).toEqual(listed);
  expect(mirror.tombstoneCount).toBe(0);
  expect(mirror.revision).toBe(store.revision);
}

describe('Mirror', () => {
  it('equals a listing once the watch delivered everything; meanwhile it is never older than the watch or than its own confirmed writes', () => {
    fc.assert(
      fc.property(
        fc.array(step, { maxLength: 60 }),
        fc.array(step, { maxLength: 8 }),
        (steps, pre) => run(steps, pre),
      ),
    );
  });

  it('a late event from before its own delete does not bring the key back', () => {
    const m = new Mirror<string>();
    m.listed(10, [{ host: 'h', id: 'a', value: 'old', modRevision: 3 }]);
    m.wrote({ kind: 'put', host: 'h', id: 'a', value: 'new', revision: 11 });
    m.wrote({ kind: 'delete', host: 'h', id: 'a', revision: 12 });
    m.changed({ kind: 'put', host: 'h', id: 'a', value: 'new', revision: 11 });
    expect(shown(m)).toEqual(new Map());
    expect(m.tombstoneCount).toBe(1);
    m.changed({ kind: 'delete', host: 'h', id: 'a', revision: 12 });
    m.changed({ kind: 'put', host: 'h', id: 'b', value: 'x', revision: 13 });
    expect(m.tombstoneCount).toBe(0);
    expect(shown(m)).toEqual(new Map([['h/b', 'x']]));
  });

  it('a listing older than its own write keeps the write', () => {
    const m = new Mirror<string>();
    m.listed(5, []);
    m.wrote({ kind: 'put', host: 'h', id: 'a', value: 'mine', revision: 9 });
    m.listed(8, [{ host: 'h', id: 'b', value: 'theirs', modRevision: 7 }]);
    expect(shown(m)).toEqual(
      new Map([
        ['h/a', 'mine'],
        ['h/b', 'theirs'],
      ]),
    );
    m.listed(9, [{ host: 'h', id: 'b', value: 'theirs', modRevision: 7 }]);
    expect(shown(m)).toEqual(new Map([['h/b', 'theirs']]));
  });

  it('hands out snapshots: a later change does not show in one handed out before', () => {
    const m = new Mirror<string>();
    m.listed(1, [{ host: 'h', id: 'a', value: 'v1', modRevision: 1 }]);
    const before = m.byHost();
    expect(m.byHost()).toBe(before); // nothing changed: the same snapshot
    m.changed({ kind: 'put', host: 'h', id: 'a', value: 'v2', revision: 2 });
    expect(before.get('h')?.get('a')).toBe('v1');
    expect(m.byHost().get('h')?.get('a')).toBe('v2');
  });
});
