import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentStateFile } from '../src/adapters/host-files/agent-state-file.js';
import { HomeVolumes } from '../src/adapters/host-files/host-volumes.js';
import { HomeInstanceFiles } from '../src/adapters/host-files/instance-files.js';
import { materialiseRootfs } from '../src/adapters/rootfs/materialise.js';
import { readUserDb } from '../src/adapters/rootfs/user-db.js';
import { makeTrust } from '../src/bin/agent.js';
import type { Digest } from '../src/domain/digest.js';
import type { Network } from '../src/ports/network.js';
import type { ContainerState, Runtime } from '../src/ports/runtime.js';
import { Agent } from '../src/services/agent/index.js';
import { buildWith, openStore } from './helpers/app.js';
import { unmountUnder } from './helpers/fs.js';
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
        prepare: () => Promise.resolve({ netns: '/run/netns/none', userns: null }),
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

/**
 * The agent shares one runtime list between the controller, the API and its own checks. A
 * list asked for before an instance started cannot show it: once that absence read as "its
 * process exited", and on a busy host a healthy new release was rolled back. No container
 * runs here: the runtime is a stand-in whose list answers when the test says.
 */
describe('a runtime list older than an instance', () => {
  let root: string;
  let home: string;
  let artifact: Digest;
  let pub: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'ingot-agent-list-'));
    home = join(root, 'home');
    const keys = join(root, 'keys');
    expect(ingot(['key', 'generate', '--out', keys, '--name', 'ci']).code).toBe(0);
    pub = join(keys, 'ci.pub');
    artifact = (await buildWith(home, HELLO, { keys: [join(keys, 'ci.key')] })).digest;
  }, 60_000);

  afterAll(() => {
    unmountUnder(root);
    rmSync(root, { recursive: true, force: true });
  });

  it('says nothing about it; a list asked for later does', async () => {
    const lists: ((states: ContainerState[]) => void)[] = [];
    const store = await openStore(home);
    const runtime = {
      create: () => Promise.resolve(4242),
      start: () => Promise.resolve(),
      kill: () => Promise.resolve(),
      delete: () => Promise.resolve(),
      state: () => Promise.resolve(null),
      list: () => new Promise<ContainerState[]>((resolve) => lists.push(resolve)),
      exitOf: () => null,
    } satisfies Runtime;
    const agent = new Agent({
      store,
      runtime,
      network: {
        prepare: () => Promise.resolve({ netns: '/run/netns/none', userns: null }),
        detach: () => Promise.resolve(),
        attach: () => Promise.resolve({ address: '10.0.0.2', netns: '/run/netns/none' }),
      } as unknown as Network,
      files: new HomeInstanceFiles(home),
      volumes: new HomeVolumes(home),
      state: new AgentStateFile(home),
      trust: makeTrust({ keyFiles: [pub] }),
      materialise: async (a, mountPoints) => {
        const made = await materialiseRootfs({
          cacheDir: join(home, 'rootfs'),
          storeRoot: store.root,
          image: a.digest,
          layers: a.manifest.layers,
          diffIds: a.config.rootfs.diff_ids,
          measurement: a.measurement,
          mountPoints,
        });
        return made;
      },
      readUserDb,
      probe: () => Promise.resolve('passed' as const),
      now: () => new Date(),
      cgroupParent: '/ingot-test-none',
    });
    // A check asks for the list, and the runtime is slow to answer it (a busy host)...
    const early = agent.observe();
    await new Promise((r) => setTimeout(r, 5));
    // ...while an instance starts.
    const [started] = await agent.apply([{ id: 'web-1', fleet: 'web', artifact }]);
    expect(started?.state, started?.reason).toBe('starting');
    lists.shift()!([]); // the early list, from before the start: no web-1 in it
    const seen = await early;
    expect(seen.find((i) => i.id === 'web-1')?.state).toBe('starting');

    // A list asked for after the start that does not show it: the process is gone.
    await new Promise((r) => setTimeout(r, 450)); // past the shared list's reuse
    const later = agent.observe();
    await new Promise((r) => setTimeout(r, 5));
    lists.shift()!([]);
    const after = await later;
    expect(after.find((i) => i.id === 'web-1')).toMatchObject({
      state: 'failed',
      reason: 'its process exited (status unknown)',
    });
    // Stopped like any other: its files (and the tmpfs its log lives on) go.
    const stopping = agent.apply([]);
    await new Promise((r) => setTimeout(r, 5));
    for (const answer of lists.splice(0)) answer([]);
    await stopping;
    await agent.close();
  });
});
