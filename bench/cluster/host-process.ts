import { openHostCoordination } from '../../src/adapters/etcd/index.js';
import type { HostCoordination } from '../../src/ports/coordination.js';
import { HostLoop } from '../../src/services/cluster/host-loop.js';
import { SimulatedAgent } from './simulated-agent.js';
import type { FromHosts, SimulatedHostSpec, ToHosts } from './simulated-hosts.js';

/**
 * A child process of bench/cluster: simulated hosts, each the real HostLoop (lease of the
 * given TTL, its assignments listed and watched, status reported when it changes and in full
 * every 3 minutes) on its own etcd connection, with a SimulatedAgent in place of the runtime.
 */

const GIB = 2 ** 30;

interface Running {
  readonly loop: HostLoop;
  readonly coordination: HostCoordination;
}

const hosts = new Map<string, Running>();
const warnings: Record<string, number> = {};
const send = (m: FromHosts): void => void process.send?.(m);
/** Warnings counted by message and the error's code (E_CLUSTER_UNAVAILABLE: etcd too slow). */
const log = {
  info: () => undefined,
  warn: (fields: object, message: string) => {
    const f = fields as { err?: { code?: string }; code?: string };
    const key = `${message} (${f.err?.code ?? f.code ?? 'no code'})`;
    warnings[key] = (warnings[key] ?? 0) + 1;
  },
};

function startHost(
  endpoints: readonly string[],
  spec: SimulatedHostSpec,
  ttlSeconds: number,
): void {
  const coordination = openHostCoordination(spec.name, { endpoints });
  const startedAt = new Date().toISOString();
  const loop = new HostLoop({
    coordination,
    agent: new SimulatedAgent(() => Date.now()),
    registration: () => ({
      name: spec.name,
      labels: spec.labels,
      capacity: { memoryBytes: 64 * GIB, cpus: 16, pids: 4_194_304 },
      agent: 'bench-simulated',
      startedAt,
    }),
    ttlSeconds,
    log,
  });
  loop.start();
  hosts.set(spec.name, { loop, coordination });
}

async function stopHost(name: string): Promise<void> {
  const h = hosts.get(name);
  if (!h) return;
  hosts.delete(name);
  // As a crashed agent: nothing revoked, the lease is left to expire.
  await h.loop.close();
  await h.coordination.close();
}

async function handle(m: ToHosts): Promise<void> {
  switch (m.type) {
    case 'start': {
      for (const spec of m.hosts) startHost(m.endpoints, spec, m.ttlSeconds);
      while ([...hosts.values()].some((h) => !h.loop.following))
        await new Promise((r) => setTimeout(r, 50));
      return send({ type: 'following' });
    }
    case 'kill':
      await stopHost(m.host);
      return send({ type: 'killed', host: m.host });
    case 'memory': {
      const { rss, heapUsed } = process.memoryUsage();
      return send({ type: 'memory', rss, heapUsed });
    }
    case 'stop':
      await Promise.all([...hosts.keys()].map(stopHost));
      send({ type: 'stopped', warnings });
      process.disconnect();
      return;
  }
}

// Messages are handled one at a time, in order: each gets exactly one answer.
let queue: Promise<void> = Promise.resolve();
process.on('message', (m: ToHosts) => {
  queue = queue.then(() =>
    handle(m).catch((err: unknown) =>
      send({ type: 'error', message: err instanceof Error ? err.message : String(err) }),
    ),
  );
});
// The bench is gone (killed, or done): so are its hosts.
process.on('disconnect', () => setTimeout(() => process.exit(0), 100).unref());
