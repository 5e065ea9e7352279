import type { Duplex } from 'node:stream';
import type { DebugAccess } from '../core/api/host-routes.js';
import type { InstanceLogs, LogsQuery, VerifiedRootfs } from '../core/api/instances.js';
import type { SessionRequest } from '../core/session/request.js';
import type { ObservedInstance, PreviousInstance } from '../domain/instance.js';

/**
 * What acts on the host that runs an instance: its agent and its files. On one host (`ingot
 * up`, and each cluster agent's own API) that is the local agent; in a cluster's servers, a
 * signed call to the agent of the instance's host (services/cluster/remote-hosts.ts).
 */
export interface InstanceHosts {
  observe(): Promise<readonly ObservedInstance[]>;
  /** Every running instance's rootfs verified in full against its artifact, now. */
  verifyInstances(): Promise<VerifiedRootfs[]>;
  /** Break-glass: taint and hold the instance (break-glass.ts); the instance as it is now. */
  openDebug(id: string, access: DebugAccess): Promise<ObservedInstance>;
  /** The session ended: the instance goes. */
  closeDebug(id: string): Promise<void>;
  /**
   * Run the session of an opened break-glass on the instance's host: refused unless one was
   * opened on `id` for this very command and none ran yet (E_DEBUG_NOT_OPEN, E_DEBUG_HELD).
   */
  debugSession(id: string, request: SessionRequest): Promise<SessionAttach>;
  /** The log from `from` or `since`, with its time marks when asked (core/api/instances.ts). */
  logs(id: string, query: LogsQuery): Promise<InstanceLogs>;
  previous(id: string): Promise<PreviousInstance>;
}

/**
 * A break-glass session, opened: give it the client's connection (already switched to
 * frames, core/session/frames.ts) and it runs until the command ends or the client goes.
 */
export type SessionAttach = (client: Duplex) => void;
