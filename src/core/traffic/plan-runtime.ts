import { BACKEND_ROLES, type Edge, type EdgeFleet, type EdgeServer } from './edge.js';
import { backendName } from './names.js';
import type { RuntimeCommand } from './runtime-command.js';
import { assertEdge, type ValidateOptions } from './validate.js';

/**
 * How to move HAProxy from `current` to `desired`:
 * - `runtime`: these commands over the Runtime API, in order, and nothing is reloaded
 *   (empty when the two are equal);
 * - `reload`: the listens differ (a fleet, a listen or a preview added, removed or moved),
 *   which only a new configuration can do; `reasons` say which.
 */
export type RuntimePlan =
  | { readonly kind: 'runtime'; readonly commands: readonly RuntimeCommand[] }
  | { readonly kind: 'reload'; readonly reasons: readonly string[] };

/**
 * Pure and deterministic: the same two edges (in any order of fleets and servers) give the
 * same plan. Within each backend the plan never lets capacity dip below the lesser of before
 * and after: servers that gain traffic (added, let in, weighted up) are changed first, those
 * that lose it next, and removals last; a server is always put in maintenance before `del`
 * (HAProxy refuses otherwise, and a `del` of a server still taking requests would cut them).
 */
export function planRuntime(
  current: Edge,
  desired: Edge,
  options: ValidateOptions = {},
): RuntimePlan {
  assertEdge(desired, options);
  const reasons = listenChanges(current, desired);
  if (reasons.length > 0) return { kind: 'reload', reasons };
  const before = byFleet(current);
  const commands: RuntimeCommand[] = [];
  for (const fleet of [...desired.fleets].sort((a, b) => compare(a.fleet, b.fleet))) {
    const was = before.get(fleet.fleet);
    for (const role of BACKEND_ROLES) {
      const backend = backendName(fleet.fleet, role);
      commands.push(...planBackend(backend, was?.backends[role] ?? [], fleet.backends[role]));
    }
  }
  return { kind: 'runtime', commands };
}

/** Why the listens of the two edges differ (none: a runtime plan can do it). */
function listenChanges(current: Edge, desired: Edge): string[] {
  const before = byFleet(current);
  const after = byFleet(desired);
  const reasons: string[] = [];
  for (const [name, fleet] of after) {
    const was = before.get(name);
    if (was === undefined) reasons.push(`fleet ${name} is new`);
    else {
      if (was.service.listen !== fleet.service.listen)
        reasons.push(`fleet ${name} listens on ${fleet.service.listen}, not ${was.service.listen}`);
      if (was.service.previewListen !== fleet.service.previewListen)
        reasons.push(
          `fleet ${name}'s preview listens on ${fleet.service.previewListen ?? 'nothing'}, not ${was.service.previewListen ?? 'nothing'}`,
        );
    }
  }
  for (const name of before.keys()) if (!after.has(name)) reasons.push(`fleet ${name} is gone`);
  return reasons.sort(compare);
}

/** The commands of one backend: gaining servers, then losing ones, then removals. */
function planBackend(
  backend: string,
  current: readonly EdgeServer[],
  desired: readonly EdgeServer[],
): RuntimeCommand[] {
  const was = new Map(current.map((s) => [s.instance, s]));
  const wanted = new Set(desired.map((s) => s.instance));
  const gaining: RuntimeCommand[] = [];
  const losing: RuntimeCommand[] = [];
  for (const server of [...desired].sort((a, b) => compare(a.instance, b.instance))) {
    const old = was.get(server.instance);
    const steps = old === undefined ? added(backend, server) : changed(backend, old, server);
    if (old === undefined || effective(server) > effective(old)) gaining.push(...steps);
    else losing.push(...steps);
  }
  const removals: RuntimeCommand[] = [];
  for (const old of [...current].sort((a, b) => compare(a.instance, b.instance))) {
    if (wanted.has(old.instance)) continue;
    const server = old.instance;
    if (old.state !== 'maint') removals.push({ op: 'state', backend, server, state: 'maint' });
    removals.push({ op: 'del', backend, server });
  }
  return [...gaining, ...losing, ...removals];
}

/** A new server: HAProxy adds it in maintenance; then the state it should have. */
function added(backend: string, s: EdgeServer): RuntimeCommand[] {
  const server = s.instance;
  const add: RuntimeCommand = {
    op: 'add',
    backend,
    server,
    address: s.address,
    port: s.port,
    weight: s.weight,
  };
  return s.state === 'maint' ? [add] : [add, { op: 'state', backend, server, state: s.state }];
}

/**
 * A server in both: address and weight before it is let in, its state first when it is
 * taken out (so that it never takes requests at a weight or an address it is leaving).
 */
function changed(backend: string, old: EdgeServer, s: EdgeServer): RuntimeCommand[] {
  const server = s.instance;
  const setup: RuntimeCommand[] = [];
  if (old.address !== s.address || old.port !== s.port)
    setup.push({ op: 'addr', backend, server, address: s.address, port: s.port });
  if (old.weight !== s.weight) setup.push({ op: 'weight', backend, server, weight: s.weight });
  if (old.state === s.state) return setup;
  const state: RuntimeCommand = { op: 'state', backend, server, state: s.state };
  return s.state === 'ready' ? [...setup, state] : [state, ...setup];
}

/** The share of requests a server can take: its weight while ready, nothing otherwise. */
export function effective(s: EdgeServer): number {
  return s.state === 'ready' ? s.weight : 0;
}

function byFleet(edge: Edge): Map<string, EdgeFleet> {
  return new Map(edge.fleets.map((f) => [f.fleet, f]));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
