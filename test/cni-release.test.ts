import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CniNetwork } from '../src/adapters/cni/cni.js';
import { removeNet, requireHost, testNet, type TestNet } from './helpers/agent.js';

/**
 * `ingot down --stop-instances` releases the network: the bridge goes, but only one this
 * home created, and only once no instance is on it. Real CNI plugins and namespaces; no
 * container is needed to attach one.
 */
describe('CniNetwork.release', () => {
  beforeAll(requireHost);
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  /** A home's network on the test's bridge (another home's, given the same `net`). */
  const network = (
    subnet?: string,
    shared?: TestNet,
  ): { net: TestNet; cni: CniNetwork; stateDir: string } => {
    const net = shared ?? { ...testNet(), ...(subnet && { subnet }) };
    const home = mkdtempSync(join(tmpdir(), 'ingot-cni-'));
    cleanup.push(() => {
      if (!shared) removeNet(net);
      rmSync(home, { recursive: true, force: true });
    });
    const stateDir = join(home, 'cni');
    const cni = new CniNetwork({
      pluginDir: '/usr/lib/cni',
      bridge: net.bridge,
      subnet: net.subnet,
      stateDir,
      name: `ingot-${net.bridge}`,
    });
    return { net, cni, stateDir };
  };
  const bridgeExists = (net: TestNet) => existsSync(join('/sys/class/net', net.bridge));

  it('removes the bridge it created once its last instance left, not before', async () => {
    const { net, cni } = network();
    const ids = ['rel-a', 'rel-b'];
    cleanup.push(async () => {
      for (const id of ids) await cni.detach(id).catch(() => undefined);
    });
    for (const id of ids) await cni.attach(id);
    expect(bridgeExists(net)).toBe(true);
    await cni.detach('rel-a');
    await cni.release();
    expect(bridgeExists(net)).toBe(true); // rel-b is still on it
    await cni.detach('rel-b');
    await cni.release();
    expect(bridgeExists(net)).toBe(false);
    await cni.release(); // nothing left to do
  });

  it('removes the bridge it created even when the first attach failed', async () => {
    // host-local cannot give an address out of a /31: the plugin made the bridge first.
    const { net, cni } = network('10.213.250.0/31');
    await expect(cni.attach('rel-d')).rejects.toThrow();
    expect(bridgeExists(net)).toBe(true);
    await cni.release();
    expect(bridgeExists(net)).toBe(false);
  });

  it('keeps a bridge of the same name that someone else made after ours', async () => {
    const { net, cni } = network();
    await cni.attach('rel-e');
    await cni.detach('rel-e');
    expect(spawnSync('ip', ['link', 'delete', net.bridge]).status).toBe(0);
    expect(spawnSync('ip', ['link', 'add', 'name', net.bridge, 'type', 'bridge']).status).toBe(0);
    await cni.release();
    expect(bridgeExists(net)).toBe(true);
  });

  it('gives two homes on one bridge different addresses, and keeps it while either uses it', async () => {
    const { net, cni: first } = network();
    const { cni: second } = network(undefined, net);
    const ids = ['home-a', 'home-b'];
    cleanup.push(async () => {
      await first.detach(ids[0]!).catch(() => undefined);
      await second.detach(ids[1]!).catch(() => undefined);
    });
    const a = await first.attach(ids[0]!);
    const b = await second.attach(ids[1]!);
    expect(a.address).not.toBe(b.address);
    await first.detach(ids[0]!);
    await first.release();
    expect(bridgeExists(net)).toBe(true); // the other home's instance is on it
    await second.detach(ids[1]!);
    await first.release();
    expect(bridgeExists(net)).toBe(false);
  });

  it("never hands out an address this home's own IPAM folder gave a running instance", async () => {
    // Ingot before the shared folder kept allocations under the home: carried over.
    const { net, cni, stateDir } = network();
    const gateway = net.subnet.replace(/0\/24$/, '1');
    const taken = net.subnet.replace(/0\/24$/, '2');
    mkdirSync(join(stateDir, `ingot-${net.bridge}`), { recursive: true });
    writeFileSync(join(stateDir, `ingot-${net.bridge}`, taken), 'still-running\neth0');
    cleanup.push(() => cni.detach('rel-f').catch(() => undefined));
    const { address } = await cni.attach('rel-f');
    expect([gateway, taken]).not.toContain(address);
    await cni.detach('rel-f');
  });

  it('keeps a bridge that was there before (another tool may own it)', async () => {
    const { net, cni } = network();
    expect(spawnSync('ip', ['link', 'add', 'name', net.bridge, 'type', 'bridge']).status).toBe(0);
    await cni.attach('rel-c');
    await cni.detach('rel-c');
    await cni.release();
    expect(bridgeExists(net)).toBe(true);
  });
});
