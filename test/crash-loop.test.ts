import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { passableTempDir } from './helpers/fs.js';
import type { InstanceExit } from '../src/domain/instance.js';
import { removeNet, requireHost, sleep, testNet, upArgs, type TestNet } from './helpers/agent.js';
import { ingot } from './helpers/cli.js';

const CRASHY = fileURLToPath(new URL('../examples/crashy', import.meta.url));
const HELLO = fileURLToPath(new URL('../examples/hello', import.meta.url));
const ERROR_LINE = "ModuleNotFoundError: No module named 'http'";

interface FleetJson {
  name: string;
  rollout: string;
  reason: string | null;
  reasons: string[];
  instances: { id: string; state: string; reason?: string; exit?: InstanceExit }[];
}

interface EntryJson {
  kind: string;
  fleet?: string;
  detail: Record<string, unknown>;
}

/**
 * A program that dies at once (examples/crashy), against a real server, runc and store
 * (issue 16, crash diagnosis): its exit and output are kept, restarts back off, the first
 * deploy fails after three crashes with the reason, not after the progress deadline.
 */
describe('a program that crashes at once', () => {
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
  const ledger = (fleet: string): EntryJson[] =>
    (
      JSON.parse(cli('ledger', 'log', '--limit', '99999', '-o', 'json').stdout) as EntryJson[]
    ).filter((e) => e.fleet === fleet);
  const fleetFile = (name: string, lines: string[]) => {
    const file = join(root, `${name}.yaml`);
    writeFileSync(file, [`name: ${name}`, ...lines, ''].join('\n'));
    return file;
  };

  beforeAll(() => {
    requireHost();
    root = passableTempDir('ingot-crash-');
    home = join(root, 'home');
    net = testNet();
    env = { INGOT_HOME: home };
    const r = cli(...upArgs(net));
    expect(r.code, r.stderr).toBe(0);
    expect(cli('build', '-q', CRASHY).code).toBe(0);
    expect(cli('build', '-q', HELLO).code).toBe(0);
  }, 120_000);

  afterAll(() => {
    cli(...upArgs(net));
    cli('down', '--stop-instances');
    removeNet(net);
    rmSync(root, { recursive: true, force: true });
  });

  it('a first deploy fails after three crashes with the exit status and its last line; its output outlives it', () => {
    const began = Date.now();
    const r = cli(
      'deploy',
      // A deadline of 10 minutes: what ends the rollout is the crashes, not the deadline.
      fleetFile('crashy', ['artifact: crashy:1.0.0', 'replicas: 1', 'progressDeadline: 10m']),
      '--wait',
      '--timeout',
      '110',
    );
    const took = Date.now() - began;
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toContain(`crash-looping: exited 1, 3 times in`);
    expect(r.stdout).toContain(ERROR_LINE);
    // Three crashes backed off 10 s and 20 s: about 30 s, far from the deadline.
    expect(took).toBeGreaterThan(25_000);
    expect(took).toBeLessThan(75_000);
    const f = status('crashy');
    expect(f.rollout).toBe('failed');
    expect(f.reason).toMatch(/^crash-looping: exited 1, 3 times in \d+ s: ModuleNotFoundError/);

    // The history has the crashes, at the 1st and 2nd (not one per restart), and the verdict.
    const history = cli('history', 'crashy').stdout;
    expect(history).toMatch(/crash +crash-looping: exited 1, once: ModuleNotFoundError/);
    expect(history).toMatch(/crash +crash-looping: exited 1, 2 times in \d+ s/);
    expect(history).toMatch(/failed +crash-looping: exited 1, 3 times/);
    const crashes = ledger('crashy').filter((e) => e.kind === 'instance-crashed');
    expect(crashes).toHaveLength(2);

    // Every crashed instance was replaced; what each said is kept.
    const ids = crashes.flatMap((e) =>
      (e.detail['instances'] as { id: string }[]).map((i) => i.id),
    );
    expect(ids).toHaveLength(2);
    for (const id of ids) {
      expect(cli('logs', id).stderr).toContain('E_INSTANCE_NOT_FOUND');
      const prev = cli('logs', id, '--previous');
      expect(prev.code, prev.stderr).toBe(0);
      expect(prev.stdout).toContain('crashy: starting');
      expect(prev.stdout).toContain(ERROR_LINE);
      expect(prev.stderr).toMatch(/exited 1 at /);
      const kept = JSON.parse(cli('logs', id, '--previous', '-o', 'json').stdout) as {
        exit: InstanceExit;
        fleet: string;
      };
      expect(kept.fleet).toBe('crashy');
      expect(kept.exit).toMatchObject({ code: 1, oomKilled: false, lastLine: ERROR_LINE });
    }
    const none = cli('logs', 'crashy-nope', '--previous');
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('E_PREVIOUS_NOT_FOUND');
  }, 150_000);

  it('a crashing release rolled over a healthy one is rolled back, with the reason', async () => {
    const v1 = cli(
      'deploy',
      fleetFile('roll', ['artifact: hello:1.0.0', 'replicas: 1']),
      '--wait',
      '--timeout',
      '60',
    );
    expect(v1.code, v1.stdout + v1.stderr).toBe(0);
    const healthy = status('roll').instances.filter((i) => i.state === 'healthy');
    expect(healthy).toHaveLength(1);
    const r = cli(
      'deploy',
      fleetFile('roll', ['artifact: crashy:1.0.0', 'replicas: 1', 'progressDeadline: 10m']),
      '--wait',
      '--timeout',
      '60',
    );
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/rolled-back: roll-[0-9a-f]+-\d+ is failed: its process exited 1: /);
    expect(r.stdout).toContain(ERROR_LINE);
    const f = status('roll');
    expect(f.rollout).toBe('rolled-back');
    expect(f.reason).toMatch(/its process exited 1: ModuleNotFoundError/);
    // What served before serves still.
    await sleep(1_000);
    expect(
      status('roll')
        .instances.filter((i) => i.state === 'healthy')
        .map((i) => i.id),
    ).toEqual(healthy.map((i) => i.id));
  }, 150_000);

  it('an instance the agent stops is no crash: nothing is recorded or kept of it', async () => {
    const up = cli(
      'deploy',
      fleetFile('calm', ['artifact: hello:1.0.0', 'replicas: 2']),
      '--wait',
      '--timeout',
      '60',
    );
    expect(up.code, up.stdout + up.stderr).toBe(0);
    const ids = status('calm').instances.map((i) => i.id);
    // busybox httpd ignores SIGTERM: each stop waits the grace, while passes observe.
    expect(cli('deploy', fleetFile('calm', ['artifact: hello:1.0.0', 'replicas: 0'])).code).toBe(0);
    const began = Date.now();
    while (status('calm').instances.length > 0 && Date.now() - began < 30_000) await sleep(250);
    await sleep(1_000);
    expect(ledger('calm').filter((e) => e.kind === 'instance-crashed')).toEqual([]);
    for (const id of ids)
      expect(cli('logs', id, '--previous').stderr).toContain('E_PREVIOUS_NOT_FOUND');
  }, 90_000);

  it('an instance past its memory limit is reported killed by the OOM killer', async () => {
    expect(
      cli(
        'deploy',
        fleetFile('oom', [
          'artifact: crashy:1.0.0',
          'replicas: 1',
          'env: { CRASHY: oom }',
          'resources: { memory: 16Mi }',
        ]),
      ).code,
    ).toBe(0);
    const began = Date.now();
    // The instance is seen failed for a pass or two before it is cleaned up: its crash is
    // read where it stays, in the ledger and in what the host keeps of it.
    let crash: EntryJson | undefined;
    while (crash === undefined && Date.now() - began < 30_000) {
      await sleep(250);
      crash = ledger('oom').find((e) => e.kind === 'instance-crashed');
    }
    const [first] = crash!.detail['instances'] as { id: string }[];
    expect(first).toMatchObject({ signal: 'SIGKILL', oomKilled: true });
    const kept = JSON.parse(cli('logs', first!.id, '--previous', '-o', 'json').stdout) as {
      exit: InstanceExit;
      output: string;
    };
    expect(kept.exit).toMatchObject({ signal: 'SIGKILL', oomKilled: true });
    expect(kept.exit.code).toBeUndefined();
    expect(kept.output).toContain('crashy: reading /dev/zero into memory');
    // While its restart waits, `ingot status` says why.
    let reasons = '';
    while (!/crash-looping/.test(reasons) && Date.now() - began < 30_000) {
      await sleep(250);
      reasons = status('oom').reasons.join('\n');
    }
    expect(reasons).toMatch(
      /crash-looping: killed by SIGKILL \(out of memory\), (once|\d+ times in \d+ s): crashy: reading \/dev\/zero into memory \(release [0-9a-f]{12}\): next start in \d+ s/,
    );
    const history = () => cli('history', 'oom').stdout;
    let h = history();
    while (!/crash /.test(h) && Date.now() - began < 30_000) {
      await sleep(250);
      h = history();
    }
    expect(h).toMatch(/crash-looping: killed by SIGKILL \(out of memory\), once: crashy: reading/);
    expect(cli('deploy', fleetFile('oom', ['artifact: crashy:1.0.0', 'replicas: 0'])).code).toBe(0);
  }, 90_000);
});
