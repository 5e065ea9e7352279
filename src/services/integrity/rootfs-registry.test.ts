import { describe, expect, it } from 'vitest';
import type { Digest } from '../../domain/digest.js';
import { RootfsRegistry } from './rootfs-registry.js';

const ART = `sha256:${'a'.repeat(64)}` as Digest;
const rootfs = (root: string) => ({
  artifact: ART,
  rootfs: root,
  measurement: [{ path: '/f', type: 'file' as const, mode: 0o644, uid: 0, gid: 0, size: 0 }],
  allowed: new Set<string>(),
});

function setup() {
  const open = new Set<string>();
  const events: string[] = [];
  const registry = new RootfsRegistry(
    (root, onPaths, onError) => {
      open.add(root);
      events.push(`watch ${root}`);
      onPaths(['/f']);
      onError(new Error('overflow'));
      return { close: () => open.delete(root) };
    },
    {
      onPaths: (root, paths) => events.push(`paths ${root} ${paths.join(',')}`),
      onLost: (root) => events.push(`lost ${root}`),
    },
  );
  return { registry, open, events };
}

describe('the rootfs registry', () => {
  it('watches a folder once, however many starts claim it, and routes its events', () => {
    const { registry, open, events } = setup();
    const a = registry.watch(rootfs('/r'), true);
    expect(registry.watch(rootfs('/r'), false)).toBe(a); // the first verdict stands
    expect(a.verified).toBe(true);
    expect(a.byPath.get('/f')?.type).toBe('file');
    expect(registry.measuredOf(ART)).toEqual(a.byPath);
    expect(events).toEqual(['watch /r', 'paths /r /f', 'lost /r']);
    registry.unwatch('/r');
    expect(open.size).toBe(0);
    expect(registry.get('/r')).toBeUndefined();
  });

  it('checks each folder of one artifact against its own owners (one per id range)', () => {
    const { registry } = setup();
    const shifted = (root: string, by: number) => {
      const r = rootfs(root);
      return { ...r, measurement: r.measurement.map((e) => ({ ...e, uid: e.uid + by })) };
    };
    registry.watch(shifted('/r-u100000000', 100_000_000), true);
    const b = registry.watch(shifted('/r-u100065536', 100_065_536), true);
    expect(registry.get('/r-u100000000')?.byPath.get('/f')?.uid).toBe(100_000_000);
    expect(b.byPath.get('/f')?.uid).toBe(100_065_536);
  });

  it('counts the starts under way, and never below none', () => {
    const { registry } = setup();
    registry.claim('/r');
    registry.claim('/r');
    expect(registry.release('/r')).toBe(1);
    expect(registry.release('/r')).toBe(0);
    expect(registry.release('/r')).toBeLessThanOrEqual(0);
    registry.claim('/r');
    expect(registry.release('/r')).toBe(0);
  });

  it('remembers a folder moved aside until a start makes it again', () => {
    const { registry, open } = setup();
    registry.watch(rootfs('/r'), true);
    registry.moved('/r', '/r.discarded');
    expect(open.size).toBe(0);
    expect(registry.movedAside('/r')).toBe('/r.discarded');
    registry.claim('/r');
    expect(registry.movedAside('/r')).toBeUndefined();
  });

  it('closes every watch and forgets everything on close', () => {
    const { registry, open } = setup();
    registry.watch(rootfs('/a'), true);
    registry.watch(rootfs('/b'), true);
    registry.claim('/a');
    registry.close();
    expect(open.size).toBe(0);
    expect(registry.all()).toEqual([]);
    expect(registry.measuredOf(ART)).toBeUndefined();
    expect(registry.release('/a')).toBeLessThanOrEqual(0);
  });
});
