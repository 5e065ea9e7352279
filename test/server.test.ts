import { execFileSync, spawn } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  hostResidue,
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
const EXAMPLE = fileURLToPath(new URL('../examples/hello/fleet.yaml', import.meta.url));

interface FleetJson {
  name: string;
  release: string;
  rollout: string;
  reason: string | null;
  phase: string;
  awaitingPromotion: boolean;
  instances: { id: string; state: string; release?: string; host?: string; address?: string }[];
}

describe('ingot up / deploy / down: fleets replaced, never patched', () => {
  let root: string;
  let home: string;
  let net: TestNet;
  let env: Record<string, string>;
  const cli = (...args: string[]) => ingot(args, { env });
  const up = () => cli(...upArgs(net));
  const status = (): FleetJson[] => {
    const r = cli('status', '-o', 'json');
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as FleetJson[];
  };
  /**
   * Observe FLEET until `done`, checking `invariant` on every observation (each one a fresh
   * `ingot status`, a few a second). Returns the observations.
   */
  const watch = async (
    name: string,
    done: (f: FleetJson) => boolean,
    invariant: (f: FleetJson) => void,
    timeoutMs = 60_000,
  ): Promise<FleetJson[]> => {
    const seen: FleetJson[] = [];
    for (const until = Date.now() + timeoutMs; Date.now() < until; await sleep(100)) {
      const f = status().find((x) => x.name === name)!;
      seen.push(f);
      invariant(f);
      if (done(f)) return seen;
    }
    throw new Error(`${name} did not get there: last seen ${JSON.stringify(seen.at(-1))}`);
  };
  const healthy = (f: FleetJson, release?: string) =>
    f.instances.filter(
      (i) => i.state === 'healthy' && (release === undefined || i.release === release),
    );
  // Not "stopping" either: a terminating instance is not counted against the surge ceiling.
  const alive = (f: FleetJson) =>
    f.instances.filter((i) => !['failed', 'refused', 'stopped', 'stopping'].includes(i.state));
  // A rollout is complete once the new release serves; the old instances it replaced may
  // still be stopping in the background (a grace each). Settled: those are gone too.
  const settled = (f: FleetJson) =>
    f.rollout === 'complete' && f.instances.every((i) => i.state !== 'stopping');
  const writeFleet = (name: string, lines: string[]) => {
    const file = join(root, `${name}.yaml`);
    writeFileSync(file, lines.join('\n') + '\n');
    return file;
  };

  // The example fleet: three instances, rolled one at a time (maxSurge 1, maxUnavailable 0).
  const fleetFile = (name: string, edit: (text: string) => string = (t) => t) => {
    const file = join(root, name);
    writeFileSync(
      file,
      edit(readFileSync(EXAMPLE, 'utf8').replace(/^replicas: \d+$/m, 'replicas: 3')),
    );
    return file;
  };

  beforeAll(() => {
    requireHost();
    root = mkdtempSync(join(tmpdir(), 'ingot-server-'));
    home = join(root, 'home');
    net = testNet();
    env = { INGOT_HOME: home };
  });

  afterAll(() => {
    // Whatever state a failed test left: bring the server back (it re-adopts), then stop all.
    up();
    cli('down', '--stop-instances');
    removeNet(net);
    rmSync(root, { recursive: true, force: true });
  });

  it('starts with nothing configured and refuses calls without the token', () => {
    const r = up();
    expect(r.code, r.stderr + readFileSync(join(home, 'server.out'), 'utf8')).toBe(0);
    expect(readFileSync(join(home, 'token'), 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
    const { port } = JSON.parse(readFileSync(join(home, 'server.json'), 'utf8')) as {
      port: number;
    };
    const code = execFileSync(
      'curl',
      ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${port}/v1/fleets`],
      {
        encoding: 'utf8',
      },
    );
    expect(code).toBe('401');
    // A second server for the same home is refused; so is a home others can write.
    const again = cli(...upArgs(net), '-o', 'json');
    expect(again.stderr).toMatch(/already running/);
    expect(JSON.parse(again.stdout)).toMatchObject({ running: true, started: false, port });
    const loose = join(root, 'loose');
    mkdirSync(loose, { mode: 0o777 });
    chmodSync(loose, 0o777);
    expect(ingot(['up'], { env: { INGOT_HOME: loose } }).stderr).toContain('E_HOME_UNSAFE');
  });

  it('records in the ledger what admission trusts, and when that changes', async () => {
    const policy = () =>
      (
        JSON.parse(cli('ledger', 'log', '--kind', 'policy', '-o', 'json').stdout) as {
          detail: { change: string };
        }[]
      ).map((e) => e.detail.change);
    for (let i = 0; i < 50 && policy().length === 0; i++) await sleep(100);
    expect(policy()).toEqual(['loaded']);
    // The trusted key file changes (a harmless blank line): recorded within seconds.
    appendFileSync(join(home, 'keys', 'local.pub'), '\n');
    for (let i = 0; i < 100 && policy().length < 2; i++) await sleep(100);
    expect(policy()).toEqual(['loaded', 'changed']);
  }, 30_000);

  it('sends the token only to a server that proves it holds it', async () => {
    // A stale server.json whose port another process now listens on.
    const other = join(root, 'impostor-home');
    mkdirSync(other, { mode: 0o700 });
    writeFileSync(join(other, 'token'), `${'ab'.repeat(32)}\n`, { mode: 0o600 });
    const seen: (string | undefined)[] = [];
    const impostor = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ proof: '00'.repeat(32) }));
    });
    await new Promise<void>((r) => impostor.listen(0, '127.0.0.1', r));
    const { port } = impostor.address() as AddressInfo;
    writeFileSync(
      join(other, 'server.json'),
      JSON.stringify({ pid: process.pid, port, host: '127.0.0.1' }),
    );
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [fileURLToPath(new URL('../dist/bin/ingot.js', import.meta.url)), 'status'],
        {
          env: { ...process.env, INGOT_HOME: other },
        },
      );
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code, stderr }));
    });
    impostor.close();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('E_SERVER_IDENTITY');
    expect(seen).toEqual([undefined]); // asked to identify itself, never given the token
  });

  it('deploys, rolls to a new release by replacement, and rolls back a bad one by itself', async () => {
    // Built after `up`: signed with this machine's key, which the server trusts.
    expect(cli('build', '-q', HELLO).code).toBe(0);
    const first = cli('deploy', fleetFile('v1.yaml'), '--wait', '-o', 'json');
    expect(first.code, first.stdout + first.stderr).toBe(0);
    let fleet = status()[0]!;
    expect(fleet.rollout).toBe('complete');
    const v1 = fleet.instances.map((i) => i.id).sort();
    expect(v1).toHaveLength(3);
    expect(fleet.instances.every((i) => i.state === 'healthy')).toBe(true);
    // The whole fleet's output, each line under its instance's id (httpd logs the health checks).
    const merged = cli('logs', 'hello', '--tail', '1');
    expect(merged.code, merged.stderr).toBe(0);
    const owners = merged.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' | ')[0]!.trim());
    expect(owners).toEqual(v1);
    // One fleet and one instance in full.
    const described = cli('describe', 'fleet', 'hello');
    expect(described.code, described.stderr).toBe(0);
    expect(described.stdout).toMatch(/settings:[\s\S]*env: +GREETING/);
    expect(described.stdout).toMatch(/deploy +by admin/);
    const one = fleet.instances[0]!;
    const instance = cli('describe', 'instance', one.id);
    expect(instance.code, instance.stderr).toBe(0);
    expect(instance.stdout).toContain(`address:    ${one.address!}:8080`);
    expect(instance.stdout).toContain('evidence:   none');
    expect(cli('describe', 'instance', 'hello-nope').stderr).toContain('E_INSTANCE_NOT_FOUND');

    const second = cli(
      'deploy',
      fleetFile('v2.yaml', (t) => t.replace('GREETING: hello', 'GREETING: bonjour')),
    );
    expect(second.code, second.stdout + second.stderr).toBe(0);
    // Every observation of the rolling replacement: never fewer than 3 serving (maxUnavailable
    // 0), never more than 3 + 1 alive (maxSurge 1).
    const seen = await watch(
      'hello',
      (f) => settled(f),
      (f) => {
        expect(healthy(f).length).toBeGreaterThanOrEqual(3);
        expect(alive(f).length).toBeLessThanOrEqual(4);
      },
    );
    expect(seen.some((f) => f.rollout === 'progressing')).toBe(true);
    fleet = status()[0]!;
    const v2 = fleet.instances.map((i) => i.id).sort();
    expect(v2).toHaveLength(3);
    for (const id of v2) expect(v1).not.toContain(id); // replaced, not modified

    // A release whose health check fails: rolled back, the old instances kept serving.
    const bad = join(root, 'bad');
    cpSync(HELLO, bad, { recursive: true, verbatimSymlinks: true });
    writeFileSync(
      join(bad, 'ingot.yaml'),
      readFileSync(join(bad, 'ingot.yaml'), 'utf8')
        .replace('path: /healthz', 'path: /missing')
        .replace("version: '1.0.0'", "version: '9.9.9'"),
    );
    expect(cli('build', '-q', bad).code).toBe(0);
    const third = cli(
      'deploy',
      fleetFile('bad.yaml', (t) =>
        t.replace('GREETING: hello', 'GREETING: bonjour').replace('hello:1.0.0', 'hello:9.9.9'),
      ),
      '--wait',
    );
    // Live progress on stderr while it waits.
    expect(third.stderr).toMatch(
      /hello: new \d\/3 healthy.*old 3 left; all instances \(progressing\)/,
    );
    expect(third.code).toBe(1);
    expect(third.stdout).toMatch(/rolled-back: hello-[0-9a-f]{8}-\d is unhealthy/);
    fleet = status()[0]!;
    expect(
      fleet.instances
        .filter((i) => i.state === 'healthy')
        .map((i) => i.id)
        .sort(),
    ).toEqual(v2);
    // What deploy refuses, each with its reason.
    const refused = (name: string, edit: (t: string) => string) =>
      cli('deploy', fleetFile(name, edit)).stderr;
    expect(refused('nosuch.yaml', (t) => t.replace('hello:1.0.0', 'nosuch:1'))).toContain(
      'E_REF_NOT_FOUND',
    );
    const badSpec = refused('badspec.yaml', (t) => t.replace('replicas: 3', 'replicas: many'));
    expect(badSpec).toMatch(/badspec\.yaml:\d+:\d+: replicas: /);
    const unsigned = join(root, 'unsigned-home');
    expect(
      ingot(['build', '-q', '-t', 'hello:unsigned', '--source-date-epoch', '5', HELLO], {
        env: { INGOT_HOME: unsigned },
      }).code,
    ).toBe(0);
    // An image built elsewhere (another epoch, so another digest), unsigned, copied into this
    // store: admission refuses it. (With the same inputs it would be the signed image itself.)
    execFileSync('skopeo', [
      'copy',
      '-q',
      `oci:${join(unsigned, 'store')}:hello:unsigned`,
      `oci:${join(home, 'store')}:hello:unsigned`,
    ]);
    expect(refused('unsigned.yaml', (t) => t.replace('hello:1.0.0', 'hello:unsigned'))).toContain(
      'E_DEPLOY_REFUSED',
    );
    expect(cli('status', 'nosuch').stderr).toContain('E_FLEET_NOT_FOUND');

    const history = cli('history', 'hello').stdout;
    expect(history).toMatch(
      /deploy[\s\S]*complete[\s\S]*deploy[\s\S]*complete[\s\S]*deploy[\s\S]*rollback/,
    );
    // Times in JSON are RFC 3339 (issue 20).
    const page = JSON.parse(cli('history', 'hello', '-o', 'json').stdout) as {
      history: { time: string }[];
      next: number | null;
    };
    const events = page.history;
    expect(events.length).toBeGreaterThan(0);
    expect(page.next).toBeNull();
    expect(events.every((e) => /^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(e.time))).toBe(true);
    // Release 2 (the rolled-back third one is not current): its change, its instances.
    const release = cli('describe', 'release', 'hello');
    expect(release.code, release.stderr).toBe(0);
    expect(release.stdout).toContain('release:    2 of hello (current)');
    expect(release.stdout).toContain('env:       ~GREETING (names only)');
    expect(release.stdout).not.toContain('bonjour');
    for (const id of v2) expect(release.stdout).toContain(`  ${id}  healthy`);
    const third3 = JSON.parse(cli('describe', 'release', 'hello@3', '-o', 'json').stdout) as {
      current: boolean;
      diff: { artifact: { toName: string } };
    };
    expect(third3.current).toBe(false);
    expect(third3.diff.artifact.toName).toBe('hello:9.9.9');
    expect(cli('describe', 'release', 'hello@9').stderr).toContain('E_RELEASE_NOT_FOUND');
  });

  it('survives SIGKILL in the middle of a rollout: no duplicates, no orphans, no lost history', async () => {
    const before = status()[0]!;
    const deployed = cli(
      'deploy',
      fleetFile('v3.yaml', (t) => t.replace('GREETING: hello', 'GREETING: salut')),
    );
    expect(deployed.code, deployed.stderr).toBe(0);
    // Let the rollout get under way, then kill the server without a chance to clean up.
    for (let i = 0; i < 100; i++) {
      const f = status()[0]!;
      if (f.instances.some((x) => x.release === f.release)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const { pid } = JSON.parse(readFileSync(join(home, 'server.json'), 'utf8')) as { pid: number };
    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    rmSync(join(home, 'server.json'), { force: true });
    expect(up().code).toBe(0);
    for (let i = 0; i < 300; i++) {
      if (settled(status()[0]!)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const after = status()[0]!;
    expect(after.rollout).toBe('complete');
    expect(after.release).not.toBe(before.release);
    const ids = after.instances.map((i) => i.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(after.instances).toHaveLength(3);
    expect(after.instances.every((i) => i.state === 'healthy' && i.release === after.release)).toBe(
      true,
    );
    // runc runs exactly what the agent reports: nothing orphaned, nothing twice.
    expect(runcIn(home, 'list', '-q').out.split('\n').filter(Boolean).sort()).toEqual(
      [...ids].sort(),
    );
    expect(cli('history', 'hello').stdout.match(/deploy/g)).toHaveLength(4);

    // By hand: back to the release before, replaced like any other change.
    const fleets = JSON.parse(cli('fleets', '-o', 'json').stdout) as {
      name: string;
      release: string;
    }[];
    expect(fleets.map((f) => f.name)).toEqual(['hello']);
    expect(cli('rollback', 'nosuch').stderr).toContain('E_FLEET_NOT_FOUND');
    expect(cli('rollback', 'hello', '--to', `sha256:${'0'.repeat(64)}`).stderr).toContain(
      'E_ROLLBACK_NONE',
    );
    const back = cli('rollback', 'hello');
    expect(back.code, back.stderr).toBe(0);
    const target = status()[0]!.release;
    expect(target).toBe(before.release);
    for (let i = 0; i < 300; i++) {
      const f = status()[0]!;
      if (
        f.instances.length === 3 &&
        f.instances.every((x) => x.release === target && x.state === 'healthy')
      )
        break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(status()[0]!.instances.map((x) => x.release)).toEqual([target, target, target]);
  }, 180_000);

  it('stops replacing when too many instances fail at once (meltdown guard)', async () => {
    // hello:9.9.9 (built above) never passes its health check; nothing to roll back to.
    const file = join(root, 'melt.yaml');
    writeFileSync(
      file,
      [
        'name: melt',
        'artifact: hello:9.9.9',
        'replicas: 2',
        'autoRollback: false',
        'meltdown: { maxFailedPercent: 50, window: 5m }',
      ].join('\n'),
    );
    expect(cli('deploy', file).code).toBe(0);
    for (let i = 0; i < 150 && !cli('history', 'melt').stdout.includes('meltdown'); i++)
      await new Promise((r) => setTimeout(r, 200));
    expect(cli('history', 'melt').stdout).toMatch(/meltdown +more than 50% of instances failed/);
    // Held: the unhealthy instances are neither replaced nor joined by new ones. (Which ones
    // they are depends on timing: one failing alone is 50%, not more, and is replaced.)
    // An instance already on its way out when the guard tripped is not one of them.
    const ids = () =>
      status()
        .find((f) => f.name === 'melt')!
        .instances.filter((i) => i.state !== 'stopping' && i.state !== 'stopped')
        .map((i) => i.id)
        .sort();
    const held = ids();
    expect(held).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 2000));
    expect(ids()).toEqual(held);
  }, 60_000);

  it('rolls a canary step by step, holding each pause, and rolls back a failing canary', async () => {
    const spec = (greeting: string, artifact = 'hello:1.0.0') =>
      writeFleet(`canary-${greeting}`, [
        'name: canary',
        `artifact: ${artifact}`,
        'replicas: 2',
        `env: { GREETING: ${greeting} }`,
        'strategy: { canary: { steps: [{ instances: 1, pause: 3s }] } }',
        'progressDeadline: 30s',
      ]);
    expect(cli('deploy', spec('one'), '--wait').code).toBe(0); // a first deploy: no steps
    const v1 = status().find((f) => f.name === 'canary')!;
    expect(v1.rollout).toBe('complete');
    expect(cli('promote', 'canary').stderr).toContain('E_PROMOTE_NONE');

    expect(cli('deploy', spec('two')).code).toBe(0);
    const seen = await watch(
      'canary',
      (f) => settled(f),
      (f) => {
        // Every observation: never below 2 serving, never above 2 + 1, and while the
        // canary step holds, never more than one instance on the new release.
        expect(healthy(f).length).toBeGreaterThanOrEqual(2);
        expect(alive(f).length).toBeLessThanOrEqual(3);
        if (f.phase.startsWith('canary step'))
          expect(f.instances.filter((i) => i.release === f.release).length).toBeLessThanOrEqual(1);
      },
    );
    const split = seen.filter(
      (f) =>
        f.phase.startsWith('canary step 1/1') &&
        healthy(f, f.release).length === 1 &&
        healthy(f).length === 2,
    );
    expect(split.length).toBeGreaterThan(0); // one new beside one old, seen
    const history = cli('history', 'canary').stdout;
    expect(history).toMatch(
      /step-reached +canary step 1\/1: 1 of 2 on the new release: ready, pausing 3 s/,
    );
    expect(history).toMatch(/step +final step: all instances/);
    const v2 = seen.at(-1)!;
    expect(healthy(v2, v2.release)).toHaveLength(2);

    // A canary that fails its health check: rolled back, the old release never touched.
    expect(cli('deploy', spec('three', 'hello:9.9.9')).code).toBe(0);
    const after = await watch(
      'canary',
      (f) => f.rollout === 'rolled-back' && alive(f).length === 2,
      (f) => expect(healthy(f).length).toBeGreaterThanOrEqual(2),
    );
    expect(after.at(-1)!.reason).toMatch(/canary-[0-9a-f]{8}-0 is unhealthy/);
    expect(
      healthy(after.at(-1)!)
        .map((i) => i.id)
        .sort(),
    ).toEqual(
      healthy(v2)
        .map((i) => i.id)
        .sort(),
    );
  }, 120_000);

  it('runs a blue-green preview beside the old release until promoted', async () => {
    const spec = (greeting: string) =>
      writeFleet(`bg-${greeting}`, [
        'name: bg',
        'artifact: hello:1.0.0',
        'replicas: 2',
        `env: { GREETING: ${greeting} }`,
        'strategy: { blueGreen: { autoPromote: false } }',
      ]);
    expect(cli('deploy', spec('blue'), '--wait').code).toBe(0);
    const blue = healthy(status().find((f) => f.name === 'bg')!)
      .map((i) => i.id)
      .sort();
    const green = cli('deploy', spec('green'), '--wait');
    // --wait returns once the preview is ready and says what to do next.
    expect(green.code, green.stderr).toBe(0);
    expect(green.stdout).toMatch(
      /preview: 2 of the new release beside 2 of the old; run `ingot promote bg`/,
    );
    const preview = status().find((f) => f.name === 'bg')!;
    expect(preview.awaitingPromotion).toBe(true);
    expect(healthy(preview, preview.release)).toHaveLength(2);
    expect(healthy(preview).filter((i) => blue.includes(i.id))).toHaveLength(2);
    // Held there: nothing moves until promoted.
    await sleep(1500);
    expect(alive(status().find((f) => f.name === 'bg')!)).toHaveLength(4);

    expect(cli('promote', 'bg').code).toBe(0);
    const done = await watch(
      'bg',
      (f) => f.rollout === 'complete' && alive(f).length === 2,
      (f) => expect(healthy(f).length).toBeGreaterThanOrEqual(2),
    );
    // What serves is green alone; blue may still be stopping, in the background.
    const ids = alive(done.at(-1)!).map((i) => i.id);
    for (const id of ids) expect(blue).not.toContain(id);
    await watch(
      'bg',
      (f) => f.instances.every((i) => !blue.includes(i.id)),
      () => undefined,
    );
    expect(cli('history', 'bg').stdout).toMatch(/promote +by hand \(ingot promote\)/);
  }, 120_000);

  it('repaves instances past maxInstanceAge within the budgets', async () => {
    const file = writeFleet('pave', [
      'name: pave',
      'artifact: hello:1.0.0',
      'replicas: 2',
      'progressDeadline: 5s',
      'maxInstanceAge: 10s',
    ]);
    expect(cli('deploy', file, '--wait').code).toBe(0);
    const first = status().find((f) => f.name === 'pave')!;
    const original = first.instances.map((i) => i.id);
    expect(first.instances.every((i) => i.host !== undefined && i.host.length > 0)).toBe(true);
    await watch(
      'pave',
      (f) => healthy(f).length === 2 && f.instances.every((i) => !original.includes(i.id)),
      (f) => {
        expect(healthy(f).length).toBeGreaterThanOrEqual(2);
        expect(alive(f).length).toBeLessThanOrEqual(3);
      },
    );
    // Repaving never stops by itself: the fleet goes, so that later tests see a still world.
    const none = writeFleet('pave-0', [
      'name: pave',
      'artifact: hello:1.0.0',
      'replicas: 0',
      'progressDeadline: 5s',
      'maxInstanceAge: 10s',
    ]);
    expect(cli('deploy', none).code).toBe(0);
    await watch(
      'pave',
      (f) => f.instances.length === 0,
      () => undefined,
    );
  }, 120_000);

  it('backs an artifact volume with a shared source when the fleet names one', async () => {
    const bad = cli(
      'deploy',
      writeFleet('vol-bad', [
        'name: vol',
        'artifact: hello:1.0.0',
        'replicas: 1',
        'volumes: { nosuch: { source: common } }',
      ]),
    );
    // A fleet.yaml the server finds wrong is a usage error too (exit 2), as the CLI's own.
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /volumes\.nosuch: hello:1\.0\.0 declares no volume[\s\S]*E_FLEET_INVALID/,
    );
    const file = writeFleet('vol', [
      'name: vol',
      'artifact: hello:1.0.0',
      'replicas: 1',
      'volumes: { data: { source: common } }',
    ]);
    expect(cli('deploy', file, '--wait').code).toBe(0);
    const [i] = status().find((f) => f.name === 'vol')!.instances;
    const { pid } = JSON.parse(runcIn(home, 'state', i!.id).out) as { pid: number };
    expect(readFileSync(`/proc/${pid}/mountinfo`, 'utf8')).toContain(
      `${join(home, 'volumes', '_shared', 'common')} /var/lib/hello `,
    );
    // Scaled to nothing (the same release: only how many changes), and gone.
    expect(
      cli(
        'deploy',
        writeFleet('vol-0', [
          'name: vol',
          'artifact: hello:1.0.0',
          'replicas: 0',
          'volumes: { data: { source: common } }',
        ]),
      ).code,
    ).toBe(0);
    await watch(
      'vol',
      (f) => f.instances.length === 0,
      () => undefined,
    );
  }, 60_000);

  it('down keeps instances running; down --stop-instances leaves nothing behind', () => {
    const running = status()
      .flatMap((f) => f.instances)
      .map((i) => i.id)
      .sort();
    const downed = cli('down', '-o', 'json');
    expect(downed.code).toBe(0);
    expect(JSON.parse(downed.stdout)).toMatchObject({ stopped: true, instancesStopped: false });
    expect(runcIn(home, 'list', '-q').out.split('\n').filter(Boolean).sort()).toEqual(running);
    const upped = cli(...upArgs(net), '-o', 'json');
    expect(upped.code, upped.stderr).toBe(0);
    expect(JSON.parse(upped.stdout)).toMatchObject({ running: true, started: true, home });
    expect(
      status()
        .flatMap((f) => f.instances)
        .map((i) => i.id)
        .sort(),
    ).toEqual(running);
    expect(cli('down', '--stop-instances').code).toBe(0);
    // Everything above, recorded: the ledger verifies, and what ran is in it.
    const verified = cli('ledger', 'verify');
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/^ok: \d+ entries/);
    const kinds = new Set(
      (
        JSON.parse(cli('ledger', 'log', '--limit', '99999', '-o', 'json').stdout) as {
          kind: string;
        }[]
      ).map((e) => e.kind),
    );
    for (const k of [
      'build',
      'attestation',
      'admission',
      'deploy',
      'instance-started',
      'instance-healthy',
      'instance-stopped',
      'instance-replaced',
      'rollback',
      'rollout-complete',
      'key',
      'token',
      'policy',
    ])
      expect(kinds, k).toContain(k);
    expect(hostResidue(home, net, running)).toMatchObject({
      netns: [],
      containers: [],
      veths: [],
      addresses: [],
      mounts: [],
      userns: [],
      cgroups: [],
    });
    // The bridge the instances shared goes too.
    expect(existsSync(join('/sys/class/net', net.bridge))).toBe(false);
  });
}, 300_000);
