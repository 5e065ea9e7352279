import { describe, expect, it } from 'vitest';
import { hostsAnswer } from '../../core/api/hosts.js';
import { singleHostApi } from './hosts.js';

describe('GET /v1/hosts on one machine', () => {
  it('is the machine, live, heard from now, with what its instances reserve and no leader', async () => {
    const api = singleHostApi({
      name: 'box',
      agent: '0.1.0',
      startedAt: new Date('2026-12-04T09:00:00Z'),
      // What the server's capacity function gives: more than readings (it is passed as is).
      capacity: () => ({ memoryBytes: 1024, cpus: 2, pids: 99, addresses: 253, maxInstances: 250 }),
      usage: () => ({ memoryBytes: 512, cpus: 0.5, pids: 3, instances: 2 }),
      now: () => Date.parse('2026-12-04T10:00:00Z'),
    });
    const answer = await api.hosts({
      params: {},
      query: {},
      body: undefined,
      caller: () => ({ credential: 'admin token' }),
    });
    expect(answer).toEqual({
      hosts: [
        {
          name: 'box',
          state: 'live',
          labels: {},
          capacity: { memoryBytes: 1024, cpus: 2, pids: 99 },
          used: { memoryBytes: 512, cpus: 0.5, pids: 3, instances: 2 },
          lastHeartbeat: '2026-12-04T10:00:00.000Z',
          agent: '0.1.0',
          startedAt: '2026-12-04T09:00:00.000Z',
        },
      ],
      leader: null,
    });
    expect(hostsAnswer.safeParse(answer).success).toBe(true);
  });
});
