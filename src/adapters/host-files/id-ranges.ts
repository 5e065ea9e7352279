import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import type { IdMap } from '../../core/runtime/id-map.js';
import { chooseSlot, slotOf, slotRange } from '../../core/runtime/id-ranges.js';
import { IngotError } from '../../domain/errors.js';
import { writeFileAtomic, writeFileExclusive } from '../shared/atomic-file.js';
import { errnoOf } from '../shared/errno.js';
import { isAlive, processStart } from '../shared/process-alive.js';
import { safeJson } from '../shared/safe-json.js';

/** Host-wide claims on id ranges, one file per slot, whichever home made them. */
export const DEFAULT_REGISTRY_DIR = '/run/ingot/userns';
const LOCK = '.lock';
const LOCK_TRIES = 200;

interface Claim {
  readonly home: string;
  readonly fleet: string;
}

/**
 * Each fleet's id range on this host (its instances' user namespace), as Podman's
 * `--userns=auto` picks one per container but kept per fleet: its volumes outlive its
 * instances and must stay theirs. Kept twice: in the home (`agent/id-ranges.json`, the
 * fleet's range for as long as the home exists) and in a host-wide folder only root may
 * write (`/run/ingot/userns/<slot>`, naming the home and fleet), so that no two fleets of
 * any two homes on the host ever share ids: two fleets sharing a range could read and
 * signal each other's processes and files. A claim whose home is gone is given out again.
 */
export class HostIdRanges {
  private readonly home: string;
  constructor(
    home: string,
    private readonly registry: string = DEFAULT_REGISTRY_DIR,
  ) {
    this.home = resolve(home);
  }

  /** The fleet's range: the one it had, or a new one claimed now. */
  rangeFor(fleet: string): IdMap {
    const record = this.readRecord();
    const had = record[fleet];
    if (had !== undefined && this.holds(had, fleet)) return slotRange(had);
    const slot = this.locked(() => {
      const claims = this.claims();
      // Ours still, or free again (a lost /run): the fleet keeps its range, and its volumes.
      const holder = had === undefined ? undefined : claims.get(had);
      if (had !== undefined && (holder === undefined || this.ours(holder, fleet)))
        return this.claim(had, fleet);
      const slot = chooseSlot(`${this.home}\u0000${fleet}`, new Set(claims.keys()));
      if (slot === null)
        throw new IngotError(
          'E_USERNS_EXHAUSTED',
          `no free id range for fleet ${fleet} in ${this.registry}: every range is claimed by a fleet of a home that exists`,
        );
      return this.claim(slot, fleet);
    });
    writeFileAtomic(this.recordFile(), JSON.stringify({ ...record, [fleet]: slot }) + '\n', {
      mode: 0o600,
    });
    return slotRange(slot);
  }

  /** Give up every claim of this home (its fleets' volumes keep their owners). */
  releaseAll(): void {
    this.locked(() => {
      for (const [slot, c] of this.claims(false))
        if (c.home === this.home) rmSync(join(this.registry, String(slot)), { force: true });
    });
    rmSync(this.recordFile(), { force: true });
  }

  private holds(slot: number, fleet: string): boolean {
    const c = readClaim(join(this.registry, String(slot)));
    return c !== null && this.ours(c, fleet);
  }

  private ours(c: Claim, fleet: string): boolean {
    return c.home === this.home && c.fleet === fleet;
  }

  private claim(slot: number, fleet: string): number {
    const path = join(this.registry, String(slot));
    rmSync(path, { force: true }); // stale (its home is gone), or ours: under the lock
    writeFileExclusive(path, JSON.stringify({ home: this.home, fleet } satisfies Claim) + '\n');
    return slot;
  }

  /** Live claims by slot; a claim whose home no longer exists is not one (unless `all`). */
  private claims(liveOnly = true): Map<number, Claim> {
    const out = new Map<number, Claim>();
    for (const name of readdirSync(this.registry)) {
      if (!/^\d{1,6}$/.test(name)) continue;
      const slot = Number(name);
      const c = readClaim(join(this.registry, name));
      if (slotOf(slotRange(slot).hostId) === null) continue;
      // Unreadable: kept as taken, never handed out on a guess.
      if (c === null || !liveOnly || existsSync(c.home))
        out.set(slot, c ?? { home: '', fleet: '' });
    }
    return out;
  }

  /**
   * One allocation at a time on the host: a lock file naming its holder. A holder that died
   * (kill -9 between two lines) leaves it: it is broken when its process is gone.
   */
  private locked<T>(fn: () => T): T {
    mkdirSync(this.registry, { recursive: true, mode: 0o700 });
    const st = lstatSync(this.registry);
    if (!st.isDirectory() || st.uid !== process.getuid?.() || (st.mode & 0o022) !== 0)
      throw new IngotError(
        'E_USERNS',
        `${this.registry} must be a folder owned by this user and writable by no one else: whoever writes it chooses which ids instances run as`,
      );
    const lock = join(this.registry, LOCK);
    const me = `${process.pid} ${processStart(process.pid) ?? ''}`;
    for (let i = 0; ; i++) {
      try {
        writeFileExclusive(lock, me);
        break;
      } catch (err) {
        if (errnoOf(err) !== 'EEXIST' || i >= LOCK_TRIES) throw err;
        const holder = safeRead(lock).split(' ');
        const pid = Number(holder[0]);
        if (!isAlive(pid) || (holder[1] && processStart(pid) !== holder[1]))
          // Moved aside, not removed: a breaker that lost the race removes nothing live.
          try {
            renameSync(lock, `${lock}.stale-${process.pid}`);
            rmSync(`${lock}.stale-${process.pid}`, { force: true });
          } catch {
            /* someone else broke it */
          }
        else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      }
    }
    try {
      return fn();
    } finally {
      rmSync(lock, { force: true });
    }
  }

  private recordFile(): string {
    return join(this.home, 'agent', 'id-ranges.json');
  }

  /** This home's fleets and their slots, as far as the record is well-formed. */
  private readRecord(): Record<string, number> {
    mkdirSync(join(this.home, 'agent'), { recursive: true, mode: 0o700 });
    const raw = safeJson(safeRead(this.recordFile()));
    const out: Record<string, number> = {};
    if (typeof raw !== 'object' || raw === null) return out;
    for (const [fleet, slot] of Object.entries(raw))
      if (typeof slot === 'number' && slotOf(slotRange(slot).hostId) === slot) out[fleet] = slot;
    return out;
  }
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function readClaim(path: string): Claim | null {
  const raw = safeJson(safeRead(path));
  if (typeof raw !== 'object' || raw === null) return null;
  const { home, fleet } = raw as Record<string, unknown>;
  return typeof home === 'string' && typeof fleet === 'string' ? { home, fleet } : null;
}
