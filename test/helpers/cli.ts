import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The built CLI, for tests that must run it as a child of their own (to kill it, say). */
export const INGOT_BIN = fileURLToPath(new URL('../../dist/bin/ingot.js', import.meta.url));

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run the built `ingot` as a user would (npm test compiles it first). */
export function ingot(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): CliResult {
  if (!existsSync(INGOT_BIN))
    throw new Error(`${INGOT_BIN} is missing: run npm run build (npm test does it first)`);
  const r = spawnSync(process.execPath, [INGOT_BIN, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
