import { describe, expect, it } from 'vitest';
import type { Digest } from '../../domain/digest.js';
import type { DesiredInstance, InstanceState } from '../../domain/instance.js';
import { hostUsage } from './host-usage.js';

const MIB = 1024 * 1024;
const desired = (id: string, resources?: DesiredInstance['resources']): DesiredInstance => ({
  id,
  fleet: 'web',
  artifact: `sha256:${'a'.repeat(64)}` as Digest,
  ...(resources && { resources }),
});
const known = (id: string, state: InstanceState) => ({ id, state });

describe('what instances reserve of their host', () => {
  it('sums the declared limits of instances whose process runs, a process at least each', () => {
    expect(
      hostUsage(
        [
          known('a', 'healthy'),
          known('b', 'starting'),
          known('c', 'unhealthy'),
          known('d', 'pending'),
          known('e', 'failed'),
          known('f', 'stopped'),
          known('g', 'refused'),
        ],
        [
          desired('a', { memoryBytes: 64 * MIB, cpus: 0.5, pids: 100 }),
          desired('b', { memoryBytes: 32 * MIB }),
          desired('c'),
          desired('d', { memoryBytes: 1024 * MIB, cpus: 4, pids: 1000 }),
          desired('e', { memoryBytes: 1024 * MIB }),
        ],
      ),
    ).toEqual({ memoryBytes: 96 * MIB, cpus: 0.5, pids: 102, instances: 3 });
  });

  it('counts one being stopped, no longer desired, as one process', () => {
    expect(hostUsage([known('old', 'stopping')], [])).toEqual({
      memoryBytes: 0,
      cpus: 0,
      pids: 1,
      instances: 1,
    });
  });

  it('is nothing on an empty host', () => {
    expect(hostUsage([], [desired('x', { memoryBytes: MIB })])).toEqual({
      memoryBytes: 0,
      cpus: 0,
      pids: 0,
      instances: 0,
    });
  });
});
