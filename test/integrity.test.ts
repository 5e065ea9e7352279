import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  copyFileSync,
  cpSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  hostResidue,
  removeNet,
  requireHost,
  rootfsOf as rootfsOfArtifact,
  runcIn,
  sleep,
  testNet,
  upArgs,
  type TestNet,
} from './helpers/agent.js';
import { ingot } from './helpers/cli.js';

const HELLO = fileURLToPath(new URL('../examples/hello', import.meta.url));

interface InstanceJson {
  id: string;
  state: string;
  artifact: string;
  integrity: string;
  evidence?: { detector: string; path: string; expected: string; actual: string }[];
}
interface FleetJson {
  name: string;
  instances: InstanceJson[];
}

/**
 * Real tampering, as root on the host, against instances of a running Ingot: each change is
 * detected by the check that should see it, and the instance is replaced.
 */
describe('integrity: drift and access are detected, and end in replacement', () => {
  let root: string;
  let home: string;
  let net: TestNet;
  let env: Record<string, string>;
  let soakStarted = 0;
  let soakIds: string[] = [];
  const cli = (...args: string[]) => ingot(args, { env });
  const up = () => cli(...upArgs(net));
  const fleets = (): FleetJson[] => {
    const r = cli('status', '-o', 'json');
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as FleetJson[];
  };
  const fleet = (name: string) => fleets().find((f) => f.name === name)!;
  const pidOf = (id: string) => (JSON.parse(runcIn(home, 'state', id).out) as { pid: number }).pid;
  const rootfsOf = (artifact: string) => rootfsOfArtifact(home, artifact);

  /** The fleet's one instance once it is healthy and verified, alone (waiting for it). */
  const serving = async (name: string): Promise<InstanceJson> => {
    for (let n = 0; n < 300; n++) {
      const all = fleet(name).instances;
      const [i] = all;
      if (all.length === 1 && i?.state === 'healthy' && i.integrity === 'verified') return i;
      await sleep(100);
    }
    throw new Error(`${name} has no healthy, verified instance: ${JSON.stringify(fleet(name))}`);
  };

  /**
   * After tampering with `victim`: it is tainted by `detector`, recorded, and replaced by a
   * fresh instance. Returns the evidence.
   */
  const replaced = async (name: string, victim: InstanceJson, detector: string) => {
    let evidence: InstanceJson['evidence'] = [];
    for (let n = 0; n < 300; n++) {
      const f = fleet(name);
      const v = f.instances.find((i) => i.id === victim.id);
      if (v?.evidence?.length) evidence = v.evidence;
      const fresh = f.instances.find(
        (i) => i.id !== victim.id && i.state === 'healthy' && i.integrity === 'verified',
      );
      if (!v && fresh) break;
      await sleep(100);
    }
    const f = fleet(name);
    expect(f.instances.map((i) => i.id)).not.toContain(victim.id);
    expect(f.instances).toHaveLength(1);
    // The history names the first finding; a change made through nsenter is also a process
    // entering from outside, and either may be seen first. The detector under test must
    // have found it too: the evidence (polls and ledger) is checked for it below.
    const history = cli('history', name).stdout;
    expect(history).toMatch(new RegExp(`taint +${victim.id}: `));
    // The polls may miss the moment the evidence shows (a loaded machine, a quick
    // replacement): the ledger keeps every finding, so it completes what they saw.
    const drift = cli('ledger', 'log', '--instance', victim.id, '--kind', 'drift', '-o', 'json');
    expect(drift.code, drift.stderr).toBe(0);
    for (const entry of JSON.parse(drift.stdout) as { detail: { evidence: typeof evidence } }[])
      for (const e of entry.detail.evidence ?? [])
        if (
          !evidence?.some(
            (k) => k.detector === e.detector && k.path === e.path && k.actual === e.actual,
          )
        )
          evidence = [...(evidence ?? []), e];
    expect(evidence?.map((e) => e.detector)).toContain(detector);
    return { evidence, history };
  };

  const nsenter = (pid: number, ...args: string[]) =>
    spawnSync('nsenter', ['-t', String(pid), '-m', '-p', '-r', '-w', '--', ...args], {
      encoding: 'utf8',
    });

  beforeAll(() => {
    requireHost();
    root = mkdtempSync(join(tmpdir(), 'ingot-integrity-'));
    home = join(root, 'home');
    net = testNet();
    env = { INGOT_HOME: home };
    const started = up();
    expect(started.code, started.stderr).toBe(0);
    expect(cli('build', '-q', HELLO).code).toBe(0);
    // A service that keeps writing to its tmpfs and its volume: allowed, never drift.
    const churn = join(root, 'churn');
    cpSync(HELLO, churn, { recursive: true, verbatimSymlinks: true });
    writeFileSync(
      join(churn, 'ingot.yaml'),
      readFileSync(join(churn, 'ingot.yaml'), 'utf8')
        .replace('name: hello\n', 'name: churn\n')
        .replace(
          /entrypoint: \[[^\n]*\]/,
          "entrypoint: [/bin/busybox, sh, -c, 'while :; do /bin/busybox date > /tmp/now; /bin/busybox rm -f /tmp/old; /bin/busybox mv /tmp/now /tmp/old; echo x >> /var/lib/hello/log; /bin/busybox truncate -s 0 /var/lib/hello/log; /bin/busybox sleep 0.05; done & exec /bin/busybox httpd -f -p 8080 -h /srv/www']",
        ),
    );
    const built = cli('build', '-q', '-t', 'churn:1', churn);
    expect(built.code, built.stderr).toBe(0);
    const write = (name: string, artifact: string, replicas: number) => {
      const file = join(root, `${name}.yaml`);
      writeFileSync(
        file,
        [`name: ${name}`, `artifact: ${artifact}`, `replicas: ${replicas}`, ''].join('\n'),
      );
      return file;
    };
    const soak = cli('deploy', write('soak', 'churn:1', 2), '--wait');
    expect(soak.code, soak.stdout + soak.stderr).toBe(0);
    soakStarted = Date.now();
    soakIds = fleet('soak').instances.map((i) => i.id);
    expect(cli('deploy', write('tamper', 'hello:1.0.0', 1), '--wait').code).toBe(0);
  }, 120_000);

  afterAll(() => {
    up();
    cli('down', '--stop-instances');
    removeNet(net);
    rmSync(root, { recursive: true, force: true });
  });

  it('a file whose content changed', async () => {
    const v = await serving('tamper');
    appendFileSync(join(rootfsOf(v.artifact), 'srv/www/index.html'), 'defaced\n');
    const { evidence } = await replaced('tamper', v, 'files');
    expect(evidence).toContainEqual(
      expect.objectContaining({ detector: 'files', path: '/srv/www/index.html' }),
    );
  });

  it('a mode changed, a file added, a file deleted', async () => {
    let v = await serving('tamper');
    chmodSync(join(rootfsOf(v.artifact), 'etc/passwd'), 0o666);
    let found = await replaced('tamper', v, 'files');
    expect(found.evidence).toContainEqual(
      expect.objectContaining({ path: '/etc/passwd', expected: 'mode 0644', actual: 'mode 0666' }),
    );

    v = await serving('tamper');
    writeFileSync(join(rootfsOf(v.artifact), 'srv/www/backdoor.html'), 'hi');
    found = await replaced('tamper', v, 'files');
    expect(found.evidence).toContainEqual(
      expect.objectContaining({ path: '/srv/www/backdoor.html', actual: 'file added' }),
    );

    v = await serving('tamper');
    unlinkSync(join(rootfsOf(v.artifact), 'etc/group'));
    found = await replaced('tamper', v, 'files');
    expect(found.evidence).toContainEqual(
      expect.objectContaining({ path: '/etc/group', actual: 'removed' }),
    );
  }, 60_000);

  it('a binary swapped for an identical copy: a change, though it reads as measured', async () => {
    const v = await serving('tamper');
    const busybox = join(rootfsOf(v.artifact), 'bin/busybox');
    // Same bytes, mode and owner, renamed into place (made outside the rootfs, so nothing
    // else changes in it). A check of the path alone would find it as measured; the running
    // program is now a deleted file. Nothing may write to a rootfs: the swap is drift.
    const copy = join(home, 'busybox.copy');
    copyFileSync(busybox, copy);
    chmodSync(copy, statSync(busybox).mode & 0o7777);
    renameSync(copy, busybox);
    const { evidence } = await replaced('tamper', v, 'files');
    expect(evidence).toContainEqual(
      expect.objectContaining({
        detector: 'files',
        path: '/bin/busybox',
        expected: 'no change on disk',
      }),
    );
  }, 30_000);

  it('a write through /proc/<pid>/root is refused by the read-only root', async () => {
    const v = await serving('tamper');
    expect(() =>
      appendFileSync(`/proc/${pidOf(v.id)}/root/srv/www/index.html`, 'defaced\n'),
    ).toThrow(/EROFS/);
    expect(fleet('tamper').instances).toEqual([
      expect.objectContaining({ id: v.id, integrity: 'verified' }),
    ]);
  });

  it('a bind mount over a measured path, inside the container', async () => {
    const v = await serving('tamper');
    const r = nsenter(
      pidOf(v.id),
      '/bin/busybox',
      'mount',
      '--bind',
      '/srv/www/healthz',
      '/srv/www/index.html',
    );
    expect(r.status, r.stderr).toBe(0);
    const { evidence } = await replaced('tamper', v, 'mounts');
    expect(evidence).toContainEqual(
      expect.objectContaining({ path: '/srv/www/index.html', expected: 'no mount' }),
    );
  }, 30_000);

  it('the root remounted read-write inside the container', async () => {
    const v = await serving('tamper');
    const r = nsenter(pidOf(v.id), '/bin/busybox', 'mount', '-o', 'remount,rw', '/');
    expect(r.status, r.stderr).toBe(0);
    const { evidence } = await replaced('tamper', v, 'mounts');
    expect(evidence).toContainEqual(
      expect.objectContaining({ detector: 'mounts', path: '/', expected: 'ro', actual: 'rw' }),
    );
  }, 30_000);

  it('a process that entered from outside (runc exec, not ingot debug)', async () => {
    const v = await serving('tamper');
    const exec = spawn('runc', [
      '--root',
      join(home, 'runc'),
      'exec',
      v.id,
      '/bin/busybox',
      'sleep',
      '60',
    ]);
    const ended = new Promise<number | null>((r) => exec.on('close', (code) => r(code)));
    await replaced('tamper', v, 'process');
    // Replacing the instance ended the intruder's process with it.
    expect(await ended).not.toBe(0);
  }, 30_000);

  it('break-glass: recorded, refused without a reason, and replaced even if nothing changed', async () => {
    const v = await serving('tamper');
    const refused = cli('debug', v.id, '--', '/bin/busybox', 'true');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--reason/);
    const session = cli(
      'debug',
      v.id,
      '--reason',
      'read the page',
      '--',
      '/bin/busybox',
      'cat',
      '/srv/www/index.html',
    );
    expect(session.code, session.stderr).toBe(0);
    expect(session.stdout).toContain('<'); // the page, read from inside
    const { history } = await replaced('tamper', v, 'break-glass');
    expect(history).toMatch(new RegExp(`break-glass-open +${v.id} by \\S+.*: read the page`));
    expect(history).toContain(`break-glass-close  ${v.id}`);
  }, 30_000);

  it('changes made while Ingot was down are found when it comes back', async () => {
    const v = await serving('tamper');
    expect(cli('down').code).toBe(0);
    appendFileSync(join(rootfsOf(v.artifact), 'srv/www/healthz'), 'x');
    expect(up().code).toBe(0);
    const { evidence } = await replaced('tamper', v, 'files-full');
    expect(evidence).toContainEqual(
      expect.objectContaining({ detector: 'files-full', path: '/srv/www/healthz' }),
    );
  }, 60_000);

  it('verify-instances hashes every rootfs on demand', async () => {
    const r = cli('verify-instances', '-o', 'json');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { instances: string[]; drift: unknown[] }[];
    expect(report.flatMap((x) => x.instances).sort()).toEqual(
      [...soakIds, (await serving('tamper')).id].sort(),
    );
  });

  it('a healthy fleet writing to its tmpfs and volume for two minutes: no drift at all', async () => {
    const left = soakStarted + 120_000 - Date.now();
    if (left > 0) await sleep(left);
    const soak = fleet('soak');
    expect(soak.instances.map((i) => i.id).sort()).toEqual([...soakIds].sort());
    for (const i of soak.instances) {
      expect(i.integrity).toBe('verified');
      expect(i.evidence ?? []).toEqual([]);
    }
    expect(cli('history', 'soak').stdout).not.toContain('taint');
    // The churn really ran: the volume's log is being written.
    expect(
      execFileSync('sh', ['-c', `stat -c %Y ${join(home, 'volumes', 'soak', 'data', 'log')}`], {
        encoding: 'utf8',
      }).trim(),
    ).toMatch(/^\d+$/);
    expect(cli('down', '--stop-instances').code).toBe(0);
    expect(hostResidue(home, net, soakIds)).toMatchObject({
      containers: [],
      netns: [],
      userns: [],
      mounts: [],
    });
  }, 200_000);
}, 600_000);
