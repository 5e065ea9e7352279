import { MAX_LOG_ANSWER_BYTES } from '../../core/api/instances.js';
import type { LogMark } from '../../core/runtime/log-marks.js';
import { answerLog } from '../../core/runtime/log-slice.js';
import { commandLine, type SessionRequest } from '../../core/session/request.js';
import type { PreviousInstance } from '../../domain/instance.js';
import type { InstanceHosts, SessionAttach } from '../../ports/instance-hosts.js';
import type { Agent } from '../agent/index.js';

/** How the local host's files are read (bin/ gives the adapters). */
export interface LocalInstanceFiles {
  /** The instance's log files, oldest first, joined; E_INSTANCE_NOT_FOUND if none. */
  readLogs(id: string): Uint8Array;
  /** Its time marks, oldest first. */
  readLogMarks(id: string): LogMark[];
  readPrevious(id: string): PreviousInstance;
  /** Run a break-glass session's command in the instance for `client`; `ended` after it. */
  runSession(
    id: string,
    request: SessionRequest,
    client: Parameters<SessionAttach>[0],
    ended: () => void,
  ): void;
}

/** The instances of this host's agent. */
export function localInstanceHosts(
  agent: Pick<Agent, 'observe' | 'verifyInstances' | 'openDebug' | 'closeDebug' | 'attachDebug'>,
  files: LocalInstanceFiles,
  now: () => number = Date.now,
): InstanceHosts {
  return {
    observe: () => agent.observe(),
    verifyInstances: () => agent.verifyInstances(),
    openDebug: (id, access) => Promise.resolve(agent.openDebug(id, access)),
    closeDebug: (id) => Promise.resolve(agent.closeDebug(id)),
    logs(id, query) {
      // The marks first: a mark read before the bytes never points past them.
      const marks = query.marks === '1' || query.since !== undefined ? files.readLogMarks(id) : [];
      const log = files.readLogs(id);
      return Promise.resolve(answerLog(id, log, marks, query, now(), MAX_LOG_ANSWER_BYTES));
    },
    previous: (id) => Promise.resolve(files.readPrevious(id)),
    debugSession(id, request) {
      agent.attachDebug(id, commandLine(request.command));
      // When the session ends the instance goes, whether or not the client says so.
      return Promise.resolve((client) =>
        files.runSession(id, request, client, () => agent.closeDebug(id)),
      );
    },
  };
}
