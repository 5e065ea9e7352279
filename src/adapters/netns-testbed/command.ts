import { execFile } from 'node:child_process';
import { IngotError } from '../../domain/errors.js';
import type { TestbedCode } from './plan.js';

export interface CommandResult {
  /** The exit code, or null if a signal ended it. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Killed (SIGKILL) past this; default 120 s. */
  readonly timeoutMs?: number;
  readonly cwd?: string;
}

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** A command as an argument vector (never a shell string), whatever its exit. */
export function runCommand(
  file: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        env: options.env ?? { PATH: process.env['PATH'] ?? PATH },
        timeout: options.timeoutMs ?? 120_000,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
        ...(options.cwd !== undefined && { cwd: options.cwd }),
      },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: unknown; signal?: NodeJS.Signals | null }) | null;
        // execFile's error carries the exit code as a number, or a string when the command
        // could not be started at all (ENOENT): that is reported as code 127, as a shell does.
        const code = e === null ? 0 : typeof e.code === 'number' ? e.code : e.signal ? null : 127;
        resolve({
          code,
          signal: e?.signal ?? null,
          stdout,
          stderr: typeof e?.code === 'string' ? `${file}: ${e.message}` : stderr,
        });
      },
    );
  });
}

/** A command that must succeed: E_TESTBED_COMMAND saying which, and what it printed. */
export async function mustRun(
  file: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<string> {
  const r = await runCommand(file, args, options);
  if (r.code === 0) return r.stdout;
  throw new IngotError<TestbedCode>(
    'E_TESTBED_COMMAND',
    `${[file, ...args].join(' ')} failed (${r.signal ?? r.code}): ${r.stderr.trim().slice(0, 500)}`,
  );
}
