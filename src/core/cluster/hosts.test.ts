import { describe, expect, it } from 'vitest';
import { parseDigest } from '../../domain/digest.js';
import type { HostRegistration } from '../../domain/cluster.js';
import { assignmentUnderKey, hostViews, statusUnderKey } from './hosts.js';

const reg = (name: string): HostRegistration => ({
  name,
  labels: {},
  capacity: { memoryBytes: 1, cpus: 1, pids: 1 },
  agent: '0.1.0',
  startedAt: '2026-12-04T00:00:00.000Z',
});
const member = (name: string) => ({ name, admittedAt: '2026-12-04T00:00:00.000Z' });

describe('host states', () => {
  it('are live with a lease, lost without one, unadmitted when nobody admitted them', () => {
    const views = hostViews([member('a'), member('b')], [reg('a'), reg('c')]);
    expect(views.map((v) => [v.name, v.state])).toEqual([
      ['a', 'live'],
      ['b', 'lost'],
      ['c', 'unadmitted'],
    ]);
    expect(views[1]?.registration).toBeNull();
  });

  it("take a status's host from its key and refuse one filed under another id", () => {
    const seen = {
      id: 'x',
      fleet: 'f',
      artifact: parseDigest(`sha256:${'a'.repeat(64)}`),
      state: 'healthy',
      host: 'liar',
    } as const;
    expect(statusUnderKey('h', 'x', seen)).toEqual({ ok: true, value: { ...seen, host: 'h' } });
    expect(statusUnderKey('h', 'y', seen).ok).toBe(false);
  });

  it('refuse an assignment filed under another instance id', () => {
    const assignment = {
      instance: { id: 'x', fleet: 'f', artifact: parseDigest(`sha256:${'a'.repeat(64)}`) },
      epoch: 3,
    };
    expect(assignmentUnderKey('x', assignment)).toEqual({ ok: true, value: assignment });
    expect(assignmentUnderKey('y', assignment)).toMatchObject({ ok: false });
  });
});
