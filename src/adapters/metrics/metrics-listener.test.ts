import { afterEach, describe, expect, it } from 'vitest';
import { isIngotError } from '../../domain/errors.js';
import { listenMetrics, type MetricsListener } from './metrics-listener.js';
import { MAX_FLEET_LABELS, ServerMetrics } from './prometheus.js';

const TOKEN = 'a'.repeat(64);
const open: MetricsListener[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((l) => l.close()));
});

async function listen(port = 0): Promise<MetricsListener> {
  const metrics = new ServerMetrics(() => 0);
  metrics.observe({
    time: 1,
    actor: 'agent@h',
    kind: 'instance-started',
    subjects: [],
    fleet: 'web',
    detail: {},
  });
  const l = await listenMetrics({
    host: '127.0.0.1',
    port,
    token: TOKEN,
    render: () => metrics.render(),
    onError: () => undefined,
  });
  open.push(l);
  return l;
}

const get = (l: MetricsListener, path: string, token?: string, method = 'GET') =>
  fetch(`http://127.0.0.1:${l.port}${path}`, {
    method,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });

describe('the metrics listener', () => {
  it('serves /metrics with the metrics token, and only with it', async () => {
    const l = await listen();
    const ok = await get(l, '/metrics', TOKEN);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toContain('text/plain');
    expect(await ok.text()).toMatch(/^ingot_instance_starts_total\{fleet="web"\} 1$/m);
    for (const token of [undefined, '', 'b'.repeat(64), TOKEN.slice(1), `${TOKEN}x`]) {
      const refused = await get(l, '/metrics', token);
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await refused.text()).not.toContain('ingot_');
    }
  });

  it('serves nothing else: other paths 404, other methods 405, after the token', async () => {
    const l = await listen();
    expect((await get(l, '/v1/fleets', TOKEN)).status).toBe(404);
    expect((await get(l, '/v1/fleets')).status).toBe(401);
    expect((await get(l, '/metrics', TOKEN, 'POST')).status).toBe(405);
    expect((await get(l, '/metrics?x=1', TOKEN)).status).toBe(200);
  });

  it('says clearly when its address is taken', async () => {
    const first = await listen();
    const err: unknown = await listen(first.port).catch((e: unknown) => e);
    expect(isIngotError(err) && err.code).toBe('E_METRICS_LISTEN');
    expect((err as Error).message).toContain(`127.0.0.1:${first.port}`);
    expect((err as Error).message).toContain('taken');
  });
});

describe('ServerMetrics.observe', () => {
  it('counts ledger events, and keeps the number of fleet labels bounded', async () => {
    const metrics = new ServerMetrics(() => 0);
    const started = (fleet: string) =>
      metrics.observe({
        time: 1,
        actor: 'a',
        kind: 'instance-started',
        subjects: [],
        fleet,
        detail: {},
      });
    for (let i = 0; i < MAX_FLEET_LABELS + 50; i++) started(`f${i}`);
    started('f0');
    const text = (await metrics.render()).body;
    const series = text.split('\n').filter((l) => l.startsWith('ingot_instance_starts_total{'));
    expect(series.length).toBe(MAX_FLEET_LABELS + 1);
    expect(text).toMatch(/^ingot_instance_starts_total\{fleet="f0"\} 2$/m);
    expect(text).toMatch(/^ingot_instance_starts_total\{fleet="other"\} 50$/m);
    expect(text).toMatch(/^# HELP ingot_rollouts_started_total \S/m);
  });
});
