import type { FleetSpec } from '../fleet/spec.js';
import { listenProblem } from './address.js';

/** What a deploy knows when it checks a fleet's service. */
export interface ServiceFacts {
  /** The artifact's exposed ports, as its config names them ("8080/tcp"). */
  readonly exposed: readonly string[];
  /** The other fleets' specs (their listens are taken). */
  readonly others: readonly FleetSpec[];
  /** This machine's addresses besides loopback. */
  readonly local: ReadonlySet<string>;
}

/**
 * Why a fleet's service cannot be served, each problem said, or [] when it can: before a
 * deploy changes anything, not when the edge first fails to apply it. Pure.
 */
export function serviceProblems(spec: FleetSpec, facts: ServiceFacts): string[] {
  const service = spec.service;
  if (service === undefined) return [];
  const problems: string[] = [];
  const ports = new Set(facts.exposed.map((p) => p.replace(/\/tcp$/, '')));
  if (!ports.has(String(service.port)))
    problems.push(
      `service.port: the artifact does not expose ${service.port} (it exposes ${[...ports].sort().join(', ') || 'no port'})`,
    );
  const listens: [string, string][] = [['service.listen', service.listen]];
  if (service.previewListen !== undefined)
    listens.push(['service.previewListen', service.previewListen]);
  for (const [field, listen] of listens) {
    const problem = listenProblem(listen, facts.local);
    if (problem !== null) problems.push(`${field}: ${problem}`);
    for (const other of facts.others) {
      const theirs = [other.service?.listen, other.service?.previewListen];
      if (other.name !== spec.name && theirs.includes(listen))
        problems.push(`${field}: fleet ${other.name} already listens on ${listen}`);
    }
  }
  return problems;
}
