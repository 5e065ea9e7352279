import type {
  Assignment,
  HostRegistration,
  HostView,
  LeaderRecord,
  MemberRecord,
} from '../domain/cluster.js';
import type { IngotError } from '../domain/errors.js';
import type { DesiredInstance, ObservedInstance } from '../domain/instance.js';

/**
 * Coordination of a cluster, as the control plane needs it: which hosts are alive, what each
 * host should run, what each host observes, and which server leads. Two views, one per kind of
 * credentials: a host's (`HostCoordination`: only its own keys) and the servers'
 * (`ControlCoordination`: everything). Every call is bounded in time: a store without a quorum
 * fails with E_CLUSTER_UNAVAILABLE, never hangs.
 */

/** How to reach the coordination store, and as whom. */
export interface CoordinationOptions {
  /** Client URLs of the members, `http(s)://host:port`; all https or all http. */
  readonly endpoints: readonly string[];
  /** Trust this CA for the members (and present this client certificate, when given). */
  readonly tls?: {
    readonly ca: Buffer;
    readonly cert?: Buffer;
    readonly key?: Buffer;
  };
  /** The store's own users (etcd auth): a host's user, or the servers'. */
  readonly auth?: { readonly username: string; readonly password: string };
  /** The longest one operation may take, retries included (default 5,000 ms). */
  readonly timeoutMs?: number;
}

/** A value that could not be read: it is reported, never used. */
export interface InvalidValue {
  readonly key: string;
  readonly reason: string;
}

/** One keyed value of a host: an instance's assignment or status (`id` is the instance). */
export interface Entry<T> {
  readonly host: string;
  readonly id: string;
  readonly value: T;
  /** The revision that last changed it. */
  readonly modRevision: number;
}

/** Values as of one revision: watch from `revision + 1` to miss nothing after them. */
export interface Listing<T> {
  readonly revision: number;
  readonly entries: readonly Entry<T>[];
  readonly invalid: readonly InvalidValue[];
}

/**
 * One change seen by a watch, in revision order. `relisted`: the revision to resume from was
 * compacted away (or the watch was cancelled), so changes in between are lost; the listing is
 * the whole state now and replaces whatever the caller held. For host registrations the entry
 * `id` is the host's name.
 */
export type WatchEvent<T> =
  | { readonly kind: 'put'; readonly entry: Entry<T> }
  | {
      readonly kind: 'delete';
      readonly host: string;
      readonly id: string;
      readonly revision: number;
    }
  | {
      readonly kind: 'invalid';
      readonly value: InvalidValue;
      readonly revision: number;
      /**
       * Where the value sits, when the key itself is one of the layout's: the key now holds
       * nothing usable, as a listing would leave it out.
       */
      readonly at?: { readonly host: string; readonly id: string };
    }
  | {
      readonly kind: 'relisted';
      readonly reason: 'compacted' | 'cancelled';
      /** The revision the watch wanted to resume from. */
      readonly from: number;
      readonly listing: Listing<T>;
    };

export interface WatchHandler<T> {
  /** Called for each change, in order, one at a time. */
  event(event: WatchEvent<T>): void;
  /** The watch stopped for good (E_CLUSTER_DENIED, E_CLUSTER_CLOSED); not called after close(). */
  failed?(error: IngotError): void;
}

export interface Watch {
  /** The next revision the watch waits for: every change before it was delivered. */
  readonly next: number;
  /**
   * Whether changes reach the handler as etcd makes them. False while the stream to etcd is
   * down (it is resumed from `next`, nothing is lost) or the watch is re-listing: changes may
   * be waiting meanwhile, so what was built from the events may be behind etcd by any amount.
   */
  readonly attached: boolean;
  close(): Promise<void>;
}

/** A lease: keys put on it live while it is kept alive and vanish when it ends. */
export interface LeaseHandle {
  /** etcd's lease id (decimal; 64 bits do not fit a JS number). */
  readonly id: string;
  readonly ttlSeconds: number;
  /**
   * Resolves once, with why, when the lease is gone or can no longer be trusted: etcd says it
   * expired or was revoked (E_CLUSTER_LEASE_LOST), or no keep-alive was confirmed for a whole
   * TTL (it may have expired; E_CLUSTER_LEASE_LOST too). Never resolves after revoke().
   */
  readonly lost: Promise<IngotError>;
  /** Stop the keep-alives and let the lease expire after its TTL (as a crashed process would). */
  release(): void;
  /** End the lease now: its keys are deleted at once. */
  revoke(): Promise<void>;
}

/** A host's view: it reads its own assignments and writes its own status and registration. */
export interface HostCoordination {
  readonly host: string;
  /**
   * Put the registration on a new lease of `ttlSeconds` (at least 2; 10 in production) and keep
   * the lease alive until released, revoked or lost. The host is in the live set meanwhile.
   */
  register(registration: HostRegistration, ttlSeconds: number): Promise<LeaseHandle>;
  listAssignments(): Promise<Listing<Assignment>>;
  /** Every change to this host's assignments from `fromRevision` on (re-listed if compacted). */
  watchAssignments(fromRevision: number, handler: WatchHandler<Assignment>): Promise<Watch>;
  /** Write the status of these instances (chunked; each chunk atomic); the last revision. */
  putStatus(instances: readonly ObservedInstance[]): Promise<number>;
  /** Remove the status of these instances (gone from the host). */
  deleteStatus(ids: readonly string[]): Promise<number>;
  listStatus(): Promise<Listing<ObservedInstance>>;
  close(): Promise<void>;
}

/** A change to one host's assignments, made by the leader. */
export interface AssignmentChange {
  readonly put?: readonly DesiredInstance[];
  readonly remove?: readonly string[];
}

/** The current leader, as the leader key says. */
export interface CurrentLeader {
  readonly record: LeaderRecord;
  /** The leader key's create revision: it grows with every new term. */
  readonly epoch: number;
  readonly leaseId: string;
}

/**
 * One term of leadership. Every write it makes is a transaction that compares the leader key's
 * create revision with `epoch` in etcd itself: once another term began (or none holds), the
 * write is refused with E_CLUSTER_FENCED, whatever this process believes.
 */
export interface Leadership {
  readonly epoch: number;
  readonly record: LeaderRecord;
  /** The term's lease: release() it to play a leader that stalled, revoke() to step down hard. */
  readonly lease: LeaseHandle;
  /** Resolves once this term is over: lease lost, leader key gone or taken, or resigned. */
  readonly lost: Promise<IngotError>;
  /**
   * Apply a change to a host's assignments, fenced; the revision of the last chunk. A change
   * of more than 128 operations is split into several fenced transactions, each atomic.
   */
  writeAssignments(host: string, change: AssignmentChange): Promise<number>;
  /** Record the host as a member: from now on a lost lease makes it `lost`, not forgotten. */
  admitHost(host: string): Promise<number>;
  /** Remove the host's member record, assignments and status. */
  forgetHost(host: string): Promise<number>;
  /** End the term: delete the leader key (if still ours) and revoke the lease. */
  resign(): Promise<void>;
}

export interface CampaignOptions {
  /** The leader lease's TTL in seconds (at least 2): how long a dead leader holds the cluster up. */
  readonly ttlSeconds: number;
  /** Stop campaigning: campaign() rejects with E_CLUSTER_CLOSED and nothing is left behind. */
  readonly signal?: AbortSignal;
}

/** Every folder the leader follows, each listed as of the same revision. */
export interface ClusterListing {
  readonly revision: number;
  readonly members: Listing<MemberRecord>;
  readonly registrations: Listing<HostRegistration>;
  readonly assignments: Listing<Assignment>;
  readonly status: Listing<ObservedInstance>;
}

/** The servers' view: every host, every assignment and status, and the election. */
export interface ControlCoordination {
  /** Every known host, with its state (a host whose lease ended is not live). */
  listHosts(): Promise<{
    readonly revision: number;
    readonly hosts: readonly HostView[];
    readonly invalid: readonly InvalidValue[];
  }>;
  /** Changes to host registrations (a delete is a lease that ended) from `fromRevision` on. */
  watchHosts(fromRevision: number, handler: WatchHandler<HostRegistration>): Promise<Watch>;
  /** Member records (hosts the leader admitted) from `fromRevision` on. */
  watchMembers(fromRevision: number, handler: WatchHandler<MemberRecord>): Promise<Watch>;
  listAssignments(host: string): Promise<Listing<Assignment>>;
  /** Every host's assignments from `fromRevision` on. */
  watchAssignments(fromRevision: number, handler: WatchHandler<Assignment>): Promise<Watch>;
  /**
   * Members, registrations, every assignment and every status, as of one revision: one
   * consistent picture of the cluster, to follow with the watches from `revision + 1`.
   */
  listCluster(): Promise<ClusterListing>;
  /** Observed status of one host, or of every host. */
  listStatus(host?: string): Promise<Listing<ObservedInstance>>;
  watchStatus(fromRevision: number, handler: WatchHandler<ObservedInstance>): Promise<Watch>;
  /** Who leads now, or null when nobody does. */
  leader(): Promise<CurrentLeader | null>;
  /** Wait until this server leads (or the signal aborts), then hold the term until it is lost. */
  campaign(candidate: Omit<LeaderRecord, 'since'>, options: CampaignOptions): Promise<Leadership>;
  close(): Promise<void>;
}

/** Sets up a host's etcd user and role; run with the store's root credentials. */
export interface CoordinationAdmin {
  /** The servers' user and role (full coordination prefix); idempotent, the password is set. */
  grantServers(password: string): Promise<void>;
  /** One host's user and role (its own keys only); idempotent, the password is set. */
  grantHost(host: string, password: string): Promise<void>;
  /** Remove one host's user and role. */
  revokeHost(host: string): Promise<void>;
  close(): Promise<void>;
}
