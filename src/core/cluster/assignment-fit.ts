import { desiredInstance } from '../controller/plan-fleet.js';
import type { FleetSpec } from '../fleet/spec.js';
import { instanceName } from '../planner/plan.js';
import type { Digest } from '../../domain/digest.js';
import { decodeValue } from './values.js';

/** The most replicas a fleet may have (fleet spec): the longest instance name it can take. */
const LAST_INDEX = 9999;

/**
 * Why an instance of this release would not fit in a cluster's assignment value (etcd keeps
 * each at most MAX_BYTES.assignment), or null when it fits. Checked at deploy: otherwise the
 * release is accepted and every pass of the leader then fails to place it. The largest
 * instance of the release is measured (its name the longest, the rest alike). Pure.
 */
export function assignmentProblem(
  fleet: string,
  artifact: Digest,
  release: string,
  spec: FleetSpec,
): string | null {
  const largest = desiredInstance(
    instanceName(fleet, release, LAST_INDEX),
    fleet,
    artifact,
    release,
    spec,
  );
  // The epoch at its longest too: any leader's writes it.
  const value = { instance: largest, epoch: Number.MAX_SAFE_INTEGER };
  const decoded = decodeValue('assignment', new TextEncoder().encode(JSON.stringify(value)));
  return decoded.ok ? null : decoded.reason;
}
