import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CniNetwork } from '../src/adapters/cni/cni.js';
import { removeNet, requireHost, type TestNet } from './helpers/agent.js';

/**
 * How long until the host reaches `address`: a TCP connect to a closed port is answered
 * with a reset by the namespace's own kernel, so no process is needed in it.
 */
function reach(address: string, budgetMs: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address, port: 1 });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${address} did not answer within ${budgetMs} ms`));
    }, budgetMs);
    const answered = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(performance.now() - started);
    };
    socket.once('connect', answered);
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') answered();
      else {
        clearTimeout(timer);
        reject(err);
      }
    });
  });
}

/**
 * host-local hands addresses out round robin, so a new instance gets an address an old one
 * had. The host's neighbour entry for it still names the old instance's MAC: until the
 * kernel gives up on it (5 s of DELAY, then unicast probes) the new instance is unreachable,
 * fails its first health checks, and a healthy release is rolled back (issue 15, item 2).
 */
describe('CniNetwork: an address handed out again', () => {
  beforeAll(requireHost);
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  /** A bridge with a /30 on it and a port that keeps its carrier up; the network on it. */
  const setUp = (): { net: TestNet; cni: CniNetwork; ip: (...args: string[]) => void } => {
    // A /30 has one address for an instance (the other is the gateway): every attach
    // reuses it. Random, so that parallel runs never share a bridge or a subnet.
    const n = Math.floor(Math.random() * 256);
    const m = 4 * Math.floor(Math.random() * 64);
    const net: TestNet = {
      bridge: `ingn${n}x${process.pid % 1000}`,
      subnet: `10.214.${n}.${m}/30`,
    };
    const home = mkdtempSync(join(tmpdir(), 'ingot-neigh-'));
    const cni = new CniNetwork({
      pluginDir: '/usr/lib/cni',
      bridge: net.bridge,
      subnet: net.subnet,
      stateDir: join(home, 'cni'),
      name: `ingot-${net.bridge}`,
    });
    cleanup.push(() => {
      removeNet(net);
      rmSync(home, { recursive: true, force: true });
    });
    cleanup.push(async () => {
      for (const id of ['nb-old', 'nb-new']) await cni.detach(id).catch(() => undefined);
    });
    const ip = (...args: string[]) => expect(spawnSync('ip', args).status).toBe(0);
    // Another port keeps the bridge's carrier up, as the host's other instances do: a bridge
    // that loses its last port flushes its neighbours, which would hide the fault.
    const keeper = `nbk${n}x${process.pid % 1000}`;
    ip('link', 'add', net.bridge, 'type', 'bridge');
    ip('link', 'add', keeper, 'type', 'veth', 'peer', 'name', `${keeper}p`);
    cleanup.push(() => void spawnSync('ip', ['link', 'delete', keeper]));
    ip('link', 'set', keeper, 'master', net.bridge, 'up');
    ip('link', 'set', `${keeper}p`, 'up');
    return { net, cni, ip };
  };

  it('is reachable at once by the new instance, though the host knew the old one', async () => {
    const { cni } = setUp();
    const old = await cni.attach('nb-old');
    // The host talks to the old instance: its neighbour entry now holds the old MAC.
    await reach(old.address, 3000);
    await cni.detach('nb-old');

    const fresh = await cni.attach('nb-new');
    expect(fresh.address).toBe(old.address);
    // Without the flush the host keeps sending to the old MAC for 5-10 s.
    expect(await reach(fresh.address, 3000)).toBeLessThan(500);
  });

  it('is reachable at once even when the entry outlived the release (STALE, as seen)', async () => {
    // An instance whose namespace went while the agent was down is released without its
    // address being known: the attach must not count on the release having forgotten it.
    const { net, cni, ip } = setUp();
    const old = await cni.attach('nb-old');
    await reach(old.address, 3000);
    const entry = spawnSync('ip', ['neigh', 'show', 'to', old.address, 'dev', net.bridge], {
      encoding: 'utf8',
    }).stdout;
    const mac = /lladdr (\S+)/.exec(entry)?.[1];
    expect(mac).toBeDefined();
    await cni.detach('nb-old');
    ip('neigh', 'replace', old.address, 'lladdr', mac!, 'dev', net.bridge, 'nud', 'stale');

    const fresh = await cni.attach('nb-new');
    expect(fresh.address).toBe(old.address);
    expect(await reach(fresh.address, 3000)).toBeLessThan(500);
  });
});
