import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cgroupPaths,
  enteredInstance,
  parseEventLine,
  type InstanceIdentity,
  type ProcessEvent,
} from './process-events.js';

const HOST = { pidNs: 'pid:[4026531836]', mntNs: 'mnt:[4026531832]', netNs: 'net:[4026531833]' };
const CGROUP_HOST = '4:memory:/process_api/d1\n3:cpuset:/\n0::/\n';
const CGROUP_WEB = '4:memory:/ingot/ab/web-1\n3:cpuset:/ingot/ab/web-1\n0::/ingot/ab/web-1\n';

/** An instance as runc made one on this host (namespaces as read from /proc). */
const WEB: InstanceIdentity = {
  id: 'web-1',
  pid: 19769,
  pidNs: 'pid:[4026532176]',
  mntNs: 'mnt:[4026532173]',
  netNs: 'net:[4026532177]',
  cgroups: ['/ingot/ab/web-1'],
};
const OTHER: InstanceIdentity = {
  id: 'api-1',
  pid: 500,
  pidNs: 'pid:[9]',
  mntNs: 'mnt:[9]',
  netNs: 'net:[9]',
  cgroups: ['/ingot/ab/api-1'],
};

const base: ProcessEvent = {
  kind: 'exec',
  pid: 27939,
  ppid: 27922,
  pidNs: WEB.pidNs,
  mntNs: WEB.mntNs,
  netNs: WEB.netNs,
  parentPidNs: HOST.pidNs,
  exe: '/bin/busybox',
  comm: 'busybox',
  cgroup: CGROUP_WEB,
};
const ev = (over: Partial<ProcessEvent>): ProcessEvent => ({ ...base, ...over });

describe('parseEventLine', () => {
  it('reads the lines the helper writes (as captured from a real `runc exec`)', () => {
    const line =
      '{"kind": "fork", "pid": 27939, "ppid": 27922, "ts": 12043534333867, "pidNs": "pid:[4026532176]", "mntNs": "mnt:[4026532173]", "netNs": "net:[4026532177]", "parentPidNs": "pid:[4026531836]", "exe": "/", "comm": "runc:[1:CHILD]", "cgroup": "0::/\\n"}';
    expect(parseEventLine(line)).toEqual({
      type: 'process',
      event: {
        kind: 'fork',
        pid: 27939,
        ppid: 27922,
        pidNs: 'pid:[4026532176]',
        mntNs: 'mnt:[4026532173]',
        netNs: 'net:[4026532177]',
        parentPidNs: 'pid:[4026531836]',
        exe: '/',
        comm: 'runc:[1:CHILD]',
        cgroup: '0::/\n',
        ts: 12043534333867,
      },
    });
    expect(parseEventLine('{"ready": true, "pid": 4}')).toEqual({ type: 'ready', pid: 4 });
    expect(parseEventLine('{"lost": true}')).toEqual({ type: 'lost' });
    expect(parseEventLine('{"error": "EPERM"}')).toEqual({ type: 'error', message: 'EPERM' });
  });

  it('keeps a hostile program name as data (an escaped newline is not a second line)', () => {
    const line = JSON.stringify({ ...base, exe: '/tmp/x\n{"lost": true}' });
    const m = parseEventLine(line);
    expect(m).toMatchObject({ type: 'process', event: { exe: '/tmp/x\n{"lost": true}' } });
  });

  it('refuses anything else', () => {
    for (const bad of [
      '',
      'not json',
      '[]',
      'null',
      '{"kind": "exit", "pid": 1, "ppid": 0, "pidNs": "a", "mntNs": "b"}',
      JSON.stringify({ ...base, pid: -1 }),
      JSON.stringify({ ...base, pid: 1.5 }),
      JSON.stringify({ ...base, ppid: '1' }),
      JSON.stringify({ ...base, pidNs: null }),
      JSON.stringify({ ...base, mntNs: 'x'.repeat(9000) }),
      '{"ready": "yes"}',
    ])
      expect(parseEventLine(bad), bad).toBeNull();
    // Optional facts that are not strings are simply unknown.
    const m = parseEventLine(JSON.stringify({ ...base, exe: 5, cgroup: {} }));
    expect(m).toMatchObject({ event: { exe: null, cgroup: null } });
  });
});

describe('cgroupPaths', () => {
  it('takes each hierarchy path of /proc/PID/cgroup, leaving the root out', () => {
    expect(cgroupPaths(CGROUP_WEB)).toEqual(['/ingot/ab/web-1']);
    expect(cgroupPaths('9:name=systemd:/\n0::/\n')).toEqual([]);
    expect(cgroupPaths('garbage\n1:cpu:relative\n2:cpu:/a:b\n')).toEqual(['/a:b']);
  });
});

describe('enteredInstance', () => {
  const both = [OTHER, WEB];

  it('`runc exec`: runc init forked into the PID namespace from the host, then the command', () => {
    // Its first child joins the mount namespace but stays in the host's PID namespace:
    // a fork is matched by PID namespace only (runc create makes the same one).
    const stage1 = ev({
      kind: 'fork',
      pid: 27938,
      pidNs: HOST.pidNs,
      exe: '/',
      comm: 'runc:[1:CHILD]',
      cgroup: CGROUP_HOST,
    });
    expect(enteredInstance(stage1, both)).toBeNull();
    const stage2 = ev({ kind: 'fork', exe: '/', comm: 'runc:[2:INIT]', cgroup: CGROUP_HOST });
    expect(enteredInstance(stage2, both)).toEqual({
      id: 'web-1',
      finding: {
        path: 'runc:[2:INIT]',
        expected: "only the instance's own processes",
        actual: 'pid 27939 entered from outside (parent 27922), seen at fork',
      },
    });
    expect(enteredInstance(base, both)?.finding).toMatchObject({
      path: '/bin/busybox',
      actual: 'pid 27939 entered from outside (parent 27922), seen at exec',
    });
    // Exited before its program could be read: its name still says what ran.
    expect(enteredInstance(ev({ exe: null, comm: 'cat' }), both)?.finding.path).toBe('cat');
    expect(enteredInstance(ev({ exe: null, comm: null }), both)?.finding.path).toBe('pid 27939');
  });

  it('the instance itself: its init, and whatever descends from it, is never access', () => {
    expect(enteredInstance(ev({ kind: 'fork', pid: WEB.pid }), both)).toBeNull();
    expect(enteredInstance(ev({ pid: WEB.pid }), both)).toBeNull();
    const child = ev({ pid: 40, ppid: WEB.pid, parentPidNs: WEB.pidNs });
    expect(enteredInstance(child, both)).toBeNull();
    expect(enteredInstance({ ...child, kind: 'fork' }, both)).toBeNull();
    // Its child forked and was gone at once: its parent, read instead, is its own.
    expect(enteredInstance({ ...child, kind: 'parent' }, both)).toBeNull();
    // A parent that exited before it could be read is no evidence either way.
    expect(enteredInstance(ev({ parentPidNs: null }), both)).toBeNull();
  });

  it('`nsenter -m`, `setns`: a process in its mount or network namespace, from outside its PID namespace', () => {
    const mnt = ev({
      pidNs: HOST.pidNs,
      netNs: HOST.netNs,
      cgroup: CGROUP_HOST,
      exe: '/usr/bin/cat',
    });
    expect(enteredInstance(mnt, both)?.id).toBe('web-1');
    const net = ev({ pidNs: HOST.pidNs, mntNs: HOST.mntNs, cgroup: CGROUP_HOST });
    expect(enteredInstance(net, both)?.id).toBe('web-1');
    // nsenter's child was gone before the read: nsenter itself sits in the namespace.
    expect(
      enteredInstance({ ...mnt, kind: 'parent', exe: '/usr/bin/nsenter' }, both),
    ).toMatchObject({
      id: 'web-1',
      finding: { path: '/usr/bin/nsenter' },
    });
  });

  it('its own cgroup, for a process in namespaces of its own', () => {
    const moved = ev({ pidNs: 'pid:[1]', mntNs: 'mnt:[1]', netNs: 'net:[1]' });
    expect(enteredInstance(moved, both)?.id).toBe('web-1');
    // A cgroup the instance shares with others (not named after it) says nothing.
    const shared = { ...WEB, cgroups: ['/process_api/d1'] };
    expect(enteredInstance({ ...moved, cgroup: CGROUP_HOST }, [shared])).toBeNull();
    expect(enteredInstance({ ...moved, cgroup: null }, both)).toBeNull();
  });

  it('nothing is matched to an instance not tracked (yet, or any more)', () => {
    expect(enteredInstance(base, [OTHER])).toBeNull();
    expect(enteredInstance(base, [])).toBeNull();
  });

  it('a fork is never matched by anything but its PID namespace, and a descendant never taints', () => {
    const ns = fc.constantFrom(WEB.pidNs, WEB.mntNs, 'net:[4026532177]', HOST.pidNs, 'x');
    fc.assert(
      fc.property(
        fc.record({
          kind: fc.constantFrom('fork' as const, 'exec' as const, 'parent' as const),
          pid: fc.integer({ min: 1, max: 1 << 22 }),
          ppid: fc.integer({ min: 0, max: 1 << 22 }),
          pidNs: ns,
          mntNs: ns,
          netNs: fc.option(ns),
          parentPidNs: fc.option(ns),
          exe: fc.option(fc.string()),
          comm: fc.option(fc.string()),
          cgroup: fc.option(fc.constantFrom(CGROUP_WEB, CGROUP_HOST)),
        }),
        (e) => {
          const hit = enteredInstance(e, [WEB]);
          if (e.kind === 'fork' && e.pidNs !== WEB.pidNs) expect(hit).toBeNull();
          if (e.pidNs === WEB.pidNs && e.parentPidNs === WEB.pidNs) expect(hit).toBeNull();
          if (e.pid === WEB.pid) expect(hit).toBeNull();
          if (
            e.pidNs === WEB.pidNs &&
            e.parentPidNs !== null &&
            e.parentPidNs !== WEB.pidNs &&
            e.pid !== WEB.pid
          )
            expect(hit?.id).toBe('web-1');
        },
      ),
    );
  });
});
