import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository, and the built CLI every process of the cluster runs (the same binary). */
export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const INGOT_JS = fileURLToPath(new URL('../../dist/bin/ingot.js', import.meta.url));

/**
 * The environment the cluster's processes and the script's own CLI calls get: the script's,
 * without what would point them at some other server or home, and without the user's
 * contexts (a context current elsewhere must not take a call meant for this home).
 */
export function cleanEnv(more: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ['INGOT_SERVER', 'INGOT_TOKEN_FILE', 'INGOT_CA_FILE', 'INGOT_HOME'])
    delete env[name];
  return { ...env, XDG_CONFIG_HOME: '/nonexistent/ingot-local-cluster', ...more };
}

/** `npm run build` if dist/ has no CLI yet. */
export function ensureBuilt(say: (line: string) => void): void {
  if (existsSync(INGOT_JS)) return;
  say('building the CLI (npm run build): dist/ has none');
  const r = spawnSync('npm', ['run', 'build'], { cwd: REPO, stdio: ['ignore', 2, 2] });
  if (r.status !== 0 || !existsSync(INGOT_JS))
    throw new Error(`npm run build failed (${r.status ?? r.signal}): see above`);
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Run the built CLI to its end without blocking this process (its timers, its waits);
 * `env` is the whole environment (cleanEnv, or the user's own for their contexts).
 */
export function ingot(args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [INGOT_JS, ...args], {
      env,
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** The CLI, which must succeed: its stdout. */
export async function mustIngot(args: readonly string[], env: NodeJS.ProcessEnv): Promise<string> {
  const r = await ingot(args, env);
  if (r.code !== 0)
    throw new Error(`ingot ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}
