import { createHash } from 'node:crypto';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { passableTempDir } from './helpers/fs.js';
import {
  removeNet,
  requireHost,
  runcIn,
  sleep,
  testNet,
  upArgs,
  type TestNet,
} from './helpers/agent.js';
import { ingot } from './helpers/cli.js';

const HELLO = fileURLToPath(new URL('../examples/hello', import.meta.url));
const TINI = '/usr/bin/tini-static';
/** The server's grace (ingot up's default): what a SIGTERM-ignoring program costs per stop. */
const GRACE_S = 10;

interface Instance {
  id: string;
  state: string;
  release?: string;
  integrity?: string;
  evidence?: unknown[];
}
interface FleetJson {
  name: string;
  rollout: string;
  instances: Instance[];
}

/**
 * busybox httpd, as PID 1 (examples/hello), ignores SIGTERM: the kernel delivers to PID 1
 * only the signals it has a handler for. Every stop of it waits out the whole grace unless
 * an init runs it (init: true) or its fleet shortens the grace (stopGrace); and a rolling
 * update must not wait for those stops (terminating instances are not counted against the
 * surge ceiling).
 */
describe('stops that are graceful and fast', () => {
  let root: string;
  let home: string;
  let net: TestNet;
  let env: Record<string, string>;
  const cli = (...args: string[]) => ingot(args, { env });
  const status = (name: string): FleetJson => {
    const r = cli('status', '-o', 'json');
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as FleetJson[]).find((f) => f.name === name)!;
  };
  const fleetFile = (name: string, lines: string[]) => {
    const file = join(root, `${name}-${Math.random().toString(16).slice(2)}.yaml`);
    writeFileSync(file, [`name: ${name}`, ...lines].join('\n') + '\n');
    return file;
  };
  const deploy = (file: string, wait = true) => {
    const r = cli('deploy', file, ...(wait ? ['--wait'] : []));
    expect(r.code, r.stdout + r.stderr).toBe(0);
  };
  /**
   * How long the instance of `name` took to stop once scaled to 0, as `ingot status` sees it
   * (each look a CLI run: ~0.3 s resolution). Two readings bracket the true time: `atMost`
   * counts from when it was first seen stopping (or from when the deploy returned, if it went
   * before it was ever seen so); `atLeast` counts from before the deploy was asked for, since a
   * stop seen late would otherwise look shorter than the grace it really waited.
   */
  const timeStop = async (
    name: string,
    lines: string[],
  ): Promise<{ atLeast: number; atMost: number }> => {
    const asked = Date.now();
    deploy(fleetFile(name, [...lines, 'replicas: 0']), false);
    const deployed = Date.now();
    let began: number | null = null;
    for (const until = Date.now() + 60_000; Date.now() < until; await sleep(20)) {
      const states = status(name).instances.map((i) => i.state);
      if (began === null && states.includes('stopping')) began = Date.now();
      if (states.length === 0) {
        const gone = Date.now();
        return { atLeast: (gone - asked) / 1000, atMost: (gone - (began ?? deployed)) / 1000 };
      }
    }
    throw new Error(`${name} did not stop: ${JSON.stringify(status(name))}`);
  };

  beforeAll(() => {
    requireHost();
    root = passableTempDir('ingot-stop-');
    home = join(root, 'home');
    net = testNet();
    env = { INGOT_HOME: home };
    const args = upArgs(net);
    args[args.indexOf('--stop-grace') + 1] = String(GRACE_S);
    const up = cli(...args);
    expect(up.code, up.stderr).toBe(0);
    // examples/hello as it is, and a variant whose contract asks for an init.
    expect(cli('build', '-q', HELLO).code).toBe(0);
    const withInit = join(root, 'hello-init');
    cpSync(HELLO, withInit, { recursive: true, verbatimSymlinks: true });
    const baseline = readFileSync(join(withInit, 'ingot.yaml'), 'utf8')
      .replace(/^name: hello$/m, 'name: hello-init')
      .replace(/^runtime:$/m, 'runtime:\n  init: true');
    expect(baseline).toContain('init: true');
    writeFileSync(join(withInit, 'ingot.yaml'), baseline);
    const built = cli('build', '-q', withInit);
    expect(built.code, built.stderr).toBe(0);
  }, 120_000);

  afterAll(() => {
    cli('down', '--stop-instances');
    removeNet(net);
    rmSync(root, { recursive: true, force: true });
  });

  it('runs an init as PID 1 that is recorded, passes every integrity check, and stops at once', async () => {
    const lines = ['artifact: hello-init:1.0.0', 'minReadySeconds: 0'];
    deploy(fleetFile('ini', [...lines, 'replicas: 1']));
    const [first] = status('ini').instances;
    expect(first?.state).toBe('healthy');
    // The record says which init runs: the host's tini, by its digest.
    const started = JSON.parse(
      cli('ledger', 'log', '--kind', 'instance-started', '--instance', first!.id, '-o', 'json')
        .stdout,
    ) as { detail: { init?: { path: string; digest: string } } }[];
    const tini = `sha256:${createHash('sha256').update(readFileSync(TINI)).digest('hex')}`;
    expect(started.map((e) => e.detail.init)).toEqual([
      { path: '/.ingot/init/tini', digest: tini },
    ]);
    // The init runs in the fleet's user namespace (the default, as the home is passable):
    // the bind-mounted tini is reachable from there, and root inside is not root outside.
    const state = runcIn(home, 'state', first!.id);
    expect(state.code, state.out).toBe(0);
    const pid = (JSON.parse(state.out) as { pid: number }).pid;
    const [inside, outside] = readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split(/\s+/);
    expect([inside, Number(outside) > 0]).toEqual(['0', true]);
    // Processes, executables and mounts are checked every second: seconds of them find no
    // drift in the init (not in the artifact) nor in its mount (not in the image).
    for (let n = 0; n < 5; n++) {
      await sleep(1000);
      const [i] = status('ini').instances;
      expect(i, JSON.stringify(i)).toMatchObject({ id: first!.id, state: 'healthy' });
      expect(i!.integrity, JSON.stringify(i!.evidence)).toBe('verified');
    }
    // tini forwards SIGTERM to httpd (not PID 1 there, so it dies of it): no grace waited.
    const took = await timeStop('ini', lines);
    console.log(`stop with init: ${took.atMost.toFixed(2)} s (grace ${GRACE_S} s)`);
    expect(took.atMost).toBeLessThan(GRACE_S / 2);
  }, 120_000);

  it('waits only the fleet’s stopGrace for a program that ignores SIGTERM', async () => {
    const lines = ['artifact: hello:1.0.0', 'minReadySeconds: 0', 'stopGrace: 1s'];
    deploy(fleetFile('grace', [...lines, 'replicas: 1']));
    expect(status('grace').instances.map((i) => i.state)).toEqual(['healthy']);
    const took = await timeStop('grace', lines);
    console.log(`stop with stopGrace 1s: ${took.atMost.toFixed(2)} s (server grace ${GRACE_S} s)`);
    expect(took.atLeast).toBeGreaterThanOrEqual(1);
    expect(took.atMost).toBeLessThan(GRACE_S / 2);
  }, 120_000);

  it('rolls instances that take their whole grace to stop without waiting for those stops', async () => {
    const lines = [
      'artifact: hello:1.0.0',
      'replicas: 3',
      'minReadySeconds: 0',
      'strategy: { rolling: { maxSurge: 1, maxUnavailable: 0 } }',
    ];
    deploy(fleetFile('roll', [...lines, 'env: { GREETING: one }']));
    expect(status('roll').instances.filter((i) => i.state === 'healthy')).toHaveLength(3);
    const began = Date.now();
    deploy(fleetFile('roll', [...lines, 'env: { GREETING: two }']));
    const took = (Date.now() - began) / 1000;
    console.log(
      `rolling 3 instances that ignore SIGTERM, grace ${GRACE_S} s: ${took.toFixed(2)} s`,
    );
    // A stop per batch counted against the surge would take 3 × grace.
    expect(took).toBeLessThan(2 * GRACE_S);
    const fleet = status('roll');
    expect(fleet.rollout).toBe('complete');
    const live = fleet.instances.filter((i) => i.state !== 'stopping');
    expect(live.map((i) => i.state)).toEqual(['healthy', 'healthy', 'healthy']);
    // The old ones still take their grace, in the background, and then are gone.
    for (const until = Date.now() + 3 * GRACE_S * 1000; Date.now() < until; await sleep(200))
      if (status('roll').instances.length === 3) break;
    expect(status('roll').instances).toHaveLength(3);
  }, 180_000);
});
