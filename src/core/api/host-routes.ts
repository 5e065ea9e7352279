import * as z from 'zod';
import type { Caller } from './routes.js';
import {
  instanceLogs,
  observedInstance,
  previousInstance,
  printable,
  verifiedRootfs,
} from './instances.js';

/*
 * A cluster agent's own API (`ingot agent --listen`): what the servers ask of the host an
 * instance runs on. Every call is signed by a server with the host's credential
 * (core/cluster/host-call.ts); the admin token never reaches a host.
 */

export const HOST_PATHS = {
  verifyInstances: '/v1/host/verify-instances',
  openDebug: '/v1/host/instances/:id/debug',
  closeDebug: '/v1/host/instances/:id/debug/close',
  /** Upgraded to a break-glass session (core/session): GET, the request in the query. */
  session: '/v1/host/instances/:id/debug/session',
  logs: '/v1/host/instances/:id/logs',
  previous: '/v1/host/instances/:id/previous',
} as const;

/** A host path with the instance filled in. */
export function hostPath(path: string, id: string): string {
  return path.replace(':id', encodeURIComponent(id));
}

/** A break-glass session as the server established it from a request (services/debug.ts). */
export interface DebugAccess {
  /** Who the client says opens the session: its claim, recorded as such. */
  readonly who: string;
  /** Who the server knows sent the request: the credential, and the local user behind it. */
  readonly authenticated: Caller;
  readonly reason: string;
  /** The command, as one line for the record. */
  readonly command: string;
  readonly ttlMs: number;
}

/** The same on the wire to the instance's host, which records and taints with it. */
export const debugAccess = z.strictObject({
  who: printable(200).min(1),
  authenticated: z.strictObject({
    credential: printable(200),
    uid: z.number().int().min(0).exactOptional(),
    user: printable(200).exactOptional(),
  }),
  reason: printable(1000).min(1),
  command: printable(8 * 1024).min(1),
  ttlMs: z
    .number()
    .int()
    .min(1000)
    .max(24 * 3600 * 1000),
});

export const hostAnswers = {
  verifyInstances: z.array(verifiedRootfs).max(10_000),
  openDebug: observedInstance,
  closeDebug: z.strictObject({ closed: z.literal(true) }),
  logs: instanceLogs,
  previous: previousInstance,
};
