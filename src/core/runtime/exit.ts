import type { InstanceExit } from '../../domain/instance.js';

/** Linux's signal numbers (x86 and arm share these), for people: "SIGKILL", not 9. */
const SIGNALS: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  4: 'SIGILL',
  5: 'SIGTRAP',
  6: 'SIGABRT',
  7: 'SIGBUS',
  8: 'SIGFPE',
  9: 'SIGKILL',
  10: 'SIGUSR1',
  11: 'SIGSEGV',
  12: 'SIGUSR2',
  13: 'SIGPIPE',
  14: 'SIGALRM',
  15: 'SIGTERM',
  24: 'SIGXCPU',
  25: 'SIGXFSZ',
  31: 'SIGSYS',
};

export function signalName(n: number): string {
  return SIGNALS[n] ?? `signal ${n}`;
}

/** How much of an exited instance's output is kept, and what its reason quotes at most. */
export const PREVIOUS_LOG_BYTES = 64 * 1024;
const LINE_MAX = 300;

/**
 * The last line of `output` that says something: not blank, not only punctuation. Its
 * bytes are the instance's (hostile: it reaches terminals and the ledger), so control
 * characters become "?" and it is bounded. Undefined when there is none. Pure.
 */
export function lastMeaningfulLine(output: string): string | undefined {
  const lines = output.slice(-PREVIOUS_LOG_BYTES).split(/\r?\n/);
  for (let i = lines.length - 1; i >= 0; i--) {
    // eslint-disable-next-line no-control-regex
    const line = lines[i]!.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?').trim();
    if (/[\p{L}\p{N}]/u.test(line))
      return line.length > LINE_MAX ? `${line.slice(0, LINE_MAX)}…` : line;
  }
  return undefined;
}

/** "exited 1", "killed by SIGKILL (out of memory)": how it ended, in a few words. Pure. */
export function exitStatusText(exit: Pick<InstanceExit, 'code' | 'signal' | 'oomKilled'>): string {
  const how =
    exit.signal !== undefined
      ? `killed by ${exit.signal}`
      : exit.code !== undefined
        ? `exited ${exit.code}`
        : 'exited (status unknown)';
  return exit.oomKilled ? `${how} (out of memory)` : how;
}

/** The instance's reason: how it ended, and the last thing it said. Pure. */
export function exitReason(exit: InstanceExit): string {
  const said = exit.lastLine !== undefined ? `: ${exit.lastLine}` : '';
  return `its process ${exitStatusText(exit)}${said}`;
}
