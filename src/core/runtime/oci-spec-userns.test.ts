import { describe, expect, it } from 'vitest';
import { checkMounts, parseMountinfo } from '../integrity/mounts.js';
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

  it('binds the host /sys read-only (a new sysfs is refused) and masks its cgroup tree', () => {
    const sys = spec.mounts.find((m) => m.destination === '/sys')!;
    expect(sys).toMatchObject({ type: 'bind', source: '/sys' });
    for (const flag of ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'])
      expect(sys.options).toContain(flag);
    expect(spec.linux.maskedPaths).toEqual([...MASKED_PATHS, '/sys/fs/cgroup']);
  });

  it('without a map: no user namespace, and the fresh sysfs as before', () => {
    const plain = buildRuntimeSpec(base) as unknown as Spec;
    expect(plain.linux.namespaces.map((n) => n.type)).not.toContain('user');
    expect(plain.linux.uidMappings).toBeUndefined();
    expect(plain.mounts.find((m) => m.destination === '/sys')).toMatchObject({ type: 'sysfs' });
    expect(plain.linux.maskedPaths).toEqual([...MASKED_PATHS]);
  });

  it('the mount check accepts what the /sys bind brings along, and nothing stacked elsewhere', () => {
    // As measured in an instance on this kind of host (cgroup v1 + unified, hybrid).
    const line = (n: number, at: string, opts: string, fs: string) =>
      `${n} 1 0:${n} / ${at} ${opts} - ${fs} ${fs} rw`;
    const table = parseMountinfo(
      [
        line(1, '/', 'ro,nosuid,nodev', 'ext4'),
        line(2, '/proc', 'rw,nosuid,nodev,noexec', 'proc'),
        line(3, '/dev', 'rw,nosuid,noexec', 'tmpfs'),
        line(4, '/dev/pts', 'rw,nosuid,noexec', 'devpts'),
        line(5, '/dev/shm', 'rw,nosuid,nodev,noexec', 'tmpfs'),
        line(6, '/dev/mqueue', 'rw,nosuid,nodev,noexec', 'mqueue'),
        line(7, '/sys', 'ro,nosuid,nodev,noexec', 'sysfs'),
        line(8, '/sys/fs/cgroup', 'rw', 'tmpfs'),
        line(9, '/sys/fs/cgroup/memory', 'rw', 'cgroup'),
        line(10, '/sys/kernel/security', 'rw,nosuid,nodev,noexec', 'securityfs'),
        line(11, '/data', 'rw,nosuid,nodev,noexec', 'ext4'),
        line(12, '/sys/fs/cgroup', 'ro', 'tmpfs'),
        line(13, '/sys/firmware', 'ro', 'tmpfs'),
      ].join('\n'),
    );
    expect(checkMounts(spec as never, table)).toEqual([]);
    // A mount stacked over a volume is still found: only /sys brings submounts along.
    const stacked = parseMountinfo(line(14, '/data/x', 'rw', 'tmpfs'));
    expect(checkMounts(spec as never, [...table, ...stacked])).toEqual([
      { path: '/data/x', expected: 'no mount', actual: 'tmpfs mounted' },
    ]);
  });
});
