import type { DesiredInstance } from './instance.js';

/**
 * A host's or a server's name in the cluster: a DNS label (lowercase letters, digits, inner
 * hyphens, at most 63). It becomes part of coordination keys and etcd user names, so it can
 * never hold a `/`, a dot or anything a key prefix could be confused by.
 */
export function isNodeName(name: string): boolean {
  return /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(name);
}

/**
 * A machine's host name made a node name: its first label (`hostname -s`), lowercased, every
 * other character a hyphen, at most 63; `host` if nothing is left. Pure.
 */
export function nodeNameOf(hostname: string): string {
  const name = (hostname.split('.')[0] ?? '')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return name === '' ? 'host' : name;
}

/** What a host says about itself when it registers (and while its lease lives). */
export interface HostRegistration {
  readonly name: string;
  /** Placement labels (`zone=a`, `disk=ssd`). */
  readonly labels: Readonly<Record<string, string>>;
  /** What the host has, as read from it. */
  readonly capacity: {
    readonly memoryBytes: number;
    readonly cpus: number;
    readonly pids: number;
  };
  /** The agent's version, for `ingot hosts`. */
  readonly agent: string;
  /**
   * Where its agent's own API listens (`ingot agent --listen`), `http://ADDR:PORT`: what the
   * servers call for logs, verification and break-glass. Absent: the agent offers none.
   */
  readonly api?: string;
  /** When this registration (this agent process) began, ISO 8601. */
  readonly startedAt: string;
}

/**
 * One instance a host is told to run, as the leading server wrote it: the instance, and the
 * epoch of the leader that wrote it (evidence; the fencing itself is done by etcd).
 */
export interface Assignment {
  readonly instance: DesiredInstance;
  readonly epoch: number;
}

/** The server that leads, as its leader record says. */
export interface LeaderRecord {
  /** The server's name. */
  readonly name: string;
  /** Where its API listens, when it says (for redirects and `ingot status`). */
  readonly api?: string;
  /** When it began to lead, ISO 8601. */
  readonly since: string;
}

/** A host the leader has admitted: it stays known (and is `lost`) when its lease expires. */
export interface MemberRecord {
  readonly name: string;
  /** When it was admitted, ISO 8601. */
  readonly admittedAt: string;
}

/**
 * live: its lease holds (its agent keeps it alive); lost: admitted, but its lease expired or
 * was revoked; unadmitted: registered, not admitted by the leader (yet).
 */
export const HOST_STATES = ['live', 'lost', 'unadmitted'] as const;
export type HostState = (typeof HOST_STATES)[number];

/** A host as the control plane sees it. */
export interface HostView {
  readonly name: string;
  readonly state: HostState;
  /** Its registration while it is live (or unadmitted); null when lost. */
  readonly registration: HostRegistration | null;
  readonly member: MemberRecord | null;
}
