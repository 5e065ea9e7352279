import fc from 'fast-check';
import {
  BACKEND_ROLES,
  SERVER_STATES,
  type Edge,
  type EdgeFleet,
  type EdgeServer,
  type ServerState,
} from './edge.js';
import { backendName } from './names.js';
import { effective } from './plan-runtime.js';
import type { RuntimeCommand } from './runtime-command.js';

/** A server of a fleet, with the fields tests leave alone filled in. */
export function server(instance: string, weight = 10, state: ServerState = 'ready'): EdgeServer {
  const n = Number(/(\d+)$/.exec(instance)?.[1] ?? 1) % 250;
  return { instance, address: `10.88.0.${n + 2}`, port: 8080, weight, state };
}

export function fleet(
  name: string,
  listen: string,
  live: readonly EdgeServer[],
  preview?: { listen: string; servers: readonly EdgeServer[] },
): EdgeFleet {
  return {
    fleet: name,
    service: {
      port: 8080,
      listen,
      ...(preview !== undefined && { previewListen: preview.listen }),
    },
    backends: { live, preview: preview?.servers ?? [] },
  };
}

// --- arbitraries: small pools, so that current and desired share servers often ---------

const instanceIds = ['w-0', 'w-1', 'w-2', 'w-3', 'w-4', 'w-5'];

export const arbServer: fc.Arbitrary<EdgeServer> = fc.record({
  instance: fc.constantFrom(...instanceIds),
  address: fc.constantFrom('10.88.0.2', '10.88.0.3', '10.88.0.4'),
  port: fc.constantFrom(8080, 9090),
  weight: fc.oneof(fc.constantFrom(0, 1, 10, 256), fc.integer({ min: 0, max: 256 })),
  state: fc.constantFrom(...SERVER_STATES),
});

export const arbBackend = fc.uniqueArray(arbServer, {
  selector: (s) => s.instance,
  maxLength: 6,
});

/** Fleets' names and listens: the part of an edge only a reload changes. */
export interface Skeleton {
  readonly fleets: readonly { name: string; listen: string; previewListen?: string }[];
}

export const arbSkeleton: fc.Arbitrary<Skeleton> = fc
  .uniqueArray(fc.constantFrom('web', 'api', 'hello'), { minLength: 0, maxLength: 3 })
  .chain((names) =>
    fc.tuple(...names.map(() => fc.boolean())).map((previews) => ({
      fleets: names.map((name, i) => ({
        name,
        listen: `127.0.0.1:${18_080 + 10 * i}`,
        ...(previews[i] === true && { previewListen: `127.0.0.1:${18_081 + 10 * i}` }),
      })),
    })),
  );

/** An edge of a skeleton, with servers drawn for every backend it has. */
export function arbEdgeOf(skeleton: Skeleton): fc.Arbitrary<Edge> {
  return fc.tuple(...skeleton.fleets.map(() => fc.tuple(arbBackend, arbBackend))).map((bs) => ({
    fleets: skeleton.fleets.map((f, i) => {
      const [live, preview] = bs[i] ?? [[], []];
      return {
        fleet: f.name,
        service: {
          port: 8080,
          listen: f.listen,
          ...(f.previewListen !== undefined && { previewListen: f.previewListen }),
        },
        backends: { live, preview: f.previewListen === undefined ? [] : preview },
      };
    }),
  }));
}

/** Two edges with the same listens (a runtime plan can move one to the other). */
export const arbSameListens: fc.Arbitrary<[Edge, Edge]> = arbSkeleton.chain((sk) =>
  fc.tuple(arbEdgeOf(sk), arbEdgeOf(sk)),
);

// --- a model of HAProxy's runtime: what its Runtime API does to servers -----------------

export interface ModelServer {
  address: string;
  port: number;
  weight: number;
  state: ServerState;
}

/** backend name → server name → server. */
export type Model = Map<string, Map<string, ModelServer>>;

export function modelOf(edge: Edge): Model {
  const model: Model = new Map();
  for (const f of edge.fleets)
    for (const role of BACKEND_ROLES) {
      if (role === 'preview' && f.service.previewListen === undefined) continue;
      const servers = new Map<string, ModelServer>();
      for (const s of f.backends[role])
        servers.set(s.instance, {
          address: s.address,
          port: s.port,
          weight: s.weight,
          state: s.state,
        });
      model.set(backendName(f.fleet, role), servers);
    }
  return model;
}

/**
 * Apply one command as HAProxy 2.6 does, refusing what it refuses (measured against the real
 * thing in test/edge-haproxy.test.ts): `add` of a name taken, anything on a server that is
 * not there, `del` of a server not in maintenance. `add` makes the server in maintenance.
 */
export function applyCommand(model: Model, c: RuntimeCommand): void {
  const backend = model.get(c.backend);
  if (backend === undefined) throw new Error(`no backend ${c.backend}`);
  const s = backend.get(c.server);
  if (c.op === 'add') {
    if (s !== undefined) throw new Error(`${c.server} exists`);
    backend.set(c.server, { address: c.address, port: c.port, weight: c.weight, state: 'maint' });
    return;
  }
  if (s === undefined) throw new Error(`no server ${c.backend}/${c.server}`);
  switch (c.op) {
    case 'weight':
      s.weight = c.weight;
      return;
    case 'state':
      s.state = c.state;
      return;
    case 'addr':
      s.address = c.address;
      s.port = c.port;
      return;
    case 'del':
      if (s.state !== 'maint') throw new Error(`del of ${c.server} in ${s.state}`);
      backend.delete(c.server);
      return;
  }
}

/** A model as plain sorted data, for equality. */
export function plain(model: Model): [string, [string, ModelServer][]][] {
  return [...model.entries()]
    .map(([b, servers]): [string, [string, ModelServer][]] => [
      b,
      [...servers.entries()].sort(([x], [y]) => (x < y ? -1 : 1)),
    ])
    .sort(([x], [y]) => (x < y ? -1 : 1));
}

/** Σ of the weights of ready servers in a backend of the model. */
export function capacity(model: Model, backend: string): number {
  let total = 0;
  for (const [server, s] of model.get(backend) ?? new Map<string, ModelServer>())
    total += effective({ instance: server, ...s });
  return total;
}

/** The same edge with its fleets and servers in another order. */
export function shuffled(edge: Edge, seed: number): Edge {
  const order = <T>(list: readonly T[], salt: number): T[] =>
    list
      .map((x, i) => ({ x, k: ((i + 1) * 2_654_435_761 + seed * 97 + salt) % 1_000_003 }))
      .sort((a, b) => a.k - b.k)
      .map(({ x }) => x);
  return {
    fleets: order(edge.fleets, 1).map((f, i) => ({
      ...f,
      backends: { live: order(f.backends.live, i + 2), preview: order(f.backends.preview, i + 3) },
    })),
  };
}
