import { describe, expect, it } from 'vitest';
import { buildRuntimeSpec, MASKED_PATHS, type InstanceSpecInput } from './oci-spec.js';

const base: InstanceSpecInput = {
  id: 'web-1',
  rootfs: '/h/rootfs/abc-100000000/rootfs',
  process: { args: ['/bin/app'], env: [], cwd: '/', uid: 1000, gid: 1000 },
  runtime: { tmpfs: [], volumes: [{ name: 'data', path: '/data' }], capabilities: [] },
  volumes: { data: '/h/volumes/web/data' },
  resources: {},
  netns: '/run/netns/web-1',
  cgroupsPath: '/ingot/x/web-1',
};

interface Spec {
  process: { user: { uid: number; gid: number } };
  mounts: { destination: string; type: string; source: string; options: string[] }[];
  linux: {
    namespaces: { type: string; path?: string }[];
    uidMappings?: unknown;
    gidMappings?: unknown;
    maskedPaths: string[];
  };
}

describe('the runtime config of an instance in its own user namespace', () => {
  const spec = buildRuntimeSpec({
    ...base,
    idMap: { hostId: 100_000_000, size: 65_536 },
  }) as unknown as Spec;

  it('asks for a user namespace whose root is the range start on the host', () => {
    expect(spec.linux.namespaces.map((n) => n.type)).toContain('user');
    const one = [{ containerID: 0, hostID: 100_000_000, size: 65_536 }];
    expect(spec.linux.uidMappings).toEqual(one);
    expect(spec.linux.gidMappings).toEqual(one);
    // The process keeps its ids inside: the image's user is an in-container id.
    expect(spec.process.user).toEqual({ uid: 1000, gid: 1000 });
    // Still the netns CNI made: the userns does not take the network away.
    expect(spec.linux.namespaces).toContainEqual({ type: 'network', path: '/run/netns/web-1' });
  });

  it('joins the user namespace its network namespace was made in, when there is one', () => {
    const joined = buildRuntimeSpec({
      ...base,
      idMap: { hostId: 100_000_000, size: 65_536 },
      usernsPath: '/run/ingot/user-ns/x',
    }) as unknown as Spec;
    expect(joined.linux.namespaces).toContainEqual({ type: 'user', path: '/run/ingot/user-ns/x' });
    // runc 1.1 wants the mappings even then (for the ids of what it makes, /dev and all).
    expect(joined.linux.uidMappings).toEqual(spec.linux.uidMappings);
    // Its own sysfs: the namespace owns its network, so the kernel allows it.
    expect(joined.mounts.find((m) => m.destination === '/sys')).toMatchObject({ type: 'sysfs' });
  });

  it('without a map: no user namespace, and the fresh sysfs as before', () => {
    const plain = buildRuntimeSpec(base) as unknown as Spec;
    expect(plain.linux.namespaces.map((n) => n.type)).not.toContain('user');
    expect(plain.linux.uidMappings).toBeUndefined();
    expect(plain.linux.maskedPaths).toEqual([...MASKED_PATHS]);
  });
});
