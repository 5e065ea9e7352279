import { describe, expect, it } from 'vitest';
import type { FleetNote } from '../../core/fleet/record.js';
import type { LedgerEntryDraft } from '../../core/ledger/index.js';
import type { FleetStore } from '../../ports/fleet-store.js';
import { LedgerTap } from './ledger-tap.js';

const note = (kind: string): FleetNote => ({
  fleet: 'web',
  time: 1,
  kind,
  summary: kind,
  actor: 'controller',
});

/** A store whose writes land (or not, for writeFleet) as told. */
function store(lands: boolean): FleetStore {
  const unused = () => Promise.reject(new Error('not used'));
  return {
    fleets: unused,
    fleet: unused,
    release: unused,
    releases: unused,
    history: unused,
    memories: unused,
    writeFleet: () => Promise.resolve(lands ? ({} as never) : null),
    note: () => Promise.resolve(),
    remember: () => Promise.resolve(),
  };
}

describe('the ledger tap', () => {
  it("sees the fleet store's notes once they are written, as the ledger entries they became", async () => {
    const tap = new LedgerTap(() => undefined);
    const seen: LedgerEntryDraft[] = [];
    tap.add((e) => seen.push(e));
    const fleets = tap.fleets(store(true));
    await fleets.writeFleet({} as never, 1, {
      ...note('complete'),
      ledgerKind: 'rollout-complete',
    });
    await fleets.note(note('taint'));
    await fleets.remember('web', {} as never, [note('crash'), note('meltdown')]);
    expect(seen.map((e) => e.kind)).toEqual(['rollout-complete', 'taint', 'crash', 'meltdown']);
    expect(seen[0]).toMatchObject({ fleet: 'web', detail: { summary: 'complete' } });
  });

  it('sees nothing of a write that did not land', async () => {
    const tap = new LedgerTap(() => undefined);
    const seen: LedgerEntryDraft[] = [];
    tap.add((e) => seen.push(e));
    expect(await tap.fleets(store(false)).writeFleet({} as never, 1, note('deploy'))).toBeNull();
    const failing = { ...store(true), note: () => Promise.reject(new Error('disk full')) };
    await expect(tap.fleets(failing).note(note('taint'))).rejects.toThrow('disk full');
    expect(seen).toEqual([]);
  });

  it('a sink that throws is reported, and the others still see the event', () => {
    const errors: unknown[] = [];
    const tap = new LedgerTap((err) => errors.push(err));
    const seen: string[] = [];
    tap.add(() => {
      throw new Error('broken sink');
    });
    tap.add((e) => seen.push(e.kind));
    tap.seen([{ time: 1, actor: 'a', kind: 'drift', subjects: [], detail: {} }]);
    expect(seen).toEqual(['drift']);
    expect(errors).toHaveLength(1);
  });
});
