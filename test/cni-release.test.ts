import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
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

  const network = (subnet?: string): { net: TestNet; cni: CniNetwork } => {
    const net = { ...testNet(), ...(subnet && { subnet }) };
    const home = mkdtempSync(join(tmpdir(), 'ingot-cni-'));
    cleanup.push(() => {
      removeNet(net);
      rmSync(home, { recursive: true, force: true });
    });
    const cni = new CniNetwork({
      pluginDir: '/usr/lib/cni',
      bridge: net.bridge,
      subnet: net.subnet,
      ipamDir: join(home, 'cni'),
      name: `ingot-${net.bridge}`,
    });
    return { net, cni };
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

  it('keeps a bridge that was there before (another tool may own it)', async () => {
    const { net, cni } = network();
    expect(spawnSync('ip', ['link', 'add', 'name', net.bridge, 'type', 'bridge']).status).toBe(0);
    await cni.attach('rel-c');
    await cni.detach('rel-c');
    await cni.release();
    expect(bridgeExists(net)).toBe(true);
  });
});
