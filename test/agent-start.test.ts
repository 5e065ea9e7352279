import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentStateFile } from '../src/adapters/host-files/agent-state-file.js';
import { HomeVolumes } from '../src/adapters/host-files/host-volumes.js';
import { HomeInstanceFiles } from '../src/adapters/host-files/instance-files.js';
import { readUserDb } from '../src/adapters/rootfs/user-db.js';
import { makeTrust } from '../src/bin/agent.js';
import type { Digest } from '../src/domain/digest.js';
import type { Network } from '../src/ports/network.js';
import type { Runtime } from '../src/ports/runtime.js';
import { Agent } from '../src/services/agent/index.js';
import { buildWith, openStore } from './helpers/app.js';
import { ingot } from './helpers/cli.js';

const HELLO = fileURLToPath(new URL('../examples/hello', import.meta.url));

/**
 * A start that fails once the rootfs is claimed must give the claim back: a watch left on
 * a folder no instance uses reports drift when the folder is collected, and every later
 * start of the artifact on that host is refused. No container runs here: the start fails
 * before one would be created, so the host's runtime and network are never reached.
 */
describe('a start whose rootfs drifted while cached', () => {
  let root: string;
  let home: string;
  let artifact: Digest;
  let pub: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'ingot-agent-start-'));
    home = join(root, 'home');
    const keys = join(root, 'keys');
    expect(ingot(['key', 'generate', '--out', keys, '--name', 'ci']).code).toBe(0);
    pub = join(keys, 'ci.pub');
    artifact = (await buildWith(home, HELLO, { keys: [join(keys, 'ci.key')] })).digest;
  }, 60_000);

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('fails with the drift, and leaves no watch behind', async () => {
    const rootfs = join(root, 'cached-rootfs');
    mkdirSync(rootfs);
    const watches = { opened: 0, closed: 0 };
    const unreachable = () => Promise.reject(new Error('not reached in this test'));
    const agent = new Agent({
      store: await openStore(home),
      runtime: { delete: () => Promise.resolve() } as unknown as Runtime,
      network: {
        prepare: () => Promise.resolve('/run/netns/none'),
        detach: () => Promise.resolve(),
        attach: unreachable,
      } as unknown as Network,
      files: new HomeInstanceFiles(home),
      volumes: new HomeVolumes(home),
      state: new AgentStateFile(home),
      trust: makeTrust({ keyFiles: [pub] }),
      // Made by an earlier start: verified in full before anything runs from it.
      materialise: () => Promise.resolve({ rootfs, reused: true, mountPoints: [] }),
      readUserDb,
      probe: () => Promise.resolve('passed' as const),
      now: () => new Date(),
      cgroupParent: '/ingot-test-none',
      integrity: {
        watch: () => {
          watches.opened++;
          return { close: () => void watches.closed++ };
        },
        observe: () => null,
        // What a full verification of the tampered folder finds.
        verifyTree: () =>
          Promise.resolve([
            { kind: 'changed', path: '/bin/busybox', field: 'sha256', expected: 'a', actual: 'b' },
          ]),
        processes: () => [],
        // Never reached: the start fails before anything runs.
        processEvents: { subscribe: () => ({ close: () => undefined }) },
        identity: () => null,
        mountinfo: () => null,
        maps: () => null,
        executable: () => null,
        mappedFile: () => null,
        fileId: () => null,
      },
    });
    const [started] = await agent.apply([{ id: 'web-1', fleet: 'web', artifact }]);
    expect(started?.state).toBe('failed');
    expect(started?.reason).toMatch(/E_ROOTFS_DRIFT/);
    expect(watches.opened).toBe(1);
    expect(watches.closed).toBe(1);
    await agent.close();
  });
});
