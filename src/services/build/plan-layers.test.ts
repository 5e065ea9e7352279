import { describe, expect, it } from 'vitest';
import { parseBaseline } from '../../core/baseline/parse.js';
import { RootfsTree } from '../../core/rootfs-tree.js';
import type { FileExtra } from '../../domain/measurement.js';
import type { SourceListing } from '../../domain/source.js';
import { maxPartsPerLayer, planLayers } from './plan-layers.js';

const listing: SourceListing = {
  rootKind: 'dir',
  rootName: 'app',
  items: [
    { rel: '', kind: 'dir', mode: 0o755 },
    {
      rel: 'run.sh',
      kind: 'file',
      mode: 0o755,
      file: { abs: '/x/app/run.sh', size: 3, dev: 1, ino: 2, mtimeMs: 0, ctimeMs: 0 },
    },
  ],
};

describe('planLayers', () => {
  it('plans each layer in order, then the mount points the image lacks', () => {
    const baseline = parseBaseline(
      'name: t\nversion: "1"\nlayers:\n  - source: app\n    destination: /opt/app\n',
      'ingot.yaml',
    );
    const shape = new RootfsTree<FileExtra>();
    const planned = planLayers(baseline, [listing], shape, 0);
    expect(planned.sources).toEqual(['app', '(mount points)']);
    expect(planned.origins).toEqual(['app → /opt/app', 'mount points of the runtime contract']);
    expect(planned.plans[0]!.map((p) => p.header.name)).toContain('opt/app/run.sh');
    expect(planned.planned.map((p) => p.length)).toEqual(planned.plans.map((p) => p.length));
    // The shape now holds every planned path, the file still without its digest.
    const file = shape.get('/opt/app/run.sh');
    expect(file?.entry.type).toBe('file');
    expect(file?.entry.sha256).toBeUndefined();
    expect(shape.get('/proc')?.entry.type).toBe('dir');
  });
});

describe('maxPartsPerLayer', () => {
  it('shares what runtimes stack (120 layers) among the planned layers', () => {
    expect(maxPartsPerLayer(0, 1)).toBe(120);
    expect(maxPartsPerLayer(20, 2)).toBe(50);
    // Never fewer than one part, however deep the base.
    expect(maxPartsPerLayer(200, 3)).toBe(1);
  });
});
