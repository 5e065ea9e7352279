import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { executableMappings, foreignProcesses, type ProcessView } from './processes.js';

const p = (pid: number, ppid: number, pidNs = 'c', mntNs = 'c'): ProcessView => ({
  pid,
  ppid,
  pidNs,
  mntNs,
});

describe('foreign processes', () => {
  it("reports what entered the instance's namespaces from outside, not what its init started", () => {
    const init = p(100, 90);
    const host = [p(1, 0, 'h', 'h'), p(90, 1, 'h', 'h'), p(300, 1, 'h', 'h')];
    const children = [p(101, 100), p(102, 101)];
    const exec = p(200, 300); // runc exec: its parent is on the host
    const nsenter = p(201, 300, 'h', 'c'); // nsenter -m: only the mount namespace
    expect(
      foreignProcesses(init, [...host, init, ...children, exec, nsenter]).map((x) => x.pid),
    ).toEqual([200, 201]);
  });

  it('never reports a descendant of init, nor a process in neither namespace', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ parent: fc.nat(), inside: fc.boolean(), mnt: fc.boolean() }), {
          maxLength: 30,
        }),
        (shape) => {
          const init = p(1000, 1);
          const all: ProcessView[] = [p(1, 0, 'h', 'h'), init];
          shape.forEach((s, n) => {
            const parent = all[s.parent % all.length]!.pid;
            all.push(p(1001 + n, parent, s.inside ? 'c' : 'h', s.inside || s.mnt ? 'c' : 'h'));
          });
          const foreign = new Set(foreignProcesses(init, all).map((x) => x.pid));
          const parents = new Map(all.map((x) => [x.pid, x.ppid]));
          for (const x of all) {
            let q = x.ppid;
            let descends = false;
            while (q > 1) {
              if (q === init.pid) descends = true;
              q = parents.get(q) ?? 0;
            }
            const shares = x.pidNs === 'c' || x.mntNs === 'c';
            expect(foreign.has(x.pid)).toBe(shares && !descends && x.pid !== init.pid);
          }
        },
      ),
    );
  });
});

describe('executable mappings', () => {
  it('lists each executable file once, marks deleted ones, skips data and pseudo-mappings', () => {
    const maps = [
      '00400000-00401000 r--p 00000000 08:01 1234    /bin/busybox',
      '00401000-004a0000 r-xp 00001000 08:01 1234    /bin/busybox',
      '7f0000000000-7f0000001000 r-xp 00000000 00:20 99    /tmp/x (deleted)',
      '7f0000002000-7f0000003000 rw-p 00000000 00:20 98    /data/db',
      '7ffd000-7ffe000 r-xp 00000000 00:00 0    [vdso]',
      '7ffe000-7fff000 rw-p 00000000 00:00 0 ',
    ].join('\n');
    expect(executableMappings(maps)).toEqual([
      { range: '00401000-004a0000', path: '/bin/busybox', deleted: false },
      { range: '7f0000000000-7f0000001000', path: '/tmp/x', deleted: true },
    ]);
  });
});
