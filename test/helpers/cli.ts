import { spawn, spawnSync } from 'node:child_process';
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

/**
 * `ingot` without blocking this process (a server in the test can answer it meanwhile);
 * killed after `timeoutMs`, which then shows as code -1.
 */
export function ingotAsync(
  args: readonly string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult & { readonly ms: number }> {
  if (!existsSync(INGOT_BIN))
    throw new Error(`${INGOT_BIN} is missing: run npm run build (npm test does it first)`);
  const started = performance.now();
  const child = spawn(process.execPath, [INGOT_BIN, ...args], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr, ms: performance.now() - started });
    });
  });
}
