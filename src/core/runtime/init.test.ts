import { describe, expect, it } from 'vitest';
import { parseBaseline } from '../baseline/parse.js';
import { initFinding } from '../integrity/executables.js';
import { checkMounts, parseMountinfo } from '../integrity/mounts.js';
import { parseRuntimeContract } from './contract.js';
import { INIT_MOUNT_POINT, INIT_PATH } from './init.js';
import { buildRuntimeSpec, type InstanceSpecInput } from './oci-spec.js';

const base: InstanceSpecInput = {
  id: 'web-1',
  rootfs: '/var/lib/ingot/rootfs/abc',
  process: { args: ['/bin/httpd', '-f'], env: [], cwd: '/', uid: 65532, gid: 65532 },
  runtime: { tmpfs: [], volumes: [], capabilities: [], init: true },
  volumes: {},
  resources: {},
  netns: null,
  cgroupsPath: '/ingot/web-1',
};

describe('an init as PID 1', () => {
  it('runs the program behind the host’s init, mounted read-only but executable', () => {
    const spec = buildRuntimeSpec({ ...base, init: '/home/init/sha256-ab' });
    expect((spec['process'] as { args: string[] }).args).toEqual([
      INIT_PATH,
      '-g',
      '--',
      '/bin/httpd',
      '-f',
    ]);
    const mount = spec.mounts.find((m) => m.destination === INIT_MOUNT_POINT);
    expect(mount).toMatchObject({ type: 'bind', source: '/home/init/sha256-ab' });
    expect(mount!.options).toEqual(expect.arrayContaining(['ro', 'nosuid', 'nodev']));
    expect(mount!.options).not.toContain('noexec');
    expect(mount!.options).not.toContain('rw');
  });

  it('changes nothing for an instance without one', () => {
    const spec = buildRuntimeSpec(base);
    expect((spec['process'] as { args: string[] }).args).toEqual(['/bin/httpd', '-f']);
    expect(spec.mounts.map((m) => m.destination)).not.toContain(INIT_MOUNT_POINT);
  });

  it('passes the mount check with its mount as runc makes it, not once made writable', () => {
    const spec = buildRuntimeSpec({ ...base, init: '/home/init/sha256-ab' });
    const line = (dest: string, opts: string, fs: string) =>
      `1 0 8:1 / ${dest} ${opts} - ${fs} /dev/root rw`;
    const table = (init: string) =>
      parseMountinfo(
        [
          line('/', 'ro,nosuid', 'ext4'),
          line('/proc', 'rw,nosuid,nodev,noexec', 'proc'),
          line('/dev', 'rw,nosuid,noexec', 'tmpfs'),
          line('/dev/pts', 'rw,nosuid,noexec', 'devpts'),
          line('/dev/shm', 'rw,nosuid,nodev,noexec', 'tmpfs'),
          line('/dev/mqueue', 'rw,nosuid,nodev,noexec', 'mqueue'),
          line('/sys', 'ro,nosuid,nodev,noexec', 'sysfs'),
          line(INIT_MOUNT_POINT, init, 'ext4'),
        ].join('\n'),
      );
    expect(checkMounts(spec, table('ro,nosuid,nodev,relatime'))).toEqual([]);
    expect(checkMounts(spec, table('rw,nosuid,nodev,relatime'))).toEqual([
      { path: INIT_MOUNT_POINT, expected: 'ro', actual: 'rw' },
    ]);
    // Without an init, the same mount is one the config does not name.
    expect(checkMounts(buildRuntimeSpec(base), table('ro,nosuid,nodev'))).toContainEqual(
      expect.objectContaining({ path: INIT_MOUNT_POINT, expected: 'no mount' }),
    );
  });

  it('accepts at its path only the very file that was mounted and recorded', () => {
    const recorded = { dev: 8, ino: 42 };
    expect(initFinding(INIT_PATH, { deleted: false, file: recorded }, recorded)).toBeNull();
    expect(
      initFinding(INIT_PATH, { deleted: false, file: { dev: 8, ino: 43 } }, recorded),
    ).toMatchObject({ actual: 'another file (device 8, inode 43)' });
    expect(initFinding(INIT_PATH, { deleted: true, file: recorded }, recorded)).toMatchObject({
      actual: 'a deleted file',
    });
    expect(initFinding(INIT_PATH, { deleted: false, file: null }, recorded)).not.toBeNull();
  });

  it('is asked for in ingot.yaml, baked into the contract only when asked for', () => {
    const yaml = (runtime: string) =>
      `name: app\nversion: '1'\nconfig: { entrypoint: [/app] }\nruntime:\n${runtime}\n`;
    expect(parseBaseline(yaml('  init: true'), 'ingot.yaml').runtime.init).toBe(true);
    const without = parseBaseline(yaml('  tmpfs: [/tmp]'), 'ingot.yaml').runtime;
    expect('init' in without).toBe(false);
    expect(() => parseBaseline(yaml('  tmpfs: [/.ingot/x]'), 'ingot.yaml')).toThrow(/\/\.ingot/);
    expect(parseRuntimeContract('{"tmpfs":[],"volumes":[],"capabilities":[],"init":true}')).toEqual(
      { tmpfs: [], volumes: [], capabilities: [], init: true },
    );
    // An image may come from anyone: its contract may not cover the init's folder.
    expect(
      parseRuntimeContract('{"tmpfs":[{"path":"/.ingot"}],"volumes":[],"capabilities":[]}'),
    ).toBeNull();
  });
});
