import { describe, expect, it } from 'vitest';
import { enteredFinding, otherMountNamespaces, tracedProcesses } from './process-findings.js';
import type { ProcessView } from './processes.js';

const init: ProcessView = { pid: 100, ppid: 90, pidNs: 'c', mntNs: 'c' };

describe('process findings', () => {
  it('names a process that entered by its program, else by its pid', () => {
    const p = { pid: 200, ppid: 300, pidNs: 'c', mntNs: 'c' };
    expect(enteredFinding(p, '/bin/sh')).toEqual({
      path: '/bin/sh',
      expected: "only the instance's own processes",
      actual: 'pid 200 entered from outside (parent 300)',
    });
    expect(enteredFinding(p, undefined).path).toBe('pid 200');
  });

  it("finds processes in the instance's PID namespace with another mount namespace", () => {
    const all = [
      init,
      { pid: 101, ppid: 100, pidNs: 'c', mntNs: 'c' },
      { pid: 201, ppid: 1, pidNs: 'c', mntNs: 'h' }, // nsenter -p
      { pid: 202, ppid: 1, pidNs: 'h', mntNs: 'h' }, // the host
    ];
    expect(otherMountNamespaces(init, all)).toEqual([
      {
        path: 'pid 201',
        expected: "the instance's mount namespace",
        actual: 'another mount namespace',
      },
    ]);
  });

  it("finds the instance's processes being traced, and only those", () => {
    const all = [
      { ...init, tracer: 7 },
      { pid: 101, ppid: 100, pidNs: 'c', mntNs: 'c', tracer: 0 },
      { pid: 102, ppid: 100, pidNs: 'c', mntNs: 'c', tracer: 8 },
      { pid: 300, ppid: 1, pidNs: 'h', mntNs: 'h', tracer: 9 }, // a host process: not ours
    ];
    expect(tracedProcesses(init, all).map((f) => [f.path, f.actual])).toEqual([
      ['pid 100', 'traced by pid 7'],
      ['pid 102', 'traced by pid 8'],
    ]);
  });
});
