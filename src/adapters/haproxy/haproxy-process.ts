import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync, truncateSync } from 'node:fs';
import { isAlive } from '../shared/process-alive.js';
import { EdgeError } from '../../core/traffic/index.js';
import { missing, removeQuietly, tail } from './config-file.js';
import type { RunPaths } from './run-dir.js';
import { RuntimeClient } from './runtime-client.js';

/** The log is HAProxy's start and reload messages: kept small, cut when it grows past this. */
const MAX_LOG_BYTES = 1024 * 1024;

/**
 * Start `haproxy -W` (master-worker) on the file at `paths.config`, as a child in its own
 * process group (a Ctrl-C meant for Ingot's terminal is not HAProxy's to act on), and wait
 * until its worker answers on the admin socket. Stale sockets are removed first, so an
 * answer can only come from the new process.
 */
export async function spawnHaproxy(
  binary: string,
  paths: RunPaths,
  readyTimeoutMs: number,
  exitWithParent = false,
): Promise<ChildProcess> {
  removeQuietly(paths.adminSocket, paths.masterSocket);
  trimLog(paths.log);
  const log = openSync(paths.log, 'a', 0o600);
  let child: ChildProcess;
  try {
    const args = ['-W', '-S', `${paths.masterSocket},mode,600`, '-f', paths.config];
    // setpriv (util-linux) sets the parent-death signal, then executes HAProxy in its place
    // (same pid): an edge that must not outlive its supervisor ends with it, even when the
    // supervisor is SIGKILLed and has no chance to stop it.
    const [file, argv] = exitWithParent
      ? ['setpriv', ['--pdeathsig', 'SIGTERM', '--', binary, ...args]]
      : [binary, args];
    child = spawn(file, argv, { stdio: ['ignore', log, log], detached: true });
  } finally {
    closeSync(log);
  }
  const exited = new Promise<EdgeError>((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) =>
      resolve(err.code === 'ENOENT' ? missing(binary, err) : startError(paths, err.message)),
    );
    child.once('exit', (code, signal) =>
      resolve(startError(paths, `haproxy exited (${signal ?? `code ${code}`}) while starting`)),
    );
  });
  let ended = false;
  void exited.then(() => (ended = true));
  const client = new RuntimeClient(paths.adminSocket, { timeoutMs: 500 });
  const ready = waitReady(client, readyTimeoutMs, () => ended);
  const outcome = await Promise.race([
    ready.then(
      () => null,
      (err: unknown) => startError(paths, err instanceof Error ? err.message : String(err)),
    ),
    exited,
  ]);
  if (outcome === null) return child;
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  throw outcome;
}

async function waitReady(
  client: RuntimeClient,
  timeoutMs: number,
  ended: () => boolean,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!ended()) {
    try {
      await client.workerPid();
      return;
    } catch (err) {
      if (performance.now() > deadline)
        throw new EdgeError(
          'E_EDGE_START',
          `HAProxy did not answer on ${client.socketPath} within ${timeoutMs} ms`,
          {
            cause: err,
          },
        );
      await sleep(10);
    }
  }
}

/** Wait for a child to end, up to `ms`; true if it did. */
export function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', done);
      resolve(false);
    }, ms);
    const done = () => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', done);
  });
}

/**
 * Kill workers left behind (a master killed with SIGKILL leaves them to notice alone) once
 * their master is gone, checking first that each pid still runs haproxy on our file: a pid
 * is reused freely once its process is gone.
 */
export async function reapWorkers(pids: Iterable<number>, config: string): Promise<void> {
  const ours = [...pids].filter((pid) => isAlive(pid) && runsConfig(pid, config));
  for (const pid of ours) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  const deadline = performance.now() + 2_000;
  while (ours.some((pid) => isAlive(pid)) && performance.now() < deadline) await sleep(10);
}

/** Whether process `pid` is haproxy started on `config`. */
export function runsConfig(pid: number, config: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.some((a) => /(^|\/)haproxy$/.test(a)) && argv.includes(config);
  } catch {
    return false;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function logTail(paths: RunPaths): string {
  try {
    return tail(readFileSync(paths.log, 'utf8'));
  } catch {
    return '';
  }
}

function startError(paths: RunPaths, what: string): EdgeError {
  return new EdgeError(
    'E_EDGE_START',
    `${what}; its last messages (${paths.log}):\n${logTail(paths)}`,
  );
}

function trimLog(path: string): void {
  try {
    if (statSync(path).size > MAX_LOG_BYTES) truncateSync(path, 0);
  } catch {
    // no log yet
  }
}
