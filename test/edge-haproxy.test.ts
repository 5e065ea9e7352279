import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../scripts/engines/ports.js';
import {
  HaproxyEdge,
  HaproxySupervisor,
  RuntimeClient,
  type EdgeEvent,
} from '../src/adapters/haproxy/index.js';
import {
  canaryWeights,
  observedEdge,
  type Edge,
  type EdgeFleet,
  type EdgeServer,
  type ServerCounters,
} from '../src/core/traffic/index.js';
import { arbBackend } from '../src/core/traffic/fixtures.case.js';
import {
  getOnce,
  load,
  namedBackend,
  shares,
  startLoad,
  type NamedBackend,
} from './helpers/http-load.js';
import { requireTool } from './helpers/tools.js';

/**
 * The edge against the real HAProxy 2.6 (Debian's), on loopback only: three tiny backends
 * that answer with their names, one supervised HAProxy in front, and a bounded client.
 */

let dir = '';
let edge: HaproxyEdge | null = null;
const events: EdgeEvent[] = [];
const backends: Record<'a' | 'b' | 'c' | 'd', NamedBackend | null> = {
  a: null,
  b: null,
  c: null,
  d: null,
};
let ports: number[] = [];
/** Debian's nobody: what Ingot's LocalEdge resolves from /etc/passwd. */
const NOBODY = { uid: 65534, gid: 65534 };

const be = (k: keyof typeof backends): NamedBackend => {
  const b = backends[k];
  if (b === null) throw new Error(`backend ${k} not started`);
  return b;
};
const server = (
  k: keyof typeof backends,
  weight: number,
  state: EdgeServer['state'] = 'ready',
): EdgeServer => ({
  instance: be(k).name,
  address: '127.0.0.1',
  port: be(k).port,
  weight,
  state,
});
const listen = (i: number) => `127.0.0.1:${ports[i]}`;
const url = (i: number) => `http://${listen(i)}/`;
const web = (live: EdgeServer[]): EdgeFleet => ({
  fleet: 'web',
  service: { port: 8080, listen: listen(0) },
  backends: { live, preview: [] },
});
const running = (): HaproxyEdge => {
  if (edge === null) throw new Error('the edge is not running');
  return edge;
};

/** Servers of a backend, sorted, as HAProxy reports them. */
async function serversOf(backend: string) {
  const all = await running().client.servers();
  return all
    .filter((s) => s.backend === backend)
    .map(({ server, address, port, weight, state }) => ({
      instance: server,
      address,
      port,
      weight,
      state,
    }))
    .sort((x, y) => (x.instance < y.instance ? -1 : 1));
}

async function counters(): Promise<Map<string, ServerCounters>> {
  return new Map((await running().client.stats()).map((c) => [`${c.backend}/${c.server}`, c]));
}

function answeredBy(
  before: Map<string, ServerCounters>,
  after: Map<string, ServerCounters>,
  key: string,
): number {
  const sum = (c: ServerCounters | undefined) =>
    c === undefined ? 0 : Object.values(c.responses).reduce((x, y) => x + y, 0);
  return sum(after.get(key)) - sum(before.get(key));
}

/** Processes whose command line names `dir` (haproxy started on our file), zombies aside. */
function processesIn(folder: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const state = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.[0];
      if (cmd.includes(folder) && state !== 'Z') found.push(Number(entry));
    } catch {
      // gone
    }
  }
  return found;
}

/** The real and effective user ids of a process. */
function uidsOf(pid: number): number[] {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Uid:'));
  return (line ?? '').split(/\s+/).slice(1, 3).map(Number);
}

/** Workers parse clients' requests: they must not be root, after a start, reload or restart. */
async function expectUnprivilegedWorker(): Promise<void> {
  const worker = await running().client.workerPid();
  expect(uidsOf(worker), `worker ${worker}`).toEqual([NOBODY.uid, NOBODY.uid]);
}

function expectWithin(actual: number | undefined, expected: number, points: number, what: string) {
  expect(actual, what).toBeDefined();
  expect(
    Math.abs((actual ?? 0) - expected),
    `${what}: ${actual?.toFixed(2)} % for ${expected} %`,
  ).toBeLessThanOrEqual(points);
}

const onExit = () => {
  // The test process going away without afterAll: take HAProxy down with it.
  for (const pid of dir === '' ? [] : processesIn(dir)) process.kill(pid, 'SIGKILL');
};

beforeAll(async () => {
  requireTool('haproxy'); // a clear failure, never a skip
  process.on('exit', onExit);
  dir = mkdtempSync(join(tmpdir(), 'ingot-edge-'));
  ports = await freePorts(5);
  backends.a = await namedBackend('old-a');
  backends.b = await namedBackend('old-b');
  backends.c = await namedBackend('new-c');
  backends.d = await namedBackend('new-d');
  edge = await HaproxyEdge.start(
    { fleets: [web([server('a', 1), server('b', 1)])] },
    {
      dir: join(dir, 'run'),
      onEvent: (e) => events.push(e),
      readyTimeoutMs: 5_000,
      render: { runAs: NOBODY },
    },
  );
  expect(await getOnce(url(0))).toMatch(/^old-[ab]$/);
  await expectUnprivilegedWorker();
});

afterAll(async () => {
  await edge?.stop(2_000);
  for (const b of Object.values(backends)) await b?.close();
  const left = dir === '' ? [] : processesIn(dir);
  const sockets =
    dir === '' ? [] : readdirSync(join(dir, 'run')).filter((f) => f.endsWith('.sock'));
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
  process.off('exit', onExit);
  expect(left, 'haproxy processes left behind').toEqual([]);
  expect(sockets, 'sockets left behind').toEqual([]);
  expect(existsSync(dir)).toBe(false);
});

describe('the HAProxy edge', () => {
  it('splits requests by canary weights within ±3 points over 2,000 requests, as HAProxy counts too', async () => {
    for (const percent of [10, 50]) {
      const w = canaryWeights(percent, { old: 2, new: 1 });
      if (!w.ok) throw new Error(w.reason);
      const report = await running().apply({
        fleets: [web([server('a', w.old), server('b', w.old), server('c', w.new)])],
      });
      expect(report.error).toBeUndefined();
      expect(report.reloaded).toBe(false);
      const before = await counters();
      const result = await load({ url: url(0), concurrency: 8, total: 2_000, keepAlive: true });
      const after = await counters();
      expect(result.failed, JSON.stringify([...result.failures])).toBe(0);
      expect(result.ok).toBe(2_000);
      const split = shares(result);
      console.log(
        `edge: ${percent} % asked (weights ${w.old}/${w.old}/${w.new}) → observed ` +
          ['old-a', 'old-b', 'new-c'].map((n) => `${n} ${split.get(n)?.toFixed(2)} %`).join(', ') +
          ` over ${result.ok} requests in ${result.ms.toFixed(0)} ms`,
      );
      expectWithin(split.get('new-c'), percent, 3, 'new-c');
      expectWithin(split.get('old-a'), (100 - percent) / 2, 3, 'old-a');
      expectWithin(split.get('old-b'), (100 - percent) / 2, 3, 'old-b');
      // HAProxy's counters (what `ingot status` will show) saw the same requests.
      for (const name of ['old-a', 'old-b', 'new-c'])
        expect(answeredBy(before, after, `be_web/${name}`), name).toBe(result.byBody.get(name));
    }
  });

  it('adds an instance, then drains and deletes another, under load: no request fails', async () => {
    const traffic = startLoad({ url: url(0), concurrency: 4, keepAlive: true, maxMs: 30_000 });
    await sleep(300);
    const added = await running().apply({
      fleets: [web([server('a', 1), server('b', 1), server('c', 1), server('d', 1)])],
    });
    expect(added.error).toBeUndefined();
    expect(added.sent.map((s) => s.command)).toEqual([
      expect.stringMatching(/^add server be_web\/new-d 127\.0\.0\.1:\d+ weight 1$/),
      'set server be_web/new-d state ready',
      'set server be_web/new-c weight 1', // from 2 (the 50 % step): its share shrinks last
    ]);
    await sleep(300);
    expect(be('d').hits()).toBeGreaterThan(0);

    const drained = await running().apply({
      fleets: [web([server('a', 1), server('b', 1), server('c', 1, 'drain'), server('d', 1)])],
    });
    expect(drained.sent.map((s) => s.command)).toEqual(['set server be_web/new-c state drain']);
    // Drained: no connection of its own left, and no new request.
    await waitFor(async () => (await counters()).get('be_web/new-c')?.current === 0, 5_000);
    const hitsDrained = be('c').hits();
    await sleep(300);
    expect(be('c').hits()).toBe(hitsDrained);

    const removed = await running().apply({
      fleets: [web([server('a', 1), server('b', 1), server('d', 1)])],
    });
    expect(removed.error).toBeUndefined();
    expect(removed.sent.map((s) => s.command)).toEqual([
      'set server be_web/new-c state maint',
      'del server be_web/new-c',
    ]);
    expect((await serversOf('be_web')).map((s) => s.instance)).toEqual(['new-d', 'old-a', 'old-b']);
    await sleep(300);
    traffic.stop();
    const result = await traffic.done;
    expect(result.failed, JSON.stringify([...result.failures])).toBe(0);
    expect(result.ok).toBeGreaterThan(200);
    expect(be('c').hits()).toBe(hitsDrained);
  });

  it('reloads without losing a request (a frontend added, then removed) under continuous load', async () => {
    const kept = startLoad({ url: url(0), concurrency: 6, keepAlive: true, maxMs: 30_000 });
    const fresh = startLoad({ url: url(0), concurrency: 3, keepAlive: false, maxMs: 30_000 });
    await sleep(300);
    const base = [server('a', 1), server('b', 1), server('d', 1)];
    const api: EdgeFleet = {
      fleet: 'api',
      service: { port: 8080, listen: listen(1) },
      backends: { live: [server('a', 1)], preview: [] },
    };
    const reloadsBefore = events.filter((e) => e.type === 'reloaded').length;
    const pidBefore = running().pid;
    const RELOADS = 10;
    for (let i = 0; i < RELOADS / 2; i++) {
      const grown = await running().apply({ fleets: [web(base), api] });
      expect(grown).toMatchObject({ reloaded: true, reasons: ['fleet api is new'] });
      expect(await getOnce(url(1))).toBe('old-a');
      await sleep(100);
      const shrunk = await running().apply({ fleets: [web(base)] });
      expect(shrunk).toMatchObject({ reloaded: true, reasons: ['fleet api is gone'] });
      await sleep(100);
    }
    kept.stop();
    fresh.stop();
    const [k, f] = await Promise.all([kept.done, fresh.done]);
    expect(events.filter((e) => e.type === 'reloaded').length).toBe(reloadsBefore + RELOADS);
    expect(running().pid).toBe(pidBefore); // the same master, new workers
    await expectUnprivilegedWorker();
    expect(k.failed, `keep-alive: ${JSON.stringify([...k.failures])}`).toBe(0);
    expect(f.failed, `new connections: ${JSON.stringify([...f.failures])}`).toBe(0);
    expect(k.ok + f.ok).toBeGreaterThan(200);
    expect(await getOnce(url(1))).toBeNull();
  });

  it('is restarted after SIGKILL, serving again within 1 s with the weights set at runtime', async () => {
    // Weights changed over the Runtime API only (no reload): the file must carry them.
    const weighted = await running().apply({ fleets: [web([server('a', 1), server('b', 3)])] });
    expect(weighted.error).toBeUndefined();
    expect(weighted.reloaded).toBe(false);
    const want = await serversOf('be_web');
    expect(want.map((s) => [s.instance, s.weight])).toEqual([
      ['old-a', 1],
      ['old-b', 3],
    ]);
    // …and the file a restart starts from says so before HAProxy is killed.
    expect(readFileSync(running().paths.config, 'utf8')).toContain(
      `server old-b 127.0.0.1:${be('b').port} weight 3\n`,
    );
    for (const victim of ['master', 'worker'] as const) {
      const master = running().pid;
      if (master === null) throw new Error('no master');
      const restarts = () => events.filter((e) => e.type === 'started' && e.restart).length;
      const restartsBefore = restarts();
      const target = victim === 'master' ? master : await running().client.workerPid();
      // Clients meanwhile: how many requests the death costs is measured, not promised.
      const traffic = startLoad({ url: url(0), concurrency: 2, keepAlive: false, maxMs: 10_000 });
      await sleep(100);
      const t0 = performance.now();
      process.kill(target, 'SIGKILL');
      // Serving again means: the supervisor started a new HAProxy, and it answers.
      let served: string | null = null;
      while (served === null && performance.now() - t0 < 5_000) {
        if (restarts() > restartsBefore) served = await getOnce(url(0), 200);
        else await sleep(2);
      }
      const ms = performance.now() - t0;
      await sleep(200);
      traffic.stop();
      const during = await traffic.done;
      console.log(
        `edge: SIGKILL of the ${victim} → a new HAProxy serving after ${ms.toFixed(0)} ms; ` +
          `${during.failed} of ${during.ok + during.failed} requests meanwhile failed ${JSON.stringify([...during.failures])}`,
      );
      expect(served).toMatch(/^old-[ab]$/);
      expect(ms, `serving again after killing the ${victim}`).toBeLessThan(1_000);
      expect(running().pid).not.toBe(master);
      expect(await serversOf('be_web')).toEqual(want);
    }
    const result = await load({ url: url(0), concurrency: 8, total: 2_000, keepAlive: true });
    expect(result.failed).toBe(0);
    expectWithin(shares(result).get('old-b'), 75, 3, 'old-b');
    expect(events.filter((e) => e.type === 'started' && e.restart)).toHaveLength(2);
    await expectUnprivilegedWorker();
    // After each restart the edge applied its last desired state again, and found it whole.
    const resyncs = events.filter((e) => e.type === 'resynced' || e.type === 'resync-failed');
    expect(resyncs).toEqual([
      { type: 'resynced', report: { reloaded: false, reasons: [], sent: [] } },
      { type: 'resynced', report: { reloaded: false, reasons: [], sent: [] } },
    ]);
  });

  it('refuses bad input before anything changes, and keeps serving when a reload cannot bind', async () => {
    const before = await serversOf('be_web');
    const pid = running().pid;
    const config = readFileSync(running().paths.config, 'utf8');
    const twice: EdgeFleet = { ...web([]), fleet: 'other' };
    expectEdgeError(
      await rejection(running().apply({ fleets: [web([server('a', 1)]), twice] })),
      'E_EDGE_INVALID',
      `${listen(0)} is already the listen of fleet web`,
    );
    // A listen another process holds: refused before HAProxy is asked to reload (which would
    // pause every listener for about two seconds before giving up).
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(ports[2], '127.0.0.1', resolve));
    try {
      const taken: EdgeFleet = {
        ...web([server('a', 1)]),
        fleet: 'taken',
        service: { port: 8080, listen: listen(2) },
      };
      const t0 = performance.now();
      expectEdgeError(
        await rejection(
          running().apply({ fleets: [web([server('a', 1), server('b', 3)]), taken] }),
        ),
        'E_EDGE_INVALID',
        `${listen(2)}: already taken by another process`,
      );
      expect(performance.now() - t0).toBeLessThan(500);
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
    expect(readFileSync(running().paths.config, 'utf8')).toBe(config);
    expect(running().pid).toBe(pid);
    expect(await serversOf('be_web')).toEqual(before);
    expect(await getOnce(url(0))).toMatch(/^old-[ab]$/);
  });

  it('puts the old file back when a reload fails, and the old worker keeps serving', async () => {
    // The supervisor alone (no pre-check): as when a listen is taken between check and reload.
    const [own, takenPort] = await freePorts(2);
    const fleetOn = (name: string, port: number | undefined): EdgeFleet => ({
      fleet: name,
      service: { port: 8080, listen: `127.0.0.1:${port}` },
      backends: { live: [server('a', 1)], preview: [] },
    });
    const sup = await HaproxySupervisor.start(
      { fleets: [fleetOn('solo', own)] },
      { dir: join(dir, 'solo') },
    );
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(takenPort, '127.0.0.1', resolve));
    try {
      const config = readFileSync(sup.paths.config, 'utf8');
      const pid = sup.pid;
      expectEdgeError(
        await rejection(sup.reload({ fleets: [fleetOn('solo', own), fleetOn('late', takenPort)] })),
        'E_EDGE_RELOAD',
        'Address already in use',
      );
      expect(readFileSync(sup.paths.config, 'utf8')).toBe(config);
      expect(sup.edge.fleets.map((f) => f.fleet)).toEqual(['solo']);
      expect(sup.pid).toBe(pid);
      expect(await getOnce(`http://127.0.0.1:${own}/`)).toBe('old-a');
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
      await sup.stop(2_000);
    }
    expect(processesIn(join(dir, 'solo'))).toEqual([]);
  });

  it('agrees with the model the plan is tested against: random states reach HAProxy exactly', async () => {
    // A fleet no request is sent to: its servers are addresses on loopback, never dialled.
    const model = (live: EdgeServer[]): EdgeFleet => ({
      fleet: 'model',
      service: { port: 8080, listen: listen(3) },
      backends: { live, preview: [] },
    });
    const base = web([server('a', 1), server('b', 3)]);
    expect((await running().apply({ fleets: [base, model([])] })).reloaded).toBe(true);
    const states = fc.sample(arbBackend, { numRuns: 30, seed: 19 });
    for (const servers of states) {
      const live = servers.map((s) => ({
        ...s,
        address: s.address.replace('10.88.0.', '127.0.1.'),
      }));
      const desired: Edge = { fleets: [base, model(live)] };
      const report = await running().apply(desired);
      expect(report.error).toBeUndefined();
      expect(report.reloaded).toBe(false);
      const seen = observedEdge(desired, await running().client.servers());
      const sort = (l: readonly EdgeServer[]) =>
        [...l].sort((x, y) => (x.instance < y.instance ? -1 : 1));
      expect(sort(seen.fleets[1]?.backends.live ?? [])).toEqual(sort(live));
    }
  });

  it('takes over from an HAProxy a former Ingot left running on the same folder', async () => {
    const folder = join(dir, 'former');
    const [port] = await freePorts(1);
    const solo: Edge = {
      fleets: [
        {
          fleet: 'solo',
          service: { port: 8080, listen: `127.0.0.1:${port}` },
          backends: { live: [server('a', 1)], preview: [] },
        },
      ],
    };
    // An Ingot that died: its HAProxy runs on, started the way the supervisor starts it.
    const first = await HaproxySupervisor.start(solo, { dir: folder });
    await first.stop(1_000);
    const former = spawn(
      'haproxy',
      ['-W', '-S', `${first.paths.masterSocket},mode,600`, '-f', first.paths.config],
      { stdio: 'ignore', detached: true },
    );
    await waitFor(async () => (await getOnce(`http://127.0.0.1:${port}/`, 200)) === 'old-a', 5_000);
    const next = await HaproxySupervisor.start(solo, { dir: folder });
    try {
      // The former master stops listening, finishes and exits; the new one serves.
      await waitFor(
        () => Promise.resolve(former.exitCode !== null || former.signalCode !== null),
        5_000,
      );
      expect(await getOnce(`http://127.0.0.1:${port}/`)).toBe('old-a');
      const worker = await new RuntimeClient(next.paths.adminSocket).workerPid();
      expect(processesIn(folder).sort()).toEqual([next.pid, worker].sort());
    } finally {
      await next.stop(1_000);
      if (former.exitCode === null) former.kill('SIGKILL');
    }
    expect(processesIn(folder)).toEqual([]);
  });

  it("ends with its supervisor, even a SIGKILLed one, when told to (a leader's edge)", async () => {
    const folder = join(dir, 'orphan');
    const [port] = await freePorts(1);
    const solo: Edge = {
      fleets: [
        {
          fleet: 'solo',
          service: { port: 8080, listen: `127.0.0.1:${port}` },
          backends: { live: [server('a', 1)], preview: [] },
        },
      ],
    };
    const module = new URL('../src/adapters/haproxy/index.ts', import.meta.url).href;
    const script = [
      `const { HaproxySupervisor } = await import(${JSON.stringify(module)});`,
      `await HaproxySupervisor.start(${JSON.stringify(solo)}, { dir: ${JSON.stringify(folder)}, exitWithParent: true });`,
      `process.stdout.write('up\\n');`,
      'setInterval(() => {}, 1000);',
    ].join('\n');
    const parent = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        parent.stdout.once('data', () => resolve());
        parent.once('exit', (code) => reject(new Error(`the supervisor exited (${code})`)));
      });
      expect(await getOnce(`http://127.0.0.1:${port}/`)).toBe('old-a');
      expect(processesIn(folder).length).toBeGreaterThan(0);
      parent.kill('SIGKILL');
      await waitFor(() => Promise.resolve(processesIn(folder).length === 0), 5_000);
      expect(await getOnce(`http://127.0.0.1:${port}/`, 200)).toBeNull();
    } finally {
      parent.kill('SIGKILL');
      for (const pid of processesIn(folder)) process.kill(pid, 'SIGKILL');
    }
  });

  it('says clearly when haproxy is not installed', async () => {
    expectEdgeError(
      await rejection(
        HaproxySupervisor.start(
          { fleets: [] },
          { dir: join(dir, 'missing'), binary: '/nonexistent/haproxy' },
        ),
      ),
      'E_EDGE_MISSING',
      './scripts/setup',
    );
  });
});

/** The error a promise rejects with (a failure if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** The code decides; the message must still say what went wrong and where. */
function expectEdgeError(err: unknown, code: string, says: string): void {
  expect(err).toMatchObject({ code });
  expect(err instanceof Error ? err.message : '').toContain(says);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`not within ${ms} ms`);
    await sleep(20);
  }
}
