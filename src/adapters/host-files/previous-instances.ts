import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { IngotError } from '../../domain/errors.js';
import { isInstanceId, type PreviousInstance } from '../../domain/instance.js';

/**
 * What exited instances left, after they are gone: `$INGOT_HOME/instances-previous/<fleet>/
 * <id>.json`, root only (an instance's output can hold what it should not have printed).
 * Bounded: PER_FLEET records a fleet, each at most its 64 KiB of output, so a crash loop
 * running for days keeps the last few crashes, not all of them.
 */
export const PER_FLEET = 5;
const MAX_RECORD_BYTES = 256 * 1024;

const dirOf = (home: string) => join(home, 'instances-previous');
/** Fleet names and ids name folders and files: nothing else gets near the path. */
const safeName = (s: string) => /^[a-z0-9][a-z0-9-]{0,62}$/.test(s);

/** Keep `record` (temp + rename: never half-written), then drop the fleet's oldest past the bound. */
export function keepPrevious(home: string, record: PreviousInstance): void {
  if (!safeName(record.fleet) || !isInstanceId(record.id)) return;
  const dir = join(dirOf(home), record.fleet);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${record.id}.json`);
  writeFileSync(`${file}.tmp`, JSON.stringify(record), { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
  const kept = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => ({ f, at: readRecord(join(dir, f))?.exit.at ?? '' }))
    .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  for (const { f } of kept.slice(PER_FLEET)) rmSync(join(dir, f), { force: true });
}

/** The record of exited instance `id` on this host. */
export function readPrevious(home: string, id: string): PreviousInstance {
  if (!isInstanceId(id))
    throw new IngotError('E_INSTANCE_NOT_FOUND', `${JSON.stringify(id)} is not an instance id`);
  const root = dirOf(home);
  const fleets = existsSync(root) ? readdirSync(root).filter(safeName) : [];
  for (const fleet of fleets) {
    const record = readRecord(join(root, fleet, `${id}.json`));
    if (record) return record;
  }
  throw new IngotError(
    'E_PREVIOUS_NOT_FOUND',
    `no exited instance ${id} is kept on this host (the last ${PER_FLEET} of each fleet are): see \`ingot history\` for its fleet`,
  );
}

/** A record as written, or null: missing, too big or not of our shape. */
function readRecord(file: string): PreviousInstance | null {
  try {
    const text = readFileSync(file, 'utf8');
    if (text.length > MAX_RECORD_BYTES) return null;
    const r = JSON.parse(text) as Partial<PreviousInstance>;
    if (
      typeof r.id !== 'string' ||
      typeof r.fleet !== 'string' ||
      typeof r.output !== 'string' ||
      typeof r.exit?.at !== 'string'
    )
      return null;
    return r as PreviousInstance;
  } catch {
    return null;
  }
}
