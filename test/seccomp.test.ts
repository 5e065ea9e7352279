import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { passableTempDir } from './helpers/fs.js';
import type { Digest } from '../src/domain/digest.js';
import type { ObservedInstance } from '../src/domain/instance.js';
import type { Agent } from '../src/services/agent/index.js';
import {
  makeAgent,
  removeNet,
  requireHost,
  runcIn,
  sleep,
  testNet,
  type TestNet,
} from './helpers/agent.js';
import { buildWith } from './helpers/app.js';
import { ingot } from './helpers/cli.js';

const HELLO = fileURLToPath(new URL('../examples/hello', import.meta.url));
const PROBE_C = fileURLToPath(new URL('./fixtures/seccomp-probe/probe.c', import.meta.url));
const EPERM = 1;
const ENOSYS = 38;

/** What the issue names, and what Docker's default denies besides: EPERM inside. */
const DENIED = [
  'keyctl',
  'add_key',
  'request_key',
  'unshare',
  'unshare_ns',
  'setns',
  'clone_newuser',
  'clone_newns',
  'mount',
  'umount2',
  'ptrace',
  'process_vm_readv',
  'kexec_load',
  'init_module',
  'bpf',
  'perf_event_open',
  'userfaultfd',
  'io_uring_setup',
  'socket_vsock',
];
/** What every program does: must still work. */
const ORDINARY = ['getpid', 'uname', 'getcwd', 'socket_inet', 'fork', 'thread'];

/** The probe's "name=errno" lines as a map. */
function probeResults(out: string): Record<string, number> {
  const results: Record<string, number> = {};
  for (const line of out.split('\n')) {
    const m = /^([a-z0-9_]+)=(\d+)$/.exec(line.trim());
    if (m) results[m[1]!] = Number(m[2]);
  }
  return results;
}

function httpGet(address: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get({ host: address, port: 8080, path, agent: false, timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

/** hello, with the probe at /bin/probe and `runtime` lines added to its contract. */
function probeBaseline(root: string, name: string, version: string, runtime = ''): string {
  const dir = join(root, name);
  cpSync(HELLO, dir, { recursive: true, verbatimSymlinks: true });
  cpSync(join(root, 'probe'), join(dir, 'vendor', 'probe'));
  const yaml = readFileSync(join(dir, 'ingot.yaml'), 'utf8');
  const edited = yaml
    .replace("version: '1.0.0'", `version: '${version}'`)
    .replace(
      'layers:\n',
      "layers:\n  - source: vendor/probe # test/fixtures/seccomp-probe\n    destination: /bin/probe\n    mode: '0755'\n",
    )
    .replace('  tmpfs: [/tmp]', `  tmpfs: [/tmp]${runtime}`);
  expect(edited).toContain('/bin/probe');
  writeFileSync(join(dir, 'ingot.yaml'), edited);
  return dir;
}

describe('the default seccomp profile, inside a real instance', () => {
  let root: string;
  let home: string;
  let net: TestNet;
  let agent: Agent;
  let plain: Digest;
  let narrowed: Digest;

  const until = async (id: string, ms = 20_000): Promise<ObservedInstance> => {
    const end = Date.now() + ms;
    for (;;) {
      const found = (await agent.observe()).find((i) => i.id === id);
      if (found && ['healthy', 'failed', 'refused'].includes(found.state)) return found;
      if (Date.now() > end) throw new Error(`${id} did not settle: ${JSON.stringify(found)}`);
      await sleep(50);
    }
  };
  /** One exec per instance: an exec taints it, and a tainted instance is soon stopped. */
  const probeIn = (id: string, ...calls: string[]) =>
    runcIn(
      home,
      'exec',
      id,
      '/bin/busybox',
      'sh',
      '-c',
      `/bin/probe ${calls.join(' ')}; /bin/busybox uname -s`,
    );

  beforeAll(async () => {
    requireHost();
    root = passableTempDir('ingot-seccomp-');
    // Static, so that it runs on hello's busybox-only root; built here, from source.
    execFileSync('gcc', ['-static', '-O2', '-pthread', '-o', join(root, 'probe'), PROBE_C]);
    expect(ingot(['key', 'generate', '--out', join(root, 'keys'), '--name', 'ci']).code).toBe(0);
    home = join(root, 'host');
    net = testNet();
    const keys = [join(root, 'keys', 'ci.key')];
    plain = (await buildWith(home, probeBaseline(root, 'plain', '1.0.1'), { keys })).digest;
    narrowed = (
      await buildWith(
        home,
        probeBaseline(root, 'narrowed', '1.0.2', '\n  seccomp: { deny: [uname] }'),
        { keys },
      )
    ).digest;
    agent = await makeAgent(home, net, join(root, 'keys', 'ci.pub'));
    agent.run(50);
  }, 120_000);

  afterAll(async () => {
    await agent?.apply([]).catch(() => undefined);
    await agent?.close();
    if (net) removeNet(net);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('the probe sees these calls succeed on the host, unprivileged, without the filter', () => {
    // The control: what fails inside fails because of the instance, not because of the probe.
    // Only calls that change nothing outside the probe's own process run here; unshare last,
    // as inside its new user namespace the probe's uid is unmapped.
    const calls = [
      'keyctl',
      'clone_newuser',
      'ptrace',
      'process_vm_readv',
      'clone3',
      ...ORDINARY,
      'unshare',
    ];
    const r = spawnSync(
      'setpriv',
      ['--reuid', '65532', '--regid', '65532', '--clear-groups', join(root, 'probe'), ...calls],
      { encoding: 'utf8' },
    );
    const results = probeResults(r.stdout);
    for (const call of calls) expect(results[call], `${call}: ${r.stdout}${r.stderr}`).toBe(0);
  });

  it('keyctl, unshare, mount, ptrace, kexec_load, bpf fail inside; the service still serves', async () => {
    await agent.apply([{ id: 'seccomp-plain', fleet: 'seccomp', artifact: plain }]);
    const inst = await until('seccomp-plain');
    expect(inst.state, inst.reason).toBe('healthy');
    const page = await httpGet(inst.address!, '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('hello');

    const r = probeIn('seccomp-plain', ...DENIED, 'clone3', ...ORDINARY);
    expect(r.code, r.out).toBe(0);
    const results = probeResults(r.out);
    for (const call of DENIED) expect([call, results[call]]).toEqual([call, EPERM]);
    // ENOSYS, so that glibc's pthread_create falls back to clone (the "thread" line).
    expect(results['clone3'], r.out).toBe(ENOSYS);
    for (const call of ORDINARY) expect([call, results[call]]).toEqual([call, 0]);
    expect(r.out).toContain('Linux');
  }, 60_000);

  it("an image's contract narrows the profile: uname fails in that image only", async () => {
    await agent.apply([
      { id: 'seccomp-plain', fleet: 'seccomp', artifact: plain },
      { id: 'seccomp-narrow', fleet: 'seccomp-narrow', artifact: narrowed },
    ]);
    const inst = await until('seccomp-narrow');
    expect(inst.state, inst.reason).toBe('healthy');
    expect((await httpGet(inst.address!, '/healthz')).status).toBe(200);
    const r = probeIn('seccomp-narrow', 'uname', 'getcwd', 'keyctl');
    const results = probeResults(r.out);
    expect(results, r.out).toEqual({ uname: EPERM, getcwd: 0, keyctl: EPERM });
    // busybox's own uname gets no answer from the kernel either (it prints an empty line).
    expect(r.out).not.toContain('Linux');
  }, 60_000);
});
