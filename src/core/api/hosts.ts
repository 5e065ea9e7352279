import * as z from 'zod';
import { HOST_STATES, isNodeName, type LeaderRecord } from '../../domain/cluster.js';

/**
 * GET /v1/hosts: every host the server knows, for `ingot hosts`. The single-host server
 * answers with its own machine; a cluster's server with every registered or admitted host.
 * Loose objects: a field a newer server adds passes through to `-o json`.
 */

/**
 * A host's state as listed: the control plane's (live, lost, unadmitted: domain/cluster.ts)
 * and draining (live, but taking no new instances while its own are placed elsewhere).
 */
export const LISTED_HOST_STATES = [...HOST_STATES, 'draining'] as const;
export type ListedHostState = (typeof LISTED_HOST_STATES)[number];

// Names, labels and versions are shown in a terminal: nothing that could move its cursor
// or recolour it (a host writes its own registration, and a host can be compromised).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const printable = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => !CONTROL.test(s), 'no control characters');
const isoTime = z.iso.datetime({ offset: true });
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** What a host has, or what its instances reserve of it. */
export interface HostResources {
  readonly memoryBytes: number;
  /** Cores (fractions where instances' limits are fractions). */
  readonly cpus: number;
  /** Processes. */
  readonly pids: number;
}

/** One host as GET /v1/hosts lists it. */
export interface ListedHost {
  /** A DNS label (domain/cluster.ts isNodeName). */
  readonly name: string;
  readonly state: ListedHostState;
  /** Placement labels (`zone: a`); {} for none. */
  readonly labels: Readonly<Record<string, string>>;
  /** What the host has, as its agent read it. */
  readonly capacity: HostResources;
  /**
   * What its instances reserve: the sum of their declared limits (a process each where no
   * pids limit is declared) over the instances that hold resources (starting to stopping).
   */
  readonly used: HostResources & { readonly instances: number };
  /** When its agent was last heard from (ISO 8601); null if never. */
  readonly lastHeartbeat: string | null;
  /** The agent's version as it registered; null when none is registered. */
  readonly agent: string | null;
  /** When its agent process began (ISO 8601); null when none is registered. */
  readonly startedAt: string | null;
}

/** The answer of GET /v1/hosts: hosts sorted by name, and the leader (null on one host). */
export interface HostsAnswer {
  readonly hosts: readonly ListedHost[];
  /** The server that leads the cluster (domain/cluster.ts LeaderRecord); null: no cluster. */
  readonly leader: LeaderRecord | null;
}

const resources = {
  memoryBytes: count,
  cpus: z.number().min(0).max(1_000_000),
  pids: count,
};

export const listedHost: z.ZodType<ListedHost> = z.looseObject({
  name: z.string().refine(isNodeName, 'a DNS label (a-z, 0-9, inner hyphens, ≤ 63)'),
  state: z.enum(LISTED_HOST_STATES),
  labels: z
    .record(printable(63), printable(63))
    .refine((l) => Object.keys(l).length <= 64, 'at most 64 labels'),
  capacity: z.looseObject(resources),
  used: z.looseObject({ ...resources, instances: count }),
  lastHeartbeat: isoTime.nullable(),
  agent: printable(64).nullable(),
  startedAt: isoTime.nullable(),
});

export const listedLeader: z.ZodType<LeaderRecord> = z.looseObject({
  name: z.string().refine(isNodeName, 'a DNS label'),
  api: printable(2048).exactOptional(),
  since: isoTime,
});

export const hostsAnswer: z.ZodType<HostsAnswer> = z.looseObject({
  hosts: z.array(listedHost),
  leader: listedLeader.nullable(),
});
