import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { createInterface } from 'node:readline';
import {
  parseEventLine,
  type EventMessage,
  type ProcessEvent,
} from '../../core/integrity/process-events.js';
import { IngotError } from '../../domain/errors.js';
import { HELPER } from './proc-events-helper.js';

export interface ProcessEventListener {
  onProcess(e: ProcessEvent): void;
  /** Events may have been lost (a full buffer, the helper restarted): scan /proc now. */
  onLost(): void;
}

export interface ProcessEventSource {
  subscribe(listener: ProcessEventListener): { close(): void };
  close(): Promise<void>;
  /** The helper's PID (for measuring its cost), or null while it restarts. */
  helperPid(): number | null;
}

export interface ProcessEventOptions {
  readonly python?: string;
  /** The source failed after it started (it restarts): say so loudly. */
  readonly onError?: (err: Error) => void;
  /** How long the helper may take to subscribe (default 30 s: python3 on a loaded host). */
  readonly startTimeoutMs?: number;
}

/** A line longer than this is not one the helper writes. */
const MAX_LINE = 64 * 1024;

function unavailable(why: string): IngotError {
  return new IngotError(
    'E_PROCESS_EVENTS',
    `process events cannot be watched: ${why}. Without them a short \`runc exec\` or \`nsenter\` into an instance goes unseen, so the agent does not start. It needs root and python3 (./scripts/setup installs it).`,
  );
}

/** How the helper is run: a program and its arguments. */
interface HelperCommand {
  readonly file: string;
  readonly args: readonly string[];
}

/**
 * The kernel's proc connector answers in the initial network namespace only: its netlink
 * socket exists in init_net alone, and a subscription from any other network namespace is
 * refused (ECONNREFUSED; tried on Linux 6.18). An agent whose host is itself a network
 * namespace (the cluster test bed's hosts, an agent in a container with a network of its
 * own) could then not start, or worse, would run blind: a `runc exec` or `nsenter` into one
 * of its instances would go unseen. So there, and there only, the helper is started in the
 * initial network namespace through nsenter. It keeps the agent's PID and mount namespaces
 * (it reads the same /proc) and is told the agent's network namespace, so that it still
 * drops the host's own processes. Joining the initial network namespace gives root nothing
 * it did not have, and the helper opens no socket but the netlink one.
 */
function helperCommand(python: string): HelperCommand {
  // -I: no PYTHON* variables, no user site: the environment cannot change what runs as root.
  const direct = { file: python, args: ['-I', '-S', '-c', HELPER] };
  const own = nsLink('/proc/self/ns/net');
  const initial = initialNetns();
  if (own === null || initial === null || nsLink(initial) === own) return direct;
  return { file: 'nsenter', args: [`--net=${initial}`, '--', python, ...direct.args, own] };
}

/**
 * The initial network namespace, as kthreadd's (PID 2, a kernel thread: made in the initial
 * namespaces and never moved), or null where PID 2 is not kthreadd (in a PID namespace of
 * its own the agent cannot name it, and subscribing fails loudly). Not PID 1's: an init may
 * have moved, and a sandbox's init may not be readable even by root.
 */
function initialNetns(): string | null {
  try {
    // "2 (kthreadd) S 0 …": pid, name, state, parent 0 (made by the kernel itself).
    if (!/^2 \(kthreadd\) \S+ 0 /.test(readFileSync('/proc/2/stat', 'utf8'))) return null;
  } catch {
    return null;
  }
  return '/proc/2/ns/net';
}

function nsLink(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
}

/** Start the helper; resolves once the kernel has it subscribed, rejects loudly if not. */
function startHelper(
  command: HelperCommand,
  timeoutMs: number,
  onMessage: (m: EventMessage) => void,
): Promise<ChildProcess> {
  const { file } = command;
  return new Promise((resolve, reject) => {
    const child = spawn(file, command.args, {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let settled = false;
    let stderr = '';
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(unavailable(why));
    };
    const timer = setTimeout(
      () => fail(`no answer from ${file} within ${timeoutMs} ms`),
      timeoutMs,
    );
    child.on('error', (err) => fail(`${file}: ${err.message}`));
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString('utf8');
    });
    child.on('exit', (code, signal) => {
      if (!settled) fail(`${file} exited (${signal ?? code}): ${stderr.trim().slice(0, 500)}`);
    });
    child.stdin.on('error', () => undefined);
    const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
    lines.on('line', (line) => {
      const m = line.length > MAX_LINE ? ({ type: 'lost' } as const) : parseEventLine(line);
      if (m === null) return;
      if (!settled) {
        if (m.type === 'error') return fail(m.message);
        if (m.type !== 'ready') return;
        settled = true;
        clearTimeout(timer);
        return resolve(child);
      }
      onMessage(m);
    });
  });
}

/**
 * Every process that forks or execs in a namespace other than the host's, as it happens,
 * from the kernel's proc connector (see proc-events-helper.ts). Rejects with
 * E_PROCESS_EVENTS if that cannot start: the agent must not run blind to short sessions.
 * If the helper dies later it is restarted, listeners are told events were lost (so the
 * /proc scan runs at once), and `onError` is told.
 */
export async function startProcessEvents(
  options: ProcessEventOptions = {},
): Promise<ProcessEventSource> {
  const command = helperCommand(options.python ?? 'python3');
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  const listeners = new Set<ProcessEventListener>();
  let closed = false;
  let child: ChildProcess | null = null;
  const deliver = (m: EventMessage) => {
    for (const l of listeners)
      if (m.type === 'process') l.onProcess(m.event);
      else if (m.type === 'lost') l.onLost();
  };
  const watchExit = (c: ChildProcess) =>
    c.once('exit', (code, signal) => {
      if (closed) return;
      child = null;
      options.onError?.(
        new Error(`the process-event helper exited (${signal ?? code}); restarting it`),
      );
      deliver({ type: 'lost' });
      const retry = (): void =>
        void startHelper(command, timeoutMs, deliver).then(
          (c2) => {
            if (closed) return void c2.kill('SIGKILL');
            child = c2;
            watchExit(c2);
            deliver({ type: 'lost' });
          },
          (err: Error) => {
            options.onError?.(err);
            if (!closed) setTimeout(retry, 1000).unref();
          },
        );
      setTimeout(retry, 100).unref();
    });
  child = await startHelper(command, timeoutMs, deliver);
  watchExit(child);
  return {
    subscribe(listener) {
      listeners.add(listener);
      return { close: () => void listeners.delete(listener) };
    },
    helperPid: () => child?.pid ?? null,
    async close() {
      closed = true;
      listeners.clear();
      const c = child;
      child = null;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const gone = new Promise((r) => c.once('exit', r));
      // Closing its stdin ends it; a helper stuck in a write is killed.
      c.stdin?.end();
      const kill = setTimeout(() => c.kill('SIGKILL'), 1000);
      await gone;
      clearTimeout(kill);
    },
  };
}
