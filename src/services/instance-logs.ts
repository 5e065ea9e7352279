import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isInstanceId } from '../domain/instance.js';
import { IngotError } from '../domain/errors.js';

/** An instance's log files, oldest first. */
export function readLogs(home: string, id: string): string {
  if (!isInstanceId(id))
    throw new IngotError('E_INSTANCE_NOT_FOUND', `${JSON.stringify(id)} is not an instance id`);
  const dir = join(home, 'instances', id);
  if (!existsSync(dir))
    throw new IngotError('E_INSTANCE_NOT_FOUND', `no instance ${id} on this host`);
  return [join(dir, 'log.1'), join(dir, 'log')]
    .filter((p) => existsSync(p))
    .map((p) => readFileSync(p, 'utf8'))
    .join('');
}
