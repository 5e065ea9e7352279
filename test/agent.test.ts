import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentStateFile } from '../src/adapters/host-files/agent-state-file.js';
import type { ObservedInstance } from '../src/domain/instance.js';
import type { Agent } from '../src/services/agent/index.js';
import { buildWith } from './helpers/app.js';
import { ingot } from './helpers/cli.js';
import {
  hostResidue,
  makeAgent,
  removeNet,
  requireHost,
  runcIn,
  testNet,
  type TestNet,
} from './helpers/agent.js';
import { fileURLToPath } from 'node:url';
import type { Digest } from '../src/domain/digest.js';

// Folders that live for the whole suite (useTempDirs removes its folders after each test).
const made: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'ingot-agent-'));
  made.push(d);
  return d;
};
const HELLO = fileURLToPath(new URL('../examples/hello', import.meta.url));

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

async function until(
  agent: Agent,
  id: string,
  states: ObservedInstance['state'][],
  ms = 15_000,
): Promise<ObservedInstance> {
  const end = Date.now() + ms;
  for (;;) {
    const found = (await agent.observe()).find((i) => i.id === id);
    if (found && states.includes(found.state)) return found;
    if (Date.now() > end)
      throw new Error(`${id} did not reach ${states.join('/')}: ${JSON.stringify(found)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the agent runs artifacts as read-only runc containers', () => {
  let home: string;
  let net: TestNet;
  let signed: Digest;
  let unsigned: Digest;
  let pub: string;
  let agent: Agent;

  beforeAll(async () => {
    requireHost();
    home = tmp();
    net = testNet();
    const keys = tmp();
    expect(ingot(['key', 'generate', '--out', keys, '--name', 'ci']).code).toBe(0);
    pub = join(keys, 'ci.pub');
    signed = (await buildWith(home, HELLO, { keys: [join(keys, 'ci.key')] })).digest;
    unsigned = (await buildWith(home, HELLO, { tag: 'hello:unsigned', epoch: 7 })).digest;
    agent = await makeAgent(home, net, pub);
    agent.run(50);
  }, 60_000);

  afterAll(async () => {
    await agent?.apply([]).catch(() => undefined);
    await agent?.close();
    if (net) removeNet(net);
    for (const d of made) rmSync(d, { recursive: true, force: true });
  });

  it('serves HTTP on its own address, healthy, from a root nothing can write or run from', async () => {
    await agent.apply([{ id: 'hello-a', fleet: 'hello', artifact: signed }]);
    const inst = await until(agent, 'hello-a', ['healthy', 'failed', 'refused']);
    expect(inst.state, inst.reason).toBe('healthy');
    expect(inst.address).toMatch(
      new RegExp(`^${net.subnet.split('.').slice(0, 3).join('\\.')}\\.`),
    );
    const page = await httpGet(inst.address!, '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('hello');

    // Probing from inside is a test's privilege only: the product has no exec.
    const write = runcIn(home, 'exec', 'hello-a', '/bin/sh', '-c', 'echo x > /evil');
    expect(write.code).not.toBe(0);
    expect(write.out).toMatch(/Read-only file system/);
    const tmpfs = runcIn(
      home,
      'exec',
      'hello-a',
      '/bin/sh',
      '-c',
      'cp /bin/busybox /tmp/bb && echo copied && /tmp/bb true',
    );
    expect(
      tmpfs.out,
      runcIn(home, 'exec', 'hello-a', '/bin/sh', '-c', 'ls -ld /tmp; grep tmp /proc/mounts').out,
    ).toContain('copied');
    expect(tmpfs.code).not.toBe(0);
    expect(tmpfs.out).toMatch(/Permission denied/);
    const id = runcIn(home, 'exec', 'hello-a', '/bin/busybox', 'id', '-u');
    expect(id.out.trim()).toBe('65532');
    // busybox httpd -vv logs every request on stderr: the health checks are there.
    expect(agent.logs('hello-a')).toMatch(/url:\/healthz/);
    const cli = ingot(['logs', 'hello-a'], { env: { INGOT_HOME: home } });
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/url:\/healthz/);
    const tail = ingot(['logs', 'hello-a', '--tail', '2'], { env: { INGOT_HOME: home } });
    expect(tail.code, tail.stderr).toBe(0);
    expect(tail.stdout.split('\n').filter(Boolean)).toHaveLength(2);
    // The last lines of the log (read again after: a health check may have added some).
    expect(ingot(['logs', 'hello-a'], { env: { INGOT_HOME: home } }).stdout).toContain(tail.stdout);
    // Logs are capped (4 KiB asked, 8 KiB at least: two tmpfs pages): a burst of requests
    // rotates them, and neither half ever holds more than its 4 KiB.
    for (let i = 0; i < 80; i++) await httpGet(inst.address!, `/?request-${i}`);
    await agent.tick();
    const dir = join(home, 'instances', 'hello-a');
    expect(statSync(join(dir, 'log.1')).size).toBeGreaterThan(0);
    expect(statSync(join(dir, 'log.1')).size).toBeLessThanOrEqual(4096);
    expect(statSync(join(dir, 'out', 'log')).size).toBeLessThanOrEqual(4096);
  }, 60_000);

  it('keeps volume data across replacement, and only there', async () => {
    expect(
      runcIn(home, 'exec', 'hello-a', '/bin/sh', '-c', 'echo kept > /var/lib/hello/state').code,
    ).toBe(0);
    await agent.apply([
      {
        id: 'hello-b',
        fleet: 'hello',
        artifact: signed,
        resources: { memoryBytes: 64 * 1024 * 1024, pids: 64, cpus: 0.5 },
      },
    ]);
    const b = await until(agent, 'hello-b', ['healthy', 'failed']);
    expect(b.state, b.reason).toBe('healthy');
    expect((await agent.observe()).map((i) => i.id)).toEqual(['hello-b']);
    expect(runcIn(home, 'exec', 'hello-b', '/bin/busybox', 'cat', '/var/lib/hello/state').out).toBe(
      'kept\n',
    );
    // The fleet's limits are the instance's cgroup limits.
    const cg = (ctl: string, file: string) =>
      readFileSync(
        join('/sys/fs/cgroup', ctl, `ingot-test-${net.bridge}`, 'hello-b', file),
        'utf8',
      ).trim();
    expect(cg('memory', 'memory.limit_in_bytes')).toBe(String(64 * 1024 * 1024));
    expect(cg('pids', 'pids.max')).toBe('64');
    expect(cg('cpu', 'cpu.cfs_quota_us')).toBe('50000');
  }, 60_000);

  it('refuses to start what the policy refuses, and says why', async () => {
    await agent.apply([
      { id: 'hello-b', fleet: 'hello', artifact: signed },
      { id: 'hello-evil', fleet: 'hello', artifact: unsigned },
    ]);
    const evil = (await agent.observe()).find((i) => i.id === 'hello-evil')!;
    expect(evil.state).toBe('refused');
    expect(evil.reason).toContain('E_NO_ATTESTATION');
    expect(runcIn(home, 'list', '-q').out.split('\n').filter(Boolean)).toEqual(['hello-b']);
    // Names become folders: nothing may climb out of $INGOT_HOME, or start twice.
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'applied',
        (e: { code?: string }) => e.code,
      );
    const ok = { id: 'hello-b', fleet: 'hello', artifact: signed };
    expect(await code(agent.apply([ok, { ...ok, fleet: '../../etc' }]))).toBe('E_INSTANCE_ID');
    expect(await code(agent.apply([{ ...ok, fleet: '../../etc' }]))).toBe('E_FLEET_NAME');
    expect(await code(agent.apply([{ ...ok, id: '../x' }]))).toBe('E_INSTANCE_ID');
  }, 60_000);

  it('re-adopts running instances after a restart, and removes what it does not own', async () => {
    await agent.apply([
      { id: 'hello-b', fleet: 'hello', artifact: signed },
      { id: 'hello-c', fleet: 'hello', artifact: signed },
    ]);
    await until(agent, 'hello-c', ['starting', 'healthy']);
    const before = runcIn(home, 'state', 'hello-b').out;
    await agent.close();
    // hello-c is not in the record any more: a container the agent does not own. The record
    // is written back in an earlier version's form (state.json), which the agent migrates.
    const instances = new AgentStateFile(home)
      .load()
      .filter((i) => (i as { id: string }).id !== 'hello-c');
    rmSync(join(home, 'agent', 'state.journal'));
    writeFileSync(join(home, 'agent', 'state.json'), JSON.stringify({ version: 1, instances }));
    const again = await makeAgent(home, net, pub);
    const { adopted, removed } = await again.recover();
    expect(adopted).toEqual(['hello-b']);
    expect(removed).toEqual(['hello-c']);
    expect(runcIn(home, 'state', 'hello-b').out).toBe(before); // same pid, not restarted
    again.run(50);
    agent = again;
    const b = await until(agent, 'hello-b', ['healthy']);
    expect((await httpGet(b.address!, '/healthz')).status).toBe(200);
  }, 60_000);

  it('stops in the background, reporting "stopping", and starts a name again only once its stop ended', async () => {
    const d = { id: 'hello-d', fleet: 'hello', artifact: signed, stopGraceMs: 1500 };
    const e = { id: 'hello-e', fleet: 'hello', artifact: signed };
    await agent.apply([d]);
    const first = await until(agent, 'hello-d', ['healthy']);
    // busybox httpd as PID 1 ignores SIGTERM: the stop takes the fleet's grace (1.5 s).
    const began = Date.now();
    const after = await agent.apply([e], { settle: false });
    expect(Date.now() - began).toBeLessThan(1000); // not held up by the stop
    expect(after.find((i) => i.id === 'hello-d')?.state).toBe('stopping');
    // Wanted again at once: the same name waits for its old container to be gone.
    await agent.apply([d, e]);
    const again = await until(agent, 'hello-d', ['healthy']);
    expect(Date.now() - began).toBeGreaterThanOrEqual(1500);
    expect(again.startedAt! > first.startedAt!).toBe(true);
    expect(again.pid).not.toBe(first.pid);
    await until(agent, 'hello-e', ['healthy']);
  }, 60_000);

  it('stops (SIGTERM, then SIGKILL after the grace) and leaves nothing behind', async () => {
    await agent.apply([]);
    const ids = ['hello-a', 'hello-b', 'hello-c', 'hello-d', 'hello-e', 'hello-evil'];
    expect(hostResidue(home, net, ids)).toEqual({
      containers: [],
      netns: [],
      veths: [],
      addresses: [],
      mounts: [],
      iptables: [],
      userns: [],
      cgroups: [],
    });
    // No instance uses the artifact any more: its cached rootfs is collected.
    expect(readdirSync(join(home, 'rootfs'))).toEqual([]);
  }, 60_000);
});
