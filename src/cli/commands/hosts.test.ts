import { describe, expect, it } from 'vitest';
import { hostsAnswer, type HostsAnswer, type ListedHost } from '../../core/api/hosts.js';
import { hostsText } from './hosts.js';

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
const NOW = Date.parse('2026-12-04T10:00:00Z');

const host = (over: Partial<ListedHost> & Pick<ListedHost, 'name'>): ListedHost => ({
  state: 'live',
  labels: {},
  capacity: { memoryBytes: 24 * GIB, cpus: 2, pids: 4_194_304 },
  used: { memoryBytes: 0, cpus: 0, pids: 0, instances: 0 },
  lastHeartbeat: '2026-12-04T09:59:57Z',
  agent: '0.1.0',
  startedAt: '2026-12-04T09:00:00Z',
  ...over,
});

describe('ingot hosts, as a table', () => {
  it('shows used/capacity in human units, labels sorted, heartbeats as ages', () => {
    const answer: HostsAnswer = {
      hosts: [
        host({
          name: 'h1',
          labels: { zone: 'a', disk: 'ssd' },
          used: { memoryBytes: 96 * MIB, cpus: 0.5, pids: 102, instances: 3 },
        }),
        host({
          name: 'h2',
          state: 'lost',
          capacity: { memoryBytes: 512 * MIB, cpus: 1, pids: 1024 },
          lastHeartbeat: '2026-12-04T09:45:00Z',
        }),
        host({
          name: 'h3',
          state: 'unadmitted',
          lastHeartbeat: null,
          agent: null,
          startedAt: null,
        }),
      ],
      leader: null,
    };
    expect(hostsText(answer, NOW)).toBe(
      [
        'NAME  STATE       LABELS           CPUS   MEMORY         INSTANCES  LAST-HEARTBEAT',
        'h1    live        disk=ssd,zone=a  0.5/2  96 MiB/24 GiB  3          3s ago',
        'h2    lost        -                0/1    0 B/512 MiB    0          15m ago',
        'h3    unadmitted  -                0/2    0 B/24 GiB     0          -',
        '',
      ].join('\n'),
    );
  });

  it('names the leader under the table when there is a cluster', () => {
    const text = hostsText(
      {
        hosts: [host({ name: 'h1' })],
        leader: { name: 's2', api: 'https://10.0.0.2:7070', since: '2026-12-04T09:55:00Z' },
      },
      NOW,
    );
    expect(text.split('\n').slice(-3)).toEqual([
      '',
      'leader: s2 (leading for 5m, API https://10.0.0.2:7070)',
      '',
    ]);
  });

  it('is only a header with no hosts', () => {
    expect(hostsText({ hosts: [], leader: null }, NOW)).toBe(
      'NAME  STATE  LABELS  CPUS  MEMORY  INSTANCES  LAST-HEARTBEAT\n',
    );
  });
});

describe('ingot hosts -o wide', () => {
  it('adds pids, the agent, when it started and its API, after the default columns', () => {
    const answer: HostsAnswer = {
      hosts: [host({ name: 'h1', api: 'https://h1:7443' }), host({ name: 'h2', agent: null })],
      leader: null,
    };
    const [header, h1, h2] = hostsText(answer, NOW, true).trimEnd().split('\n');
    expect(header!.split(/\s+/)).toEqual([
      'NAME',
      'STATE',
      'LABELS',
      'CPUS',
      'MEMORY',
      'PIDS',
      'INSTANCES',
      'LAST-HEARTBEAT',
      'AGENT',
      'AGENT-STARTED',
      'API',
    ]);
    expect(h1).toMatch(/ 0\/4194304 .* 0\.1\.0 +60m ago +https:\/\/h1:7443$/);
    expect(h2).toMatch(/ - +60m ago +-$/);
    expect(hostsText(answer, NOW)).not.toMatch(/AGENT|PIDS/);
  });
});

describe('GET /v1/hosts answers', () => {
  const valid = { hosts: [host({ name: 'h1' })], leader: null };

  it('pass with fields a newer server adds kept', () => {
    const parsed = hostsAnswer.parse({
      ...valid,
      hosts: [{ ...host({ name: 'h1' }), zone: 'eu' }],
      epoch: 7,
    });
    expect(parsed).toMatchObject({ epoch: 7, hosts: [{ zone: 'eu' }] });
  });

  it('are refused when they could garble a terminal or are not what the contract says', () => {
    const bad: unknown[] = [
      { ...valid, hosts: [host({ name: 'H1' })] },
      { ...valid, hosts: [host({ name: 'h1', labels: { zone: 'a\u001b[31m' } })] },
      { ...valid, hosts: [host({ name: 'h1', agent: 'x\n' })] },
      { ...valid, hosts: [{ ...host({ name: 'h1' }), state: 'ready' }] },
      { ...valid, hosts: [host({ name: 'h1', lastHeartbeat: 'yesterday' })] },
      {
        ...valid,
        hosts: [host({ name: 'h1', used: { memoryBytes: -1, cpus: 0, pids: 0, instances: 0 } })],
      },
      { hosts: [] },
      { ...valid, leader: { name: 's1' } },
    ];
    for (const b of bad) expect(hostsAnswer.safeParse(b).success, JSON.stringify(b)).toBe(false);
  });
});
