import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAgent, type AgentOptions } from '../../src/bin/agent.js';
import type { Agent } from '../../src/services/agent/index.js';

/** What the agent tests need on the host; missing pieces fail loudly, never skip. */
export function requireHost(): void {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (the agent creates namespaces and mounts)');
  for (const tool of ['runc', 'ip'])
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) missing.push(tool);
  for (const plugin of ['bridge', 'host-local', 'loopback'])
    if (!existsSync(join('/usr/lib/cni', plugin))) missing.push(`/usr/lib/cni/${plugin}`);
  if (missing.length > 0)
    throw new Error(`agent tests need ${missing.join(', ')}: run ./scripts/setup as root`);
}

export interface TestNet {
  readonly bridge: string;
  readonly subnet: string;
}

/** A bridge and subnet of the test's own, so that parallel runs never meet. */
export function testNet(): TestNet {
  // Reserved, not only drawn: two test files running at once once drew the same /24, and a
  // request to one's instance reached the other's (a 1-in-250 chance per pair, met in CI).
  mkdirSync(NET_MARKS, { recursive: true });
  for (let tries = 0; tries < 1000; tries += 1) {
    // 1-240: the /24s above are for tests with a fixed subnet (cni-release: 10.213.250.0/31).
    const n = 1 + Math.floor(Math.random() * 240);
    const mark = join(NET_MARKS, String(n));
    try {
      writeFileSync(mark, String(process.pid), { flag: 'wx' });
    } catch {
      // Held. By a test that ended without removeNet (its process gone): free it for a
      // later draw; a mark still being written (empty) counts as held.
      const holder = Number(readFileSync(mark, 'utf8'));
      if (holder > 0 && !alive(holder)) rmSync(mark, { force: true });
      continue;
    }
    return { bridge: `ingt${n}x${process.pid % 1000}`, subnet: `10.213.${n}.0/24` };
  }
  throw new Error(`no free test subnet: 10.213.1-240.0/24 are all held (${NET_MARKS})`);
}

/** Which 10.213.N.0/24 are taken by running tests: one file per N, holding its pid. */
const NET_MARKS = '/run/ingot/test-nets';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function makeAgent(
  home: string,
  net: TestNet,
  keyFile: string,
  more: Partial<AgentOptions> = {},
): Promise<Agent> {
  return createAgent({
    home,
    keyFiles: [keyFile],
    bridge: net.bridge,
    subnet: net.subnet,
    cgroupParent: `/ingot-test-${net.bridge}`,
    stopGraceMs: 2000,
    logMaxBytes: 4096,
    ...more,
  });
}

export function runcIn(home: string, ...args: string[]): { code: number; out: string } {
  const r = spawnSync('runc', ['--root', join(home, 'runc'), ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** Everything an instance could leave behind on the host, for before/after comparison. */
export function hostResidue(
  home: string,
  net: TestNet,
  ids: readonly string[] = [],
): Record<string, string[]> {
  // The agent names namespaces after a digest of its IPAM folder (cni.ts).
  const scope = createHash('sha256').update(join(home, 'cni')).digest('hex').slice(0, 8);
  const sh = (cmd: string) => execFileSync('sh', ['-c', cmd], { encoding: 'utf8' }).trim();
  const ipam = join('/run/ingot/ipam', `ingot-${net.bridge}`);
  return {
    containers: runcIn(home, 'list', '-q').out.split('\n').filter(Boolean),
    // Every namespace of this home (its scope), not only those of the instances the test
    // listed: one the agent made for an instance nobody knew of is residue too. Other tests
    // on the machine have homes, so scopes, of their own.
    netns: sh('ip netns list || true')
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter((n) => n.startsWith(`ingot-${scope}-`)),
    veths: sh(`ip -o link show master ${net.bridge} 2>/dev/null || true`)
      .split('\n')
      .filter(Boolean),
    addresses: existsSync(ipam)
      ? sh(`ls ${ipam}`)
          .split('\n')
          .filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f))
      : [],
    mounts: readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.includes(home)),
    iptables: sh(
      `(iptables-save 2>/dev/null; ip6tables-save 2>/dev/null) | grep -F -- '${net.bridge}' || true`,
    )
      .split('\n')
      .filter(Boolean),
    // The user namespaces the instances' network namespaces were made in (cni/user-netns.ts).
    userns: ids.map((id) => `/run/ingot/user-ns/ingot-${scope}-${id}`).filter((f) => existsSync(f)),
    cgroups: sh(
      `find /sys/fs/cgroup/*/ingot-test-${net.bridge} -mindepth 1 -maxdepth 1 -type d 2>/dev/null || true`,
    )
      .split('\n')
      .filter(Boolean),
  };
}

/**
 * The rootfs folder the agent of `home` runs `artifact` from: one per artifact and id range
 * ("<hex>-u<host id>", instances in user namespaces), or "<hex>" without them.
 */
export function rootfsOf(home: string, artifact: string): string {
  const hex = artifact.replace('sha256:', '');
  const name = readdirSync(join(home, 'rootfs')).find(
    (n) => n === hex || new RegExp(`^${hex}-u\\d+$`).test(n),
  );
  return join(home, 'rootfs', name ?? hex, 'rootfs');
}

/** Remove the test's bridge, its lock file and its (empty) parent cgroups. */
export function removeNet(net: TestNet): void {
  spawnSync('ip', ['link', 'delete', net.bridge]);
  const mark = join(NET_MARKS, net.subnet.split('.')[2] ?? '');
  if (existsSync(mark) && readFileSync(mark, 'utf8') === String(process.pid))
    rmSync(mark, { force: true });
  rmSync(`/run/ingot/cni-${net.bridge}.lock`, { force: true });
  rmSync(`/run/ingot/ipam/ingot-${net.bridge}`, { recursive: true, force: true });
  spawnSync('sh', ['-c', `rmdir /sys/fs/cgroup/*/ingot-test-${net.bridge} 2>/dev/null || true`]);
}

/** `ingot up --detach` on the test's own bridge, subnet and cgroup, with a short stop grace. */
export function upArgs(net: TestNet): string[] {
  return [
    'up',
    '--detach',
    '--bridge',
    net.bridge,
    '--subnet',
    net.subnet,
    '--cgroup-parent',
    `/ingot-test-${net.bridge}`,
    '--stop-grace',
    '1',
  ];
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
