import type { FleetRecord } from '../fleet/record.js';
import type { ObservedInstance } from '../../domain/instance.js';
import { parseBackendName } from './names.js';
import { answered, type ServerCounters } from './stat.js';

/** Requests the edge saw a fleet's live listen answer since its rollout's step began. */
export interface ObservedTraffic {
  readonly requests: number;
  /** Of those, the percent the release being rolled out answered (null before any). */
  readonly newShare: number | null;
  /** Answers 5xx and failed connections, of the release being rolled out (preview included). */
  readonly newErrors: number;
  /** Requests to the release being rolled out, on its preview listen too. */
  readonly newRequests: number;
}

/** What a fleet's live servers had counted when its step began: deltas count from there. */
export interface TrafficBaseline {
  /** The release, step and rollout state it was taken at: another is another step. */
  readonly key: string;
  readonly counted: ReadonlyMap<string, Counted>;
}

interface Counted {
  readonly answered: number;
  readonly errors: number;
}

/** Which release, step and rollout state counts are taken for: another is another count. */
export function trafficKey(fleet: Pick<FleetRecord, 'release' | 'step' | 'rollout'>): string {
  return `${fleet.release}/${fleet.step}/${fleet.rollout}`;
}

const counted = (c: ServerCounters): Counted => ({
  answered: answered(c),
  errors: c.responses['5xx'] + c.connectionErrors,
});

/**
 * The traffic a fleet's live listen answered since its step began (HAProxy's counters minus
 * what they held then), split by release: the share a canary step actually got, which
 * `ingot status` shows beside the weight asked for. A new step, or counters that went back
 * (a reload starts a worker afresh), take a new baseline. Pure.
 */
export function observeTraffic(
  fleet: FleetRecord,
  instances: readonly ObservedInstance[],
  counters: readonly ServerCounters[],
  baseline: TrafficBaseline | undefined,
): { readonly traffic: ObservedTraffic; readonly baseline: TrafficBaseline } {
  const key = trafficKey(fleet);
  // By backend and server: a blue-green preview's answers count for its analysis, not for the
  // share of the live listen.
  const now = new Map<string, Counted>();
  for (const c of counters) {
    const backend = parseBackendName(c.backend);
    if (backend?.fleet === fleet.name) now.set(`${backend.role}/${c.server}`, counted(c));
  }
  const went = (s: string, c: Counted) => {
    const before = baseline?.counted.get(s);
    return before !== undefined && (c.answered < before.answered || c.errors < before.errors);
  };
  if (baseline === undefined || baseline.key !== key || [...now].some(([s, c]) => went(s, c)))
    return {
      traffic: { requests: 0, newShare: null, newErrors: 0, newRequests: 0 },
      baseline: { key, counted: now },
    };
  const releaseOf = new Map(instances.map((i) => [i.id, i.release]));
  let requests = 0;
  let newRequests = 0;
  let newErrors = 0;
  let newLive = 0;
  for (const [key, c] of now) {
    const [role, server] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
    const before = baseline.counted.get(key) ?? { answered: 0, errors: 0 };
    const delta = c.answered - before.answered;
    const isNew = releaseOf.get(server) === fleet.release;
    if (role === 'live') {
      requests += delta;
      if (isNew) newLive += delta;
    }
    if (isNew) {
      newRequests += delta;
      newErrors += c.errors - before.errors;
    }
  }
  return {
    traffic: {
      requests,
      newShare: requests === 0 ? null : (100 * newLive) / requests,
      newErrors,
      newRequests,
    },
    baseline,
  };
}

/** "the new release answered 9.8% of 2,013 requests", or null before any request. */
export function describeShare(traffic: ObservedTraffic): string | null {
  if (traffic.newShare === null) return null;
  return `the new release answered ${traffic.newShare.toFixed(1)}% of ${traffic.requests.toLocaleString('en-US')} requests`;
}
