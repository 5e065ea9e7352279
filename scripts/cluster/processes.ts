import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { isSameProcess, processStart } from '../../src/adapters/shared/process-alive.js';
import type { Proc } from './state.js';

/**
 * The cluster's processes outlive the command that started them: each is detached (a session
 * of its own: no terminal hangs it up), writes to a log file (nobody reads a pipe once `up`
 * has exited), and is known afterwards by its pid and start time only.
 */

/** Start `argv` detached, output to `log`; what identifies it from now on. */
export function launch(
  argv: readonly string[],
  options: { readonly cwd: string; readonly env: NodeJS.ProcessEnv; readonly log: string },
): Proc {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('launch: no command');
  const fd = openSync(options.log, 'a', 0o600);
  let child: ChildProcess;
  try {
    child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  return adopt(child, options.log);
}

/** A child started elsewhere (in a host of the bed), let go of as `launch` does. */
export function adopt(child: ChildProcess, log: string): Proc {
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start a process (see ${log})`);
  // Its start time now, while it cannot have exited and been reaped: the pid is ours.
  const start = processStart(pid);
  child.unref();
  return { pid, start, log };
}

/** Whether the process runs, and is the one started (not a later one given its pid). */
export function running(p: Proc): boolean {
  return isSameProcess(p.pid, p.start ?? undefined, () => true);
}

/**
 * Signal the process (if it is still the one started), then SIGKILL it after `graceMs`;
 * resolves once it is gone.
 */
export async function stopProc(p: Proc, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (!running(p)) return;
  send(p, signal);
  const killAt = Date.now() + graceMs;
  while (running(p)) {
    if (Date.now() > killAt) send(p, 'SIGKILL');
    if (Date.now() > killAt + 10_000) throw new Error(`pid ${p.pid} did not end after SIGKILL`);
    await sleep(100);
  }
}

export function send(p: Proc, signal: NodeJS.Signals): void {
  try {
    process.kill(p.pid, signal);
  } catch {
    // gone meanwhile
  }
}

/** The log's last lines, for a failure's message. */
export function tail(log: string, lines = 30): string {
  try {
    return readFileSync(log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `check` until it gives a value, or fail with `what` past `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await check();
    if (got) return got;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s: ${what}`);
    await sleep(200);
  }
}
