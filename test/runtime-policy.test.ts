import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../src/bin/agent.js';
import type { Digest } from '../src/domain/digest.js';
import type { ObservedInstance } from '../src/domain/instance.js';
import type { Agent } from '../src/services/agent/index.js';
import {
  removeNet,
  requireHost,
  runcIn,
  sleep,
  testNet,
  upArgs,
  type TestNet,
} from './helpers/agent.js';
import { buildWith } from './helpers/app.js';
import { ingot } from './helpers/cli.js';

const HELLO = fileURLToPath(new URL('../examples/hello', import.meta.url));

/**
 * The issue's image: signed by a trusted key, running as 0:0 with CAP_SYS_ADMIN and
 * CAP_SYS_MODULE. Without a runtime policy it was admitted, remounted its root read-write
 * and wrote into the host's rootfs cache.
 */
function rootedBaseline(root: string): string {
  const dir = join(root, 'rooted');
  cpSync(HELLO, dir, { recursive: true, verbatimSymlinks: true });
  const yaml = readFileSync(join(dir, 'ingot.yaml'), 'utf8');
  const edited = yaml
    .replace("user: '65532:65532'", "user: '0:0'")
    .replace("version: '1.0.0'", "version: '6.6.6'")
    .replace('  tmpfs: [/tmp]', '  tmpfs: [/tmp]\n  capabilities: [CAP_SYS_ADMIN, CAP_SYS_MODULE]');
  expect(edited).toContain("user: '0:0'");
  expect(edited).toContain('CAP_SYS_MODULE');
  writeFileSync(join(dir, 'ingot.yaml'), edited);
  return dir;
}

// The image is built in a temporary folder, outside any git work tree.
const policyText = (runtime: string[] = []) =>
  ['keys: [{ name: ci, file: keys/ci.pub }]', 'allowUntracked: true', ...runtime].join('\n') + '\n';
const PERMISSIVE = [
  'runtime:',
  '  allowedCapabilities: [CAP_SYS_ADMIN, CAP_SYS_MODULE, CAP_NET_BIND_SERVICE]',
];

describe('the policy limits what a signed image may do when it runs', () => {
  let root: string;
  let baseline: string;

  beforeAll(() => {
    requireHost();
    root = mkdtempSync(join(tmpdir(), 'ingot-runtime-policy-'));
    expect(ingot(['key', 'generate', '--out', join(root, 'keys'), '--name', 'ci']).code).toBe(0);
    baseline = rootedBaseline(root);
  });

  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  describe('on the host, before every start, whatever deploy said', () => {
    let home: string;
    let net: TestNet;
    let agent: Agent;
    let rooted: Digest;
    const policy = () => join(root, 'host-policy.yaml');

    const until = async (id: string, ms = 20_000): Promise<ObservedInstance> => {
      const end = Date.now() + ms;
      for (;;) {
        const found = (await agent.observe()).find((i) => i.id === id);
        if (found && ['healthy', 'failed', 'refused'].includes(found.state)) return found;
        if (Date.now() > end) throw new Error(`${id} did not settle: ${JSON.stringify(found)}`);
        await sleep(50);
      }
    };

    beforeAll(async () => {
      home = join(root, 'host');
      net = testNet();
      rooted = (await buildWith(home, baseline, { keys: [join(root, 'keys', 'ci.key')] })).digest;
      writeFileSync(policy(), policyText());
      agent = await createAgent({
        home,
        policyFile: policy(),
        bridge: net.bridge,
        subnet: net.subnet,
        cgroupParent: `/ingot-test-${net.bridge}`,
        stopGraceMs: 1000,
      });
      agent.run(50);
    }, 60_000);

    afterAll(async () => {
      await agent?.apply([]).catch(() => undefined);
      await agent?.close();
      if (net) removeNet(net);
    });

    it('refuses root with CAP_SYS_ADMIN under the default rules, and runs nothing', async () => {
      // Straight to the host: as if deploy had been bypassed or its policy were looser.
      await agent.apply([{ id: 'rooted-a', fleet: 'rooted', artifact: rooted }]);
      const refused = await until('rooted-a');
      expect(refused.state).toBe('refused');
      expect(refused.reason).toContain('E_POLICY_CAPABILITY');
      expect(refused.reason).toMatch(
        /asks for CAP_SYS_ADMIN, CAP_SYS_MODULE, not in the policy's runtime\.allowedCapabilities/,
      );
      expect(runcIn(home, 'list', '-q').out).not.toContain('rooted-a');
    });

    it('runs it when the policy allows it explicitly, and still nothing in it can mount', async () => {
      writeFileSync(policy(), policyText(PERMISSIVE));
      await agent.apply([{ id: 'rooted-b', fleet: 'rooted', artifact: rooted }]);
      const running = await until('rooted-b');
      expect(running.state, running.reason).toBe('healthy');
      expect(runcIn(home, 'exec', 'rooted-b', '/bin/busybox', 'id', '-u').out.trim()).toBe('0');
      // What the issue saw it do: remount its root read-write and write into the host's
      // rootfs cache. The capability is granted; seccomp denies the call anyway.
      const remount = runcIn(
        home,
        'exec',
        'rooted-b',
        '/bin/busybox',
        'mount',
        '-o',
        'remount,rw',
        '/',
      );
      expect(remount.code).not.toBe(0);
      const write = runcIn(home, 'exec', 'rooted-b', '/bin/busybox', 'touch', '/ingot-pwned');
      expect(write.code).not.toBe(0);
      expect(write.out).toMatch(/Read-only file system/);
      const unmask = runcIn(home, 'exec', 'rooted-b', '/bin/busybox', 'umount', '/proc/kcore');
      expect(unmask.out).toMatch(/Operation not permitted/);
      expect(
        execFileSync('find', [home, '-name', 'ingot-pwned'], { encoding: 'utf8' }).trim(),
      ).toBe('');
      expect(running.integrity).not.toBe('tainted');
    });

    it('refuses limits above the policy`s maximums, or none at all, with the rule and value', async () => {
      writeFileSync(
        policy(),
        policyText([...PERMISSIVE, '  maxMemory: 32Mi', '  maxPids: 100', '  allowRoot: false']),
      );
      await agent.apply([
        {
          id: 'rooted-c',
          fleet: 'rooted',
          artifact: rooted,
          resources: { memoryBytes: 64 * 2 ** 20, pids: 64 },
        },
        { id: 'rooted-d', fleet: 'rooted', artifact: rooted },
      ]);
      const over = await until('rooted-c');
      expect(over.state).toBe('refused');
      expect(over.reason).toContain(
        "resources.memory is 64Mi, above the policy's runtime.maxMemory of 32Mi (E_POLICY_MEMORY)",
      );
      expect(over.reason).toContain('(E_POLICY_ROOT)');
      expect(over.reason).not.toContain('E_POLICY_PIDS');
      const unlimited = await until('rooted-d');
      expect(unlimited.state).toBe('refused');
      expect(unlimited.reason).toContain('the fleet sets no resources.memory (unlimited)');
      expect(unlimited.reason).toContain('(E_POLICY_PIDS)');
    });
  });

  describe('at deploy, and `ingot verify --policy` says the same', () => {
    let home: string;
    let net: TestNet;
    let env: Record<string, string>;
    let rooted: Digest;
    const policy = () => join(root, 'server-policy.yaml');
    const cli = (...args: string[]) => ingot(args, { env });

    beforeAll(async () => {
      home = join(root, 'server');
      net = testNet();
      env = { INGOT_HOME: home };
      rooted = (await buildWith(home, baseline, { keys: [join(root, 'keys', 'ci.key')] })).digest;
      writeFileSync(policy(), policyText(['runtime: { allowRoot: false }']));
      const up = cli(...upArgs(net), '--policy', policy());
      expect(up.code, up.stderr).toBe(0);
    }, 60_000);

    afterAll(() => {
      if (!env) return;
      cli('down', '--stop-instances');
      removeNet(net);
    });

    it('refuses root with CAP_SYS_ADMIN, each rule with its code; admits it once allowed', () => {
      const fleet = join(root, 'rooted.yaml');
      writeFileSync(
        fleet,
        [
          'name: rooted',
          `artifact: ${rooted}`,
          'replicas: 1',
          'resources: { memory: 64Mi, pids: 64 }',
        ].join('\n') + '\n',
      );
      const refused = cli('deploy', fleet);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('E_DEPLOY_REFUSED');
      expect(refused.stderr).toContain(
        `runs as root (User "0:0"), and the policy's runtime.allowRoot is false (E_POLICY_ROOT)`,
      );
      expect(refused.stderr).toMatch(
        /asks for CAP_SYS_ADMIN, CAP_SYS_MODULE, not in .*\(E_POLICY_CAPABILITY\)/,
      );
      expect(cli('status', '-o', 'json').stdout).not.toContain('rooted');

      const verified = cli('verify', rooted, '--policy', policy(), '-o', 'json');
      expect(verified.code).toBe(1);
      const report = JSON.parse(verified.stdout) as { decision: { reasons: { code: string }[] } };
      expect(report.decision.reasons.map((r) => r.code)).toEqual([
        'E_POLICY_ROOT',
        'E_POLICY_CAPABILITY',
      ]);
      expect(cli('verify', rooted, '--policy', policy()).stdout).toMatch(
        /runs as {5}user 0:0, capabilities: CAP_SYS_ADMIN, CAP_SYS_MODULE/,
      );

      // The policy is read afresh: allowed explicitly, the same image is admitted and runs.
      writeFileSync(policy(), policyText(PERMISSIVE));
      expect(cli('verify', rooted, '--policy', policy()).code).toBe(0);
      const admitted = cli('deploy', fleet, '--wait');
      expect(admitted.code, admitted.stdout + admitted.stderr).toBe(0);
    }, 90_000);
  });
});
