import { MAX_LOG_ANSWER_BYTES } from '../../core/api/instances.js';
import { sliceLog } from '../../core/runtime/log-slice.js';
import { commandLine, type SessionRequest } from '../../core/session/request.js';
import type { PreviousInstance } from '../../domain/instance.js';
import type { InstanceHosts, SessionAttach } from '../../ports/instance-hosts.js';
import type { Agent } from '../agent/index.js';

/** How the local host's files are read (bin/ gives the adapters). */
export interface LocalInstanceFiles {
  /** The instance's log files, oldest first, joined; E_INSTANCE_NOT_FOUND if none. */
  readLogs(id: string): Uint8Array;
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
): InstanceHosts {
  return {
    observe: () => agent.observe(),
    verifyInstances: () => agent.verifyInstances(),
    openDebug: (id, access) => Promise.resolve(agent.openDebug(id, access)),
    closeDebug: (id) => Promise.resolve(agent.closeDebug(id)),
    logs: (id, from) =>
      Promise.resolve(sliceLog(id, files.readLogs(id), from, MAX_LOG_ANSWER_BYTES)),
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
