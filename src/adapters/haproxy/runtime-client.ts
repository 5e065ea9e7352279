import {
  answerProblem,
  EdgeError,
  formatCommand,
  parseServersState,
  parseShowProc,
  parseStat,
  type ObservedServer,
  type ProcessList,
  type RuntimeCommand,
  type ServerCounters,
} from '../../core/traffic/index.js';
import { callSocket, type CallOptions } from './socket-call.js';

/** What happened to each command of a batch: partial progress, never a throw halfway. */
export interface RunReport {
  readonly sent: readonly { readonly command: string; readonly answer: string }[];
  /** The first command HAProxy refused (or that could not be sent); nothing after it was sent. */
  readonly error?: EdgeError;
}

/** HAProxy's Runtime API on its admin socket, one command per connection. */
export class RuntimeClient {
  constructor(
    readonly socketPath: string,
    private readonly options: CallOptions = {},
  ) {}

  call(line: string): Promise<string> {
    return callSocket(this.socketPath, line, this.options);
  }

  /**
   * Send `commands` in order, stopping at the first refusal: a plan's later steps assume its
   * earlier ones (a server is in maintenance before its `del`).
   */
  async run(commands: readonly RuntimeCommand[]): Promise<RunReport> {
    const sent: { command: string; answer: string }[] = [];
    for (const c of commands) {
      const command = formatCommand(c);
      let answer: string;
      try {
        answer = await this.call(command);
      } catch (err) {
        return { sent, error: asEdgeError(err) };
      }
      const problem = answerProblem(c, answer);
      if (problem !== null)
        return {
          sent,
          error: new EdgeError('E_EDGE_REFUSED', problem, { details: { command, answer } }),
        };
      sent.push({ command, answer });
    }
    return { sent };
  }

  async servers(): Promise<ObservedServer[]> {
    return parseServersState(await this.call('show servers state')).servers;
  }

  async stats(): Promise<ServerCounters[]> {
    // -1 4 -1: every proxy, servers only (type mask 4).
    return parseStat(await this.call('show stat -1 4 -1'));
  }

  /** The pid of the worker answering (`show info`). */
  async workerPid(): Promise<number> {
    const m = /^Pid: (\d{1,10})$/m.exec(await this.call('show info'));
    if (m === null) throw new EdgeError('E_EDGE_PROTOCOL', 'show info: no Pid line');
    return Number(m[1]);
  }
}

/** The master CLI (`-S`): processes and reloads. */
export async function showProc(
  masterSocket: string,
  options: CallOptions = {},
): Promise<ProcessList> {
  return parseShowProc(await callSocket(masterSocket, 'show proc', options));
}

export function asEdgeError(err: unknown): EdgeError {
  if (err instanceof EdgeError) return err;
  return new EdgeError('E_EDGE_UNREACHABLE', err instanceof Error ? err.message : String(err), {
    cause: err,
  });
}
