import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProcessEvents } from '../src/adapters/integrity/proc-events.js';
import type { ProcessEvent } from '../src/core/integrity/process-events.js';
import { removeNet, requireHost, sleep, testNet, upArgs, type TestNet } from './helpers/agent.js';
import { ingot } from './helpers/cli.js';

const HELLO = fileURLToPath(new URL('../examples/hello', import.meta.url));

describe('process events: the source itself', () => {
  beforeAll(() => requireHost());

  it('reports a process in namespaces of its own as it execs, and nothing of the host', async () => {
    const source = await startProcessEvents();
    const seen: ProcessEvent[] = [];
    const sub = source.subscribe({ onProcess: (e) => seen.push(e), onLost: () => undefined });
    try {
      // A program of 50 ms in a PID and mount namespace of its own (other tests on the
      // machine run such processes too: this one is unshare's child). How short a session
      // can be is the runc test's to show; this one is about what is reported.
      const args = ['sleep', '0.05'];
      const unshare = spawn('unshare', ['-fpm', '--mount-proc', '/bin/busybox', ...args]);
      await new Promise((r) => unshare.on('close', r));
      const host = spawn('/bin/busybox', args); // the same on the host: not reported
      await new Promise((r) => host.on('close', r));
      const mine = () => seen.filter((e) => e.ppid === unshare.pid || e.pid === host.pid);
      for (let n = 0; n < 100 && !mine().some((e) => e.kind === 'exec'); n++) await sleep(20);
      await sleep(200);
      const execs = mine().filter((e) => e.kind === 'exec');
      expect(execs).toHaveLength(1);
      expect(execs[0]!.exe).toMatch(/\/busybox$/);
      expect(execs[0]!.pidNs).not.toBe(readlink('/proc/self/ns/pid'));
      expect(execs[0]!.parentPidNs).toBe(readlink('/proc/self/ns/pid'));
    } finally {
      sub.close();
      await source.close();
    }
    expect(source.helperPid()).toBeNull();
  });

  it('reads /proc at once even while the agent is too busy to read its pipe', async () => {
    const source = await startProcessEvents();
    const seen: ProcessEvent[] = [];
    const sub = source.subscribe({ onProcess: (e) => seen.push(e), onLost: () => undefined });
    try {
      // spawnSync blocks this event loop for the whole storm, as a long synchronous task
      // would block the agent's: 100 processes of 30 ms each, more lines than a pipe holds.
      const loop = 'i=0; while [ $i -lt 100 ]; do /bin/busybox sleep 0.03; i=$((i+1)); done';
      const r = spawnSync('unshare', ['-fpm', '--mount-proc', '/bin/busybox', 'sh', '-c', loop]);
      expect(r.status).toBe(0);
      const shell = () => seen.find((e) => e.kind === 'exec' && e.ppid === r.pid)?.pid;
      const sleeps = () => seen.filter((e) => e.kind === 'exec' && e.ppid === shell()).length;
      for (let n = 0; n < 100 && sleeps() < 100; n++) await sleep(50);
      // A 30 ms process can still exit before a helper that a loaded host did not schedule
      // reads it; a helper blocked on its pipe for the whole storm would miss nearly all.
      expect(sleeps()).toBeGreaterThanOrEqual(90);
    } finally {
      sub.close();
      await source.close();
    }
  }, 60_000);

  it('works for an agent in a network namespace of its own (the cluster test bed)', () => {
    // The proc connector answers in the initial network namespace only (proc-events.ts): an
    // agent whose host is a network namespace must still see a process enter its instances.
    const source = fileURLToPath(
      new URL('../src/adapters/integrity/proc-events.ts', import.meta.url),
    );
    const script = [
      `const { startProcessEvents } = await import(${JSON.stringify(source)});`,
      "const { spawn } = await import('node:child_process');",
      'const s = await startProcessEvents();',
      'const seen = [];',
      's.subscribe({ onProcess: (e) => seen.push(e), onLost: () => undefined });',
      // Other tests on the machine run namespaced processes too: only these two count.
      'const pids = [];',
      'const run = (f, a) => new Promise((r) => {',
      "  const c = spawn(f, a).on('close', r).on('error', r);",
      '  pids.push(c.pid);',
      '});',
      "await run('unshare', ['-fpm', '--mount-proc', '/bin/busybox', 'sleep', '0.05']);",
      "await run('/bin/busybox', ['sleep', '0.05']);", // the host's own: not reported
      'const mine = () => seen.filter((e) => e.ppid === pids[0] || e.pid === pids[1]);',
      'for (let n = 0; n < 100 && !mine().some((e) => e.kind === "exec"); n++)',
      '  await new Promise((r) => setTimeout(r, 20));',
      'await new Promise((r) => setTimeout(r, 200));',
      'console.log(JSON.stringify(mine().map((e) => [e.kind, e.exe, e.netNs])));',
      'await s.close();',
    ].join('\n');
    const r = spawnSync(
      'unshare',
      ['--net', '--', process.execPath, '--import', 'tsx', '--input-type=module', '-e', script],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const seen = JSON.parse(r.stdout) as [string, string | null, string | null][];
    // Only the namespaced program: busybox on the agent's host (its netns) is dropped.
    const execs = seen.filter(([kind]) => kind === 'exec');
    expect(execs).toHaveLength(1);
    expect(execs[0]?.[1]).toMatch(/\/busybox$/);
    expect(seen[0]?.[2]).not.toBe(readlink('/proc/self/ns/net'));
  }, 40_000);

  it('fails loudly when it cannot start, and restarts a helper that died', async () => {
    await expect(startProcessEvents({ python: '/nonexistent/python3' })).rejects.toMatchObject({
      code: 'E_PROCESS_EVENTS',
    });
    const errors: Error[] = [];
    let lost = 0;
    const source = await startProcessEvents({ onError: (e) => errors.push(e) });
    source.subscribe({ onProcess: () => undefined, onLost: () => void lost++ });
    try {
      const first = source.helperPid()!;
      process.kill(first, 'SIGKILL');
      for (let n = 0; n < 200 && lost < 2; n++) await sleep(50);
      // Told at the death (events may be missing) and again once the new one listens.
      expect(lost).toBe(2);
      expect(errors[0]?.message).toMatch(/helper exited/);
      expect(source.helperPid()).not.toBe(first);
    } finally {
      await source.close();
    }
  }, 20_000);
});

function readlink(path: string): string {
  return spawnSync('readlink', [path], { encoding: 'utf8' }).stdout.trim();
}

interface InstanceJson {
  id: string;
  state: string;
}
interface DriftJson {
  /** RFC 3339, as every time in -o json. */
  time: string;
  instance: string;
  detail: { evidence?: { detector: string; path: string; actual: string }[] };
}

/**
 * Short sessions into running instances, through runc as an intruder on the host would:
 * every one is recorded and taints its instance, however short. A /proc poll once a second
 * missed them all (issue 15).
 */
describe('a short runc exec into an instance is always seen', () => {
  let root: string;
  let home: string;
  let net: TestNet;
  let env: Record<string, string>;
  const cli = (...args: string[]) => ingot(args, { env });

  beforeAll(() => {
    requireHost();
    root = mkdtempSync(join(tmpdir(), 'ingot-exec-'));
    home = join(root, 'home');
    net = testNet();
    env = { INGOT_HOME: home };
    const started = cli(...upArgs(net));
    expect(started.code, started.stderr).toBe(0);
    expect(cli('build', '-q', HELLO).code).toBe(0);
    const fleet = join(root, 'short.yaml');
    writeFileSync(fleet, ['name: short', 'artifact: hello:1.0.0', 'replicas: 1', ''].join('\n'));
    const deployed = cli('deploy', fleet, '--wait');
    expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0);
  }, 120_000);

  afterAll(() => {
    cli('down', '--stop-instances');
    removeNet(net);
    rmSync(root, { recursive: true, force: true });
  });

  /** A running instance of the fleet (tainted or not: it runs until it is replaced). */
  const running = async (): Promise<string> => {
    for (let n = 0; n < 300; n++) {
      const r = cli('status', '-o', 'json');
      const fleets = JSON.parse(r.stdout) as { name: string; instances: InstanceJson[] }[];
      const i = fleets
        .find((f) => f.name === 'short')
        ?.instances.find((x) => x.state === 'healthy');
      if (i) return i.id;
      await sleep(100);
    }
    throw new Error('no running instance of fleet short');
  };

  const drifts = (): DriftJson[] => {
    const r = cli('ledger', 'log', '--kind', 'drift', '-o', 'json');
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as DriftJson[];
  };

  it('20 execs of ~10 ms in a row: each one recorded in the ledger, each instance tainted', async () => {
    const sessions: { id: string; pid: number; at: number }[] = [];
    const pidFile = join(root, 'exec.pid');
    let id = await running();
    while (sessions.length < 20) {
      rmSync(pidFile, { force: true });
      const at = Date.now();
      // `cat /etc/passwd` runs for about a millisecond; runc's --pid-file names its host PID.
      const r = spawnSync('runc', [
        '--root',
        join(home, 'runc'),
        'exec',
        '--pid-file',
        pidFile,
        id,
        '/bin/busybox',
        'cat',
        '/etc/passwd',
      ]);
      // The instance was replaced (an earlier session tainted it): not a session.
      if (r.status !== 0) {
        id = await running();
        continue;
      }
      expect(r.stdout.toString()).toContain('root:');
      sessions.push({ id, pid: Number(readFileSync(pidFile, 'utf8')), at });
    }

    const found = (all: DriftJson[], s: (typeof sessions)[number]) =>
      all.find(
        (d) =>
          d.instance === s.id &&
          d.detail.evidence?.some(
            (e) => e.detector === 'process' && e.actual.startsWith(`pid ${s.pid} entered`),
          ),
      );
    let all = drifts();
    for (let n = 0; n < 50 && !sessions.every((s) => found(all, s)); n++) {
      await sleep(200);
      all = drifts();
    }
    const missed = sessions.filter((s) => !found(all, s));
    expect(missed, `unrecorded sessions: ${JSON.stringify(missed)}`).toEqual([]);

    // The program is named: the command's exec (unless it was gone before it could be
    // read), as well as runc's entry into the instance.
    const programs = sessions.flatMap((s) =>
      all
        .filter((d) => d.instance === s.id)
        .flatMap((d) => d.detail.evidence ?? [])
        .filter((e) => e.actual.startsWith(`pid ${s.pid} `))
        .map((e) => e.path),
    );
    expect(programs).toContain('/bin/busybox');

    // Every instance entered is tainted, in the history, and replaced.
    const history = cli('history', 'short').stdout;
    for (const id of new Set(sessions.map((s) => s.id)))
      expect(history).toMatch(new RegExp(`taint +${id}: `));

    // From the exec being started to the taint in the ledger (runc's own start included).
    const latencies = sessions
      .map((s) => Date.parse(found(all, s)!.time) - s.at)
      .sort((a, b) => a - b);
    console.log(
      `exec -> taint (ms): min ${latencies[0]}, median ${latencies[10]}, max ${latencies[19]}; ` +
        `${new Set(sessions.map((s) => s.id)).size} instances`,
    );
  }, 300_000);
});
