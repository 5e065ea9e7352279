import type { Etcd3 } from 'etcd3';
import { IngotError } from '../../domain/errors.js';

/**
 * Starting a client's watch stream again, which etcd3 (1.1.2) does not offer.
 *
 * etcd3 sends every watch of a client over one gRPC stream, which carries the auth token the
 * client got when it first authenticated. Two faults follow, both seen here when etcd's members
 * were restarted one at a time (test/cluster-faults.test.ts):
 *
 * - etcd keeps its (simple) auth tokens in each member's memory: a restarted member knows none
 *   issued before it stopped (nor does any member know one left idle for five minutes). A
 *   stream that reconnects to it still carries the old token, and etcd refuses to re-create the
 *   watches ("invalid auth token"). etcd3 authenticates again for unary calls, never for the
 *   watch stream.
 * - Once etcd refused to create one watch, etcd3 never sends the creation of the next (its
 *   attach queue waits for an answer that already came): every later watch of that client waits
 *   forever, and a host follows its assignments only by listing them again and again.
 *
 * So when etcd refuses a watch, or does not create one in time, the stream is ended as if it
 * broke (etcd3 opens a new one and re-creates every watch of the client, each resuming where it
 * was), after dropping the token when it was refused (the new stream authenticates afresh).
 */
export type WatchStreamRenewer = (options: { readonly reauthenticate: boolean }) => void;

/** The parts of etcd3's client this reaches for: its token cache and its watch manager. */
interface Insides {
  readonly pool?: { readonly authenticator?: { invalidateMetadata?: unknown } };
  readonly watchManager?: { handleError?: unknown; state?: unknown };
}

/** etcd3's WatchManager state while a stream is open (Idle 0, Connecting 1, Connected 2). */
const CONNECTED = 2;

/**
 * The renewer of this client's watch stream. Checked when the connection opens: an etcd3 whose
 * insides differ (another version) fails at once, not at the first restart of a member.
 */
export function watchStreamRenewer(client: Etcd3): WatchStreamRenewer {
  const insides = client as unknown as Insides;
  const authenticator = insides.pool?.authenticator;
  const manager = insides.watchManager;
  if (
    typeof authenticator?.invalidateMetadata !== 'function' ||
    typeof manager?.handleError !== 'function' ||
    typeof manager.state !== 'number'
  )
    throw new IngotError(
      'E_CLUSTER_CONFIG',
      'this etcd3 client is not the version Ingot was built with (1.1.x): its watch stream cannot be renewed; reinstall the locked dependencies (npm ci)',
    );
  const invalidate = authenticator.invalidateMetadata as () => void;
  const restart = manager.handleError as (err: Error) => void;
  return ({ reauthenticate }) => {
    if (reauthenticate) invalidate.call(authenticator);
    // Only an open stream: with none (Idle), a new one is on its way already; one being opened
    // (Connecting) must not be doubled, or two streams would deliver to the same watches. If
    // it carries the old token, etcd refuses its watches and this runs again once it is open.
    if (manager.state === CONNECTED)
      restart.call(manager, new Error('ingot: the watch stream is started again'));
  };
}
