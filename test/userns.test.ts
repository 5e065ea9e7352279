import { chownSync, lstatSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Digest } from '../src/domain/digest.js';
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

const HELLO = fileURLToPath(new URL('../examples/hello', import.meta.url));
const made: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'ingot-userns-'));
  made.push(d);
  return d;
};

async function until(
  agent: Agent,
  id: string,
  done: (i: ObservedInstance) => boolean,
  ms = 20_000,
): Promise<ObservedInstance> {
  const end = Date.now() + ms;
  for (;;) {
    const found = (await agent.observe()).find((i) => i.id === id);
    if (found && done(found)) return found;
    if (Date.now() > end) throw new Error(`${id}: ${JSON.stringify(found)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The host's view of a process: its uid_map and its real, effective, saved, fs uids. */
function hostView(pid: number): { uidMap: string[]; uids: number[]; gids: number[] } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const ids = (key: string) =>
    (new RegExp(`^${key}:\\s+(.*)$`, 'm').exec(status)?.[1] ?? '').split(/\s+/).map(Number);
  return {
    uidMap: readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split(/\s+/),
    uids: ids('Uid'),
    gids: ids('Gid'),
  };
}

/** The id range the home's agent keeps for `fleet`. */
function rangeOf(home: string, fleet: string): number {
  const slots = JSON.parse(readFileSync(join(home, 'agent', 'id-ranges.json'), 'utf8')) as Record<
    string,
    number
  >;
  return 100_000_000 + slots[fleet]! * 65_536;
}

// A build, two fleets and a restart on a busy shared machine: a minute or two.
describe('each fleet runs in a user namespace of its own', { timeout: 120_000 }, () => {
  let home: string;
  let net: TestNet;
  let signed: Digest;
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
    agent = await makeAgent(home, net, pub);
    agent.run(50);
    await agent.apply([
      { id: 'alpha-1', fleet: 'alpha', artifact: signed },
      { id: 'beta-1', fleet: 'beta', artifact: signed },
    ]);
    for (const id of ['alpha-1', 'beta-1']) {
      const i = await until(agent, id, (i) => i.state !== 'pending' && i.state !== 'starting');
      expect(i.state, i.reason).toBe('healthy');
    }
  }, 120_000);

  afterAll(async () => {
    await agent?.apply([]).catch(() => undefined);
    await agent?.close();
    if (net) removeNet(net);
    // The home's claims on host id ranges go with it (a claim of a missing home is stale).
    for (const d of made) rmSync(d, { recursive: true, force: true });
  });

  it('root inside is not root outside: uid_map, and the host ids of its processes', async () => {
    const base = rangeOf(home, 'alpha');
    expect(base).toBeGreaterThanOrEqual(100_000_000);
    const inside = runcIn(
      home,
      'exec',
      '--user',
      '0:0',
      'alpha-1',
      '/bin/busybox',
      'cat',
      '/proc/self/uid_map',
    );
    expect(inside.code, inside.out).toBe(0);
    expect(inside.out.trim().split(/\s+/)).toEqual(['0', String(base), '65536']);
    const idInside = runcIn(home, 'exec', '--user', '0:0', 'alpha-1', '/bin/busybox', 'id', '-u');
    expect(idInside.out.trim()).toBe('0');
    // Its init, as the host sees it: the image's user (65532) shifted, never 0.
    const pid = (await agent.observe()).find((i) => i.id === 'alpha-1')!.pid!;
    const view = hostView(pid);
    expect(view.uidMap).toEqual(['0', String(base), '65536']);
    expect(view.uids).toEqual([base + 65532, base + 65532, base + 65532, base + 65532]);
    expect(view.gids).toEqual([base + 65532, base + 65532, base + 65532, base + 65532]);
    // A process started in it as root (exec, as break-glass does) is root there, and so, by
    // the map above, the range's first id on the host.
    const shell = runcIn(
      home,
      'exec',
      '--user',
      '0:0',
      'alpha-1',
      '/bin/busybox',
      'sh',
      '-c',
      'cat /proc/self/status',
    );
    expect(shell.out).toMatch(/^Uid:\s+0\s+0\s+0\s+0$/m);
  });

  it('a file root writes into a volume is owned by the range on the host, not by host root', () => {
    const base = rangeOf(home, 'alpha');
    // Root with the capability to write where the image's user owns the folder: the
    // instance's own capabilities are none (the artifact declares none).
    const w = runcIn(
      home,
      'exec',
      '--user',
      '0:0',
      '--cap',
      'CAP_DAC_OVERRIDE',
      'alpha-1',
      '/bin/busybox',
      'sh',
      '-c',
      'echo by-root > /var/lib/hello/written && ls -ln /var/lib/hello/written',
    );
    expect(w.code, w.out).toBe(0);
    expect(w.out).toMatch(/ 0 +0 /); // root inside
    const st = statSync(join(home, 'volumes', 'alpha', 'data', 'written'));
    expect([st.uid, st.gid]).toEqual([base, base]);
    expect(st.uid).not.toBe(0);
    // The volume folder itself belongs to the image's user in the range.
    const dir = statSync(join(home, 'volumes', 'alpha', 'data'));
    expect([dir.uid, dir.gid]).toEqual([base + 65532, base + 65532]);
  });

  it('two fleets get disjoint ranges, and each its own rootfs, owned by its range', () => {
    const [a, b] = [rangeOf(home, 'alpha'), rangeOf(home, 'beta')];
    expect(a + 65_536 <= b || b + 65_536 <= a).toBe(true);
    const hex = signed.replace('sha256:', '');
    for (const [fleet, base] of [
      ['alpha', a],
      ['beta', b],
    ] as const) {
      const root = join(home, 'rootfs', `${hex}-u${base}`, 'rootfs');
      // /etc/passwd is root's in the image: the range's root on the host.
      const st = lstatSync(join(root, 'etc', 'passwd'));
      expect([st.uid, st.gid], fleet).toEqual([base, base]);
      // The gate: only the range's root group may pass (0710).
      const gate = statSync(join(root, '..'));
      expect([gate.mode & 0o777, gate.gid]).toEqual([0o710, base]);
    }
  });

  it('is measured with owners shifted: no drift at start or after a restart; a root-owned file is', async () => {
    // beta-1: nothing entered it, so its integrity speaks of its files and mounts alone
    // (device nodes runc binds from the host in a user namespace included).
    const b = await until(agent, 'beta-1', (i) => i.integrity === 'verified');
    expect(b.evidence ?? []).toEqual([]);
    // A restarted agent adopts it and verifies it in full against the shifted measurement.
    await agent.close();
    agent = await makeAgent(home, net, pub);
    const { adopted } = await agent.recover();
    expect(adopted.sort()).toEqual(['alpha-1', 'beta-1']);
    agent.run(50);
    const again = await until(agent, 'beta-1', (i) => i.integrity === 'verified');
    expect(again.state).toBe('healthy');
    expect(again.evidence ?? []).toEqual([]);
    // A file given to host root (its owner in the image, unshifted) is drift in this range.
    const root = join(
      home,
      'rootfs',
      `${signed.replace('sha256:', '')}-u${rangeOf(home, 'beta')}`,
      'rootfs',
    );
    chownSync(join(root, 'srv', 'www', 'index.html'), 0, 0);
    const tainted = await until(agent, 'beta-1', (i) => (i.evidence ?? []).length > 0);
    const found = (tainted.evidence ?? []).find((e) => e.path === '/srv/www/index.html');
    // Expected: the range's root; found: host root.
    expect(found?.expected).toContain(String(rangeOf(home, 'beta')));
    expect(found?.actual).toContain('0');
  });

  it('leaves no user namespace behind', async () => {
    await agent.apply([]);
    expect(hostResidue(home, net, ['alpha-1', 'beta-1'])).toMatchObject({
      containers: [],
      netns: [],
      userns: [],
      mounts: [],
    });
  });
});
