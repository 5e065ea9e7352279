import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { observePath, scanTree } from '../../adapters/rootfs/scan.js';
import { diffTree } from '../../core/integrity/diff.js';
import type { ProcessEvent } from '../../core/integrity/process-events.js';
import type { Digest } from '../../domain/digest.js';
import type { MeasuredEntry } from '../../domain/measurement.js';
import {
  IntegrityMonitor,
  type DriftFinding,
  type IntegrityDeps,
  type MonitoredInstance,
} from './index.js';

const ART = `sha256:${'a'.repeat(64)}` as Digest;
const HEALTHY_MOUNTS = '1 0 8:1 /x / ro,relatime - ext4 /dev/sda1 rw\n';

/** A monitor over a real folder, with the file events and /proc facts in the test's hands. */
function setup() {
  const findings: DriftFinding[] = [];
  const watchers: ((paths: string[]) => void)[] = [];
  const listeners: { onProcess(e: ProcessEvent): void; onLost(): void }[] = [];
  const world = {
    mountinfo: HEALTHY_MOUNTS,
    processes: [{ pid: 10, ppid: 1, pidNs: 'c', mntNs: 'c' }],
    exe: { path: '/bin/app', deleted: false, file: { dev: 1, ino: 2 } },
  };
  const deps: IntegrityDeps = {
    watch: (_root, onPaths) => {
      watchers.push(onPaths);
      return { close: () => undefined };
    },
    observe: observePath,
    verifyTree: (r, m, allowed) => Promise.resolve(diffTree(m, scanTree(r), allowed)),
    processes: () => [{ pid: 1, ppid: 0, pidNs: 'h', mntNs: 'h' }, ...world.processes],
    processEvents: {
      subscribe: (l) => {
        listeners.push(l);
        return { close: () => void listeners.splice(listeners.indexOf(l), 1) };
      },
    },
    identity: (pid) =>
      pid === 10 ? { pidNs: 'c', mntNs: 'c', netNs: null, cgroups: ['/ingot/x/web-1'] } : null,
    mountinfo: () => world.mountinfo,
    maps: () => '',
    executable: () => world.exe,
    mappedFile: () => null,
    fileId: () => ({ dev: 1, ino: 2 }),
    now: () => new Date(0),
    onDrift: (f) => findings.push(f),
  };
  return { monitor: new IntegrityMonitor(deps), findings, watchers, world, listeners };
}

describe('the integrity monitor', () => {
  let root: string;
  let measurement: MeasuredEntry[];
  let instance: MonitoredInstance;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'ingot-monitor-'));
    mkdirSync(join(root, 'bin'));
    mkdirSync(join(root, 'tmp'));
    writeFileSync(join(root, 'bin/app'), 'program');
    chmodSync(join(root, 'bin/app'), 0o755);
    measurement = [...scanTree(root)]
      .filter(([p]) => p !== '/tmp')
      .map(([path, o]) => ({ path, ...o }) as MeasuredEntry);
    instance = {
      id: 'web-1',
      pid: 10,
      artifact: ART,
      rootfs: root,
      measurement,
      allowed: new Set(['/tmp']),
      config: { root: { readonly: true }, mounts: [], linux: {} },
    };
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('reports any change to a rootfs, with what differs, once per rootfs', async () => {
    const { monitor, findings, watchers } = setup();
    // As the agent does: the rootfs is watched before each start, then the instance tracked.
    for (const [id, pid] of [
      ['web-1', 10],
      ['web-2', 11],
    ] as const) {
      await monitor.ready(instance, { verified: true });
      monitor.track({ ...instance, id, pid }, { verified: true });
    }
    expect(watchers).toHaveLength(1); // one watch per rootfs, however many instances
    expect(monitor.integrityOf('web-1')).toBe('verified');

    writeFileSync(join(root, 'bin/app'), 'trojan!');
    watchers[0]!(['/bin/app']);
    watchers[0]!(['/bin/app']); // the same rootfs again: already reported
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ ids: ['web-1', 'web-2'], rootfs: { artifact: ART } });
    // Same size: only the content tells.
    expect(findings[0]!.evidence.map((e) => [e.detector, e.path, e.expected])).toEqual([
      ['files', '/bin/app', expect.stringMatching(/^sha256 [0-9a-f]{64}$/)],
    ]);
    expect(monitor.integrityOf('web-1')).toBe('unchecked');
  });

  it('reports a change even when the path reads as measured again (written, run, restored)', () => {
    const { monitor, findings, watchers } = setup();
    monitor.track(instance, { verified: true });
    watchers[0]!(['/bin/app']);
    expect(findings[0]?.evidence).toEqual([
      expect.objectContaining({
        detector: 'files',
        path: '/bin/app',
        expected: 'no change on disk',
      }),
    ]);
  });

  it('finds what changed while nobody watched, by a full verification', async () => {
    const { monitor, findings } = setup();
    writeFileSync(join(root, 'bin/extra'), '');
    monitor.track(instance, { verified: false });
    expect(monitor.integrityOf('web-1')).toBe('unchecked');
    await monitor.verifyAll();
    expect(findings[0]?.evidence).toEqual([
      expect.objectContaining({ detector: 'files-full', path: '/bin/extra', actual: 'file added' }),
    ]);
  });

  it('reports foreign processes, a changed mount table, and a program that is not the measured file', () => {
    const { monitor, findings, world } = setup();
    monitor.track(instance, { verified: true });
    monitor.checkProcesses();
    expect(findings).toEqual([]);

    world.processes.push({ pid: 20, ppid: 1, pidNs: 'c', mntNs: 'c' }); // runc exec
    world.mountinfo = HEALTHY_MOUNTS.replace(' ro,', ' rw,');
    world.exe = { path: '/tmp/x', deleted: false, file: { dev: 9, ino: 9 } };
    monitor.checkProcesses();
    expect(findings[0]?.ids).toEqual(['web-1']);
    expect(findings[0]?.evidence.map((e) => [e.detector, e.path, e.actual])).toEqual([
      ['process', '/tmp/x', 'pid 20 entered from outside (parent 1)'],
      ['mounts', '/', 'rw'],
      ['mounts', '/', 'changed or gone'],
      ['mounts', '/', 'ext4 relatime,rw'],
      ['exec', '/tmp/x', 'not in the artifact'],
      ['exec', '/tmp/x', 'not in the artifact'],
    ]);
  });

  it('taints on a process event at once, and scans /proc when events were lost', () => {
    const { monitor, findings, world, listeners } = setup();
    monitor.track(instance, { verified: true });
    const event: ProcessEvent = {
      kind: 'exec',
      pid: 30,
      ppid: 7,
      pidNs: 'c',
      mntNs: 'c',
      netNs: null,
      parentPidNs: 'h',
      exe: '/bin/cat',
      comm: 'cat',
      cgroup: null,
    };
    listeners[0]!.onProcess({ ...event, pid: 31, ppid: 10, parentPidNs: 'c' }); // its own child
    expect(findings).toEqual([]);
    listeners[0]!.onProcess(event); // `runc exec`: no scan ran, the event alone taints
    expect(findings).toEqual([
      {
        ids: ['web-1'],
        evidence: [
          expect.objectContaining({
            detector: 'process',
            path: '/bin/cat',
            actual: 'pid 30 entered from outside (parent 7), seen at exec',
          }),
        ],
      },
    ]);
    // What the intruder does after its first exec is looked for once more before the stop.
    world.mountinfo = HEALTHY_MOUNTS.replace(' ro,', ' rw,');
    monitor.lookOnceMore('web-1');
    expect(findings[1]?.evidence.map((e) => [e.detector, e.path, e.actual])).toContainEqual([
      'mounts',
      '/',
      'rw',
    ]);
    findings.pop();
    world.mountinfo = HEALTHY_MOUNTS;
    world.processes.push({ pid: 20, ppid: 1, pidNs: 'c', mntNs: 'c' });
    listeners[0]!.onLost();
    expect(findings[1]?.evidence[0]).toMatchObject({ detector: 'process', path: '/bin/app' });
    // Being stopped, it still runs and can be entered: recorded until its container is gone.
    monitor.untrack('web-1');
    listeners[0]!.onProcess({ ...event, pid: 32 });
    expect(findings[2]?.evidence[0]?.actual).toMatch(/^pid 32 /);
    monitor.gone('web-1');
    listeners[0]!.onProcess({ ...event, pid: 33 });
    expect(findings).toHaveLength(3);
    monitor.close();
    expect(listeners).toHaveLength(0);
  });
});

describe('the integrity monitor, between a start and its instance', () => {
  it('keeps the watch of a rootfs while another start of it is under way, and taints a start whose rootfs changed meanwhile', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ingot-monitor-'));
    try {
      writeFileSync(join(root, 'f'), 'x');
      const measurement = [...scanTree(root)].map(([path, o]) => ({ path, ...o }) as MeasuredEntry);
      const r = { artifact: ART, rootfs: root, measurement, allowed: new Set<string>() };
      const { monitor, findings, watchers } = setup();
      await monitor.ready(r, { verified: true }); // start A
      await monitor.ready(r, { verified: true }); // start B
      monitor.forget(root); // B failed: A still needs the watch
      writeFileSync(join(root, 'f'), 'y');
      watchers[0]!(['/f']);
      expect(findings).toHaveLength(1); // seen, though no instance is tracked yet
      monitor.moved(root, `${root}.discarded`); // as the agent does on such a finding
      monitor.track(
        { ...r, id: 'web-a', pid: 10, config: { root: { readonly: true }, mounts: [], linux: {} } },
        { verified: true },
      );
      expect(findings[1]).toMatchObject({ ids: ['web-a'] });
      expect(findings[1]!.evidence[0]).toMatchObject({
        actual: 'its rootfs changed while it started',
      });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
