import { fnv1a64 } from '../fnv.js';
import { ID_RANGE_SIZE, type IdMap } from './id-map.js';

/**
 * The host ids Ingot hands out, in ranges of ID_RANGE_SIZE: from 100,000,000 up to the
 * last id a kernel accepts (2^32 - 2; 2^32 - 1 is "no id"). Far above the ranges
 * `useradd` gives out in /etc/subuid (100,000 up, 65,536 per user) and any real account,
 * so an instance's ids are nobody else's on the host.
 */
export const POOL_START = 100_000_000;
export const POOL_SLOTS = Math.floor((2 ** 32 - 1 - POOL_START) / ID_RANGE_SIZE);

/** The range of slot `slot` of the pool. */
export function slotRange(slot: number): IdMap {
  return { hostId: POOL_START + slot * ID_RANGE_SIZE, size: ID_RANGE_SIZE };
}

/** The slot whose range starts at `hostId`, or null if no slot's does. */
export function slotOf(hostId: number): number | null {
  const slot = (hostId - POOL_START) / ID_RANGE_SIZE;
  return Number.isInteger(slot) && slot >= 0 && slot < POOL_SLOTS ? slot : null;
}

/**
 * The slot for `owner` (a home and a fleet) given the slots `taken` by others. Pure. The
 * first choice is where the owner's name hashes to, then the next free one: an owner whose
 * record was lost (/run after a reboot) usually gets its old range back, and with it the
 * ownership of its volumes. Null if every slot is taken.
 */
export function chooseSlot(
  owner: string,
  taken: ReadonlySet<number>,
  slots: number = POOL_SLOTS,
): number | null {
  if (taken.size >= slots) return null;
  const first = Number(BigInt(`0x${fnv1a64(owner)}`) % BigInt(slots));
  for (let i = 0; i < slots; i++) {
    const slot = (first + i) % slots;
    if (!taken.has(slot)) return slot;
  }
  return null;
}

/**
 * The owner a file of a volume gets when the volume moves into `map` (null: the host's own
 * ids, no user namespace). An id is read as the id inside it stood for: below
 * ID_RANGE_SIZE an unshifted one (a volume from before user namespaces), in the pool one of
 * some range's (the fleet's range was handed out again). Any other id is left as it is: it
 * was never an instance's. Pure and idempotent, so a walk cut short can simply run again.
 */
export function reownedId(id: number, map: IdMap | null): number {
  const inside = id >= POOL_START ? (id - POOL_START) % ID_RANGE_SIZE : id;
  return inside < ID_RANGE_SIZE ? (map?.hostId ?? 0) + inside : id;
}
