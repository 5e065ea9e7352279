import { existsSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { testbed, type Testbed } from '../../src/adapters/netns-testbed/index.js';
import { restoreContext } from './contexts.js';
import { cleanEnv, ingot, INGOT_JS } from './ingot.js';
import { cgroupOf } from './members.js';
import { running, stopProc } from './processes.js';
import type { ClusterState, Proc } from './state.js';

/** What a teardown could not do; empty: nothing of the cluster is left. */
export interface TeardownReport {
  readonly errors: readonly string[];
}

/**
 * Take everything of the cluster down, in an order that changes nothing on the way: the
 * context first (the CLI stops pointing at it), the servers (no leader assigns anything
 * more), the agents, then each host's instances from its agent's record, the bed, the
 * engines, and what the hosts left in the machine's cgroups and /run. Every step runs even if
 * one before failed; what failed is reported, and running `down` again retries it.
 */
export async function teardown(
  state: ClusterState,
  say: (line: string) => void,
): Promise<TeardownReport> {
  const errors: string[] = [];
  const step = async (what: string, fn: () => Promise<unknown>) => {
    const started = Date.now();
    try {
      await fn();
      say(`${what}: done (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    } catch (err) {
      errors.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  const bed = testbed(state.bed);
  await step('the context', () => Promise.resolve(say(restoreContext(state.contextsBefore))));
  await step('the servers', () => stopAll(state.servers, 'SIGTERM', 15_000));
  await step('the agents', () => stopAll(state.agents, 'SIGTERM', 15_000));
  await step("the hosts' instances", async () => {
    const results = await Promise.allSettled(
      state.agents.map((a) => stopInstances(bed, a.n, a.home)),
    );
    const failed = results.flatMap((r, i) =>
      r.status === 'rejected' ? [`${state.agents[i]?.name}: ${String(r.reason)}`] : [],
    );
    if (failed.length > 0) throw new Error(failed.join('; '));
  });
  await step('the test bed', () => bed.destroy());
  await step('the registry', () =>
    stopAll(state.registry ? [state.registry] : [], 'SIGTERM', 10_000),
  );
  // SIGINT is PostgreSQL's fast shutdown (roll back sessions, checkpoint, exit).
  await step('PostgreSQL', () => stopAll(state.postgres ? [state.postgres] : [], 'SIGINT', 15_000));
  // A member stopping while its peers stop too waits in vain to hand over its leadership: its
  // data goes with the folder anyway, so it is not waited for long.
  await step('etcd', () => stopAll(state.etcd?.members ?? [], 'SIGTERM', 2_000));
  await step("the hosts' cgroups and network files", () => Promise.resolve(removeLeftovers(bed)));
  const left = [
    ...state.servers,
    ...state.agents,
    ...(state.etcd?.members ?? []),
    ...(state.postgres ? [state.postgres] : []),
    ...(state.registry ? [state.registry] : []),
  ].filter(running);
  if (left.length > 0) errors.push(`still running: pids ${left.map((p) => p.pid).join(', ')}`);
  return { errors };
}

async function stopAll(procs: readonly Proc[], signal: NodeJS.Signals, graceMs: number) {
  await Promise.all(procs.map((p) => stopProc(p, signal, graceMs)));
}

/**
 * `ingot down --stop-instances` with the host's home, in the host (its instance bridge lives
 * in its network namespace), or here if the bed is gone already. No context: this home's
 * instances, whatever server a context names.
 */
async function stopInstances(bed: Testbed, n: number, home: string): Promise<void> {
  if (!existsSync(home)) return;
  const argv = [process.execPath, INGOT_JS, 'down', '--stop-instances'];
  const env = cleanEnv({ INGOT_HOME: home });
  const r = existsSync(`/run/netns/${bed.host(n).netns}`)
    ? await bed.run(n, argv, { env, cwd: home, timeoutMs: 120_000 })
    : await ingot(argv.slice(2), env);
  if (r.code !== 0) throw new Error(`ingot down --stop-instances: ${r.stderr.trim()}`);
}

/**
 * The cgroups the hosts' instances were placed under (cgroup v2, and v1's hierarchies), and
 * the instance bridges' lock and address files Ingot keeps in the machine's /run.
 */
function removeLeftovers(bed: Testbed): void {
  const problems: string[] = [];
  for (const host of bed.hosts) {
    const name = cgroupOf(bed.prefix, host.n).slice(1);
    const roots = ['/sys/fs/cgroup', ...hierarchies()];
    for (const root of roots) {
      const dir = join(root, name);
      if (!existsSync(dir)) continue;
      try {
        rmdirSync(dir);
      } catch (err) {
        problems.push(`${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
    }
    rmSync(`/run/ingot/cni-${host.bridge}.lock`, { force: true });
    rmSync(`/run/ingot/ipam/ingot-${host.bridge}`, { recursive: true, force: true });
  }
  if (problems.length > 0) throw new Error(problems.join('; '));
}

/** The folders a v1 hierarchy may be mounted on (under v2: cgroups, which hold no such child). */
function hierarchies(): string[] {
  try {
    return readdirSync('/sys/fs/cgroup', { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => join('/sys/fs/cgroup', e.name));
  } catch {
    return [];
  }
}
