import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The admin token: made once, 0600, read by the CLI. `created`: made by this call. */
export function ensureToken(home: string): { token: string; created: boolean } {
  return ensureSecret(home, 'token');
}

/**
 * The dashboard's read-only token (`ui-readonly-token`, 0600, made on the first start): it
 * signs in to /ui to look, never to act, and the bearer API does not accept it. Hand it to
 * whoever should watch rollouts without being able to change them.
 */
export function ensureReadOnlyToken(home: string): { token: string; created: boolean } {
  return ensureSecret(home, 'ui-readonly-token');
}

/**
 * The metrics token: read-only, for a scraper (Prometheus' `bearer_token_file`), so that the
 * admin token never has to sit in a monitoring system's configuration. Made on first use.
 */
export function ensureMetricsToken(home: string): { token: string; created: boolean } {
  return ensureSecret(home, 'metrics-token');
}

function ensureSecret(home: string, name: string): { token: string; created: boolean } {
  const path = join(home, name);
  const created = !existsSync(path);
  if (created)
    writeFileSync(path, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return { token: readFileSync(path, 'utf8').trim(), created };
}
