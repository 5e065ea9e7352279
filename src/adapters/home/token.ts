import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The admin token: made once, 0600, read by the CLI. `created`: made by this call. */
export function ensureToken(home: string): { token: string; created: boolean } {
  const path = join(home, 'token');
  const created = !existsSync(path);
  if (created)
    writeFileSync(path, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return { token: readFileSync(path, 'utf8').trim(), created };
}
