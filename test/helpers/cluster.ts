import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { INGOT_BIN } from './cli.js';
import type { TestNet } from './agent.js';

/** A long-running `ingot server` or `ingot agent` child of the test. */
export interface IngotProcess {
  readonly home: string;
  readonly child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output: () => string;
  /** Resolves with its exit code once it ended. */
  readonly exited: Promise<number | null>;
  running: () => boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
  kill(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Starts a process (argv, environment) somewhere: here, or in a simulated host. */
export type Spawner = (argv: readonly string[], env: NodeJS.ProcessEnv) => ChildProcess;

const spawnHere: Spawner = (argv, env) =>
  spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });

/** Start `ingot ARGS` in the background with INGOT_HOME=home, and keep its output. */
export function startIngot(
  home: string,
  args: readonly string[],
  env: Record<string, string> = {},
  spawner: Spawner = spawnHere,
): IngotProcess {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const child = spawner([process.execPath, INGOT_BIN, ...args], {
    ...process.env,
    INGOT_HOME: home,
    ...env,
  });
  live.add(child);
  let text = '';
  child.stdout!.setEncoding('utf8').on('data', (t: string) => (text = (text + t).slice(-200_000)));
  child.stderr!.setEncoding('utf8').on('data', (t: string) => (text = (text + t).slice(-200_000)));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      live.delete(child);
      resolve(code);
    }),
  );
  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = async (graceMs = 15_000) => {
    if (!running()) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(t);
  };
  return {
    home,
    child,
    output: () => text,
    exited,
    running,
    stop,
    kill: async () => {
      if (!running()) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Wait until `check` holds (polled), or fail with `what` and the detail. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs: number,
  detail: () => string = () => '',
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    // A check may throw to give up early (a process it waits on exited).
    const got = await check();
    if (got) return got;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${detail()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A server's address once it listens (its server.json). */
export async function serverUrl(server: IngotProcess): Promise<string> {
  const file = join(server.home, 'server.json');
  const info = await waitFor(
    'the server to listen',
    () => {
      if (!server.running()) throw new Error(`the server exited:\n${server.output()}`);
      return (
        existsSync(file) &&
        (JSON.parse(readFileSync(file, 'utf8')) as { port: number; host: string })
      );
    },
    60_000,
    server.output,
  );
  return `http://${info.host}:${info.port}`;
}

/**
 * Copy what every server of a cluster must share from the first server's home: the admin
 * token, the join token, the ledger's checkpoint key (with its origin and verifier key) and
 * the local signing key.
 */
export function shareServerSecrets(from: string, to: string): void {
  mkdirSync(join(to, 'keys'), { recursive: true, mode: 0o700 });
  for (const f of [
    'token',
    'join-token',
    'keys/ledger.key',
    'keys/ledger.origin',
    'keys/ledger.vkey',
    'keys/local.key',
    'keys/local.pub',
  ])
    if (existsSync(join(from, f))) copyFileSync(join(from, f), join(to, f));
}

/** The args of `ingot agent` on a test net of its own. */
export function agentArgs(
  url: string,
  joinToken: string,
  name: string,
  net: TestNet,
  more: readonly string[] = [],
): string[] {
  return [
    'agent',
    '--server',
    url,
    '--join-token',
    joinToken,
    '--name',
    name,
    '--bridge',
    net.bridge,
    '--subnet',
    net.subnet,
    '--cgroup-parent',
    `/ingot-test-${net.bridge}`,
    '--stop-grace',
    '1',
    ...more,
  ];
}

/** A file with `content`, mode 0600. */
export function secretFile(path: string, content: string): string {
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}
