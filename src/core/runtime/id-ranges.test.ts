import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ID_RANGE_SIZE } from './id-map.js';
import { chooseSlot, POOL_SLOTS, POOL_START, reownedId, slotOf, slotRange } from './id-ranges.js';

/** Allocate owners one after another, as a host-wide registry does. */
function allocate(owners: readonly string[], slots: number): Map<string, number | null> {
  const taken = new Set<number>();
  const out = new Map<string, number | null>();
  for (const o of owners) {
    if (out.has(o)) continue;
    const slot = chooseSlot(o, taken, slots);
    out.set(o, slot);
    if (slot !== null) taken.add(slot);
  }
  return out;
}

describe('host id ranges', () => {
  it('every range lies above real accounts and subuid ranges, and below 2^32 - 1', () => {
    expect(slotRange(0).hostId).toBe(POOL_START);
    const last = slotRange(POOL_SLOTS - 1);
    expect(last.hostId + last.size - 1).toBeLessThanOrEqual(2 ** 32 - 2);
    expect(POOL_START).toBeGreaterThan(100_000 + 65_536 * 1000);
  });

  it('ranges of distinct owners never overlap, whatever the order they come in', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string(), { maxLength: 40 }),
        fc.integer({ min: 1, max: 64 }),
        (owners, slots) => {
          const given = [...allocate(owners, slots).values()].filter(
            (s): s is number => s !== null,
          );
          expect(new Set(given).size).toBe(given.length);
          const ranges = given.map(slotRange).sort((a, b) => a.hostId - b.hostId);
          for (let i = 1; i < ranges.length; i++)
            expect(ranges[i]!.hostId).toBeGreaterThanOrEqual(
              ranges[i - 1]!.hostId + ranges[i - 1]!.size,
            );
        },
      ),
    );
  });

  it('a slot is refused only when the pool is full', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string(), { maxLength: 30 }),
        fc.integer({ min: 1, max: 40 }),
        (owners, slots) => {
          const got = allocate(owners, slots);
          const refused = [...got.values()].filter((s) => s === null).length;
          expect(refused).toBe(Math.max(0, owners.length - slots));
        },
      ),
    );
  });

  it('is stable: the same owner and the same taken slots give the same slot', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.uniqueArray(fc.nat(POOL_SLOTS - 1), { maxLength: 50 }),
        (owner, taken) => {
          const a = chooseSlot(owner, new Set(taken));
          expect(chooseSlot(owner, new Set(taken))).toBe(a);
          expect(a === null || !taken.includes(a)).toBe(true);
        },
      ),
    );
  });

  it('an owner gets its slot back after the registry is lost, if no one else took it', () => {
    fc.assert(
      fc.property(fc.string(), (owner) => {
        expect(chooseSlot(owner, new Set())).toBe(chooseSlot(owner, new Set()));
      }),
    );
  });

  it('slotOf inverts slotRange and refuses what is not a slot start', () => {
    fc.assert(
      fc.property(fc.nat(POOL_SLOTS - 1), (slot) => {
        expect(slotOf(slotRange(slot).hostId)).toBe(slot);
        expect(slotOf(slotRange(slot).hostId + 1)).toBeNull();
      }),
    );
    expect(slotOf(0)).toBeNull();
    expect(slotOf(POOL_START + POOL_SLOTS * ID_RANGE_SIZE)).toBeNull();
  });

  describe('re-owning a volume', () => {
    const slot = fc.integer({ min: 0, max: POOL_SLOTS - 1 });
    const map = fc.option(slot.map(slotRange), { nil: null });
    const id = fc.oneof(
      fc.integer({ min: 0, max: ID_RANGE_SIZE - 1 }),
      slot.chain((s) =>
        fc.integer({ min: 0, max: ID_RANGE_SIZE - 1 }).map((i) => slotRange(s).hostId + i),
      ),
      fc.integer({ min: 0, max: 2 ** 32 - 2 }),
    );

    it("keeps the id inside: an unshifted or any range's id lands in the map at the same offset", () => {
      fc.assert(
        fc.property(map, fc.integer({ min: 0, max: ID_RANGE_SIZE - 1 }), slot, (m, inside, s) => {
          const base = m?.hostId ?? 0;
          expect(reownedId(inside, m)).toBe(base + inside);
          expect(reownedId(slotRange(s).hostId + inside, m)).toBe(base + inside);
        }),
      );
    });

    it("is idempotent, and leaves ids that were never an instance's alone", () => {
      fc.assert(
        fc.property(map, id, (m, i) => {
          const once = reownedId(i, m);
          expect(reownedId(once, m)).toBe(once);
          if (i >= ID_RANGE_SIZE && i < POOL_START) expect(once).toBe(i);
        }),
      );
      // A file nobody inside owns (65534) stays nobody's, in the range.
      expect(reownedId(65_534, slotRange(3))).toBe(slotRange(3).hostId + 65_534);
    });
  });
});
