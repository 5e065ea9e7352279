import { describe, expect, it } from 'vitest';
import type { HostView } from '../../domain/cluster.js';
import { IngotError } from '../../domain/errors.js';
import type { ObservedInstance } from '../../domain/instance.js';
import { remoteInstanceHosts, type CallableHost } from './remote-hosts.js';

const artifact = `sha256:${'1'.repeat(64)}` as const;
const instance = (id: string, host: string): ObservedInstance =>
  ({ id, fleet: 'web', artifact, state: 'healthy', host }) as ObservedInstance;
const host = (name: string, state: HostView['state'], api?: string): HostView => ({
  name,
  state,
  member: null,
  registration:
    state === 'lost'
      ? null
      : {
          name,
          labels: {},
          capacity: { memoryBytes: 1, cpus: 1, pids: 1 },
          agent: 'test',
          startedAt: '2026-12-04T00:00:00Z',
          ...(api !== undefined && { api }),
        },
});

function cluster(answer: (host: CallableHost, path: string) => unknown) {
  const calls: string[] = [];
  const hosts = remoteInstanceHosts({
    observe: () =>
      Promise.resolve([instance('web-1', 'h1'), instance('web-2', 'h2'), instance('web-3', 'h3')]),
    hosts: () =>
      Promise.resolve([
        host('h1', 'live', 'http://10.0.0.1:7070'),
        host('h2', 'live'),
        host('h3', 'lost'),
      ]),
    call: (h, method, path) => {
      calls.push(`${h.name} ${method} ${path}`);
      return Promise.resolve(answer(h, path));
    },
    openSession: (h, path) => {
      calls.push(`${h.name} SESSION ${path}`);
      return Promise.resolve(() => undefined);
    },
  });
  return { hosts, calls };
}

const code = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (err: unknown): string => (err instanceof IngotError ? String(err.code) : String(err)),
  );

describe('instances acted on where they run', () => {
  it("asks the instance's own host, as the cluster's view places it", async () => {
    const { hosts, calls } = cluster(() => ({ id: 'web-1', text: 'hi', start: 0, size: 2 }));
    expect(await hosts.logs('web-1', { from: '2' })).toEqual({
      id: 'web-1',
      text: 'hi',
      start: 0,
      size: 2,
    });
    await hosts.logs('web-1', { since: '2026-12-05T04:00:00.000Z', marks: '1' });
    await hosts.logs('web-1', { tail: '10', marks: '1' });
    expect(calls).toEqual([
      'h1 GET /v1/host/instances/web-1/logs?from=2',
      'h1 GET /v1/host/instances/web-1/logs?since=2026-12-05T04%3A00%3A00.000Z&marks=1',
      'h1 GET /v1/host/instances/web-1/logs?tail=10&marks=1',
    ]);
  });

  it("relays the lines each mark covers (counted on the host's bytes) as the host said", async () => {
    const marked = {
      id: 'web-1',
      text: '\ufffd\nlate\n',
      start: 0,
      size: 6,
      marks: [
        { at: '2026-12-05T04:00:01.000Z', offset: 2, lines: 1 },
        { at: '2026-12-05T04:00:02.000Z', offset: 6, lines: 2 },
      ],
      at: '2026-12-05T04:00:03.000Z',
    };
    const { hosts } = cluster(() => marked);
    expect(await hosts.logs('web-1', { marks: '1' })).toEqual(marked);
    // A count that is not one is a host's answer refused, not a wrong stamp.
    const bad = cluster(() => ({ ...marked, marks: [{ ...marked.marks[0], lines: -1 }] }));
    expect(await code(bad.hosts.logs('web-1', { marks: '1' }))).toBe('E_CLUSTER_HOST_UNREACHABLE');
  });

  it("opens a break-glass session on the instance's host, for the command asked", async () => {
    const { hosts, calls } = cluster(() => ({}));
    await hosts.debugSession('web-1', { command: ['sh', '-c', 'id'], terminal: null });
    expect(calls).toEqual([
      `h1 SESSION /v1/host/instances/web-1/debug/session?command=${encodeURIComponent('["sh","-c","id"]')}`,
    ]);
    expect(
      await code(
        hosts.debugSession('web-3', { command: ['sh'], terminal: { cols: 80, rows: 24 } }),
      ),
    ).toBe('E_CLUSTER_HOST_UNREACHABLE');
  });

  it('says why a host cannot be asked: no instance, no API, lost', async () => {
    const { hosts, calls } = cluster(() => ({}));
    expect(await code(hosts.logs('web-9', {}))).toBe('E_INSTANCE_NOT_FOUND');
    expect(await code(hosts.logs('web-2', {}))).toBe('E_CLUSTER_HOST_ONLY');
    expect(await code(hosts.logs('web-3', {}))).toBe('E_CLUSTER_HOST_UNREACHABLE');
    expect(calls).toEqual([]);
  });

  it("refuses a host's answer that is not what was asked", async () => {
    const { hosts } = cluster(() => ({ text: 42 }));
    expect(await code(hosts.logs('web-1', {}))).toBe('E_CLUSTER_HOST_UNREACHABLE');
  });

  it('verifies on every live host, and names the hosts it could not ask', async () => {
    const { hosts, calls } = cluster(() => [{ artifact, instances: ['web-1'], drift: [] }]);
    const err = await hosts.verifyInstances().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IngotError);
    expect((err as IngotError).message).toMatch(/1 of 2 hosts could not be asked: .*h2/);
    expect(calls).toEqual(['h1 POST /v1/host/verify-instances']);
  });
});
