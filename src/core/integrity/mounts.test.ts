import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkMounts, compareMounts, parseMountinfo, type ExpectedMounts } from './mounts.js';

const expected: ExpectedMounts = {
  root: { readonly: true },
  mounts: [
    { destination: '/proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', options: ['nosuid', 'strictatime', 'mode=755'] },
    { destination: '/tmp', options: ['nosuid', 'nodev', 'noexec', 'mode=1777'] },
    { destination: '/data', options: ['rbind', 'rw', 'nosuid', 'nodev', 'noexec'] },
  ],
  linux: { maskedPaths: ['/proc/kcore', '/sys/firmware'], readonlyPaths: ['/proc/sys'] },
};

/** As runc leaves it (trimmed): root ro, its mounts, masks and read-only kernel paths. */
const HEALTHY = [
  '600 560 8:1 /work/.ingot/rootfs/ab/rootfs / ro,relatime - ext4 /dev/sda1 rw',
  '601 600 0:70 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw',
  '602 600 0:71 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755',
  '603 600 0:72 / /tmp rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,size=65536k,mode=1777',
  '604 600 8:1 /work/.ingot/volumes/web/data /data rw,nosuid,nodev,noexec,relatime - ext4 /dev/sda1 rw',
  '605 601 0:71 /null /proc/kcore rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755',
  '606 601 0:70 /sys /proc/sys ro,nosuid,nodev,noexec,relatime - proc proc rw',
].join('\n');

describe('mount table check', () => {
  it('finds nothing wrong with the table runc made from the config', () => {
    expect(checkMounts(expected, parseMountinfo(HEALTHY))).toEqual([]);
  });

  it('in a user namespace, allows the device nodes runc binds from the host, once each', () => {
    const devices = [
      '610 602 0:5 /null /dev/null rw,nosuid,noexec,relatime - devtmpfs udev rw',
      '611 602 0:5 /tty /dev/tty rw,nosuid,noexec,relatime - devtmpfs udev rw',
    ];
    const table = parseMountinfo([HEALTHY, ...devices].join('\n'));
    const userns = { ...expected, linux: { ...expected.linux, uidMappings: [{}] } };
    expect(checkMounts(userns, table)).toEqual([]);
    // Without a user namespace runc makes device nodes: a mount there is something else.
    expect(checkMounts(expected, table).map((d) => d.path)).toEqual(['/dev/null', '/dev/tty']);
    // And twice is still stacked, user namespace or not.
    const twice = parseMountinfo([HEALTHY, ...devices, devices[0]!].join('\n'));
    expect(checkMounts(userns, twice)).toEqual([
      { path: '/dev/null', expected: 'mounted once', actual: 'mounted 2 times' },
    ]);
  });

  it('catches a root remounted read-write', () => {
    const t = HEALTHY.replace(' / ro,relatime', ' / rw,relatime');
    expect(checkMounts(expected, parseMountinfo(t))).toEqual([
      { path: '/', expected: 'ro', actual: 'rw' },
    ]);
  });

  it('catches a tmpfs that lost noexec, and a read-only kernel path made writable', () => {
    const t = HEALTHY.replace('/tmp rw,nosuid,nodev,noexec', '/tmp rw,nosuid,nodev').replace(
      '/proc/sys ro,',
      '/proc/sys rw,',
    );
    expect(checkMounts(expected, parseMountinfo(t))).toEqual([
      { path: '/tmp', expected: 'noexec', actual: 'without noexec' },
      { path: '/proc/sys', expected: 'ro', actual: 'rw' },
    ]);
  });

  it('catches a bind mount over a measured path, a stacked mount, and a missing one', () => {
    const t = [
      ...HEALTHY.split('\n').filter((l) => !l.includes(' /data ')),
      '700 600 8:1 /root/evil /bin/busybox rw,relatime - ext4 /dev/sda1 rw',
      '701 603 0:80 / /tmp rw,nosuid,nodev,noexec - tmpfs tmpfs rw',
    ].join('\n');
    expect(checkMounts(expected, parseMountinfo(t))).toEqual([
      { path: '/bin/busybox', expected: 'no mount', actual: 'ext4 mounted' },
      { path: '/tmp', expected: 'mounted once', actual: 'mounted 2 times' },
      { path: '/data', expected: 'mounted', actual: 'not mounted' },
    ]);
  });

  it('reads the octal escapes of any path back exactly', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), (name) => {
        const path = `/${name.replace(/\0/g, '')}`;
        const escaped = path.replace(
          /[ \t\n\\]/g,
          (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`,
        );
        const [entry] = parseMountinfo(`1 0 0:1 / ${escaped} rw - tmpfs tmpfs rw\n`);
        expect(entry?.mountPoint).toBe(path);
      }),
    );
  });

  it('refuses a line it cannot read rather than guessing', () => {
    expect(() => parseMountinfo('1 0 0:1 / /x rw tmpfs\n')).toThrow(/unreadable mountinfo/);
  });
});

describe('mount table against the one at start', () => {
  it('catches a mask or read-only kernel path lifted, and a mount whose flags changed', () => {
    const start = parseMountinfo(HEALTHY);
    expect(compareMounts(start, parseMountinfo(HEALTHY))).toEqual([]);
    const unmasked = HEALTHY.split('\n')
      .filter((l) => !l.includes('/proc/kcore'))
      .join('\n');
    expect(compareMounts(start, parseMountinfo(unmasked))).toEqual([
      expect.objectContaining({ path: '/proc/kcore', actual: 'changed or gone' }),
    ]);
    const rw = HEALTHY.replace('/proc/sys ro,', '/proc/sys rw,');
    expect(compareMounts(start, parseMountinfo(rw)).map((d) => d.path)).toEqual([
      '/proc/sys',
      '/proc/sys',
    ]);
  });
});
