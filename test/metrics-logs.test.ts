import { readFileSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { upArgs } from './helpers/agent.js';
import { HELLO, useServer } from './helpers/server.js';

/** A port free now (the system's choice), and a way to hold one. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

interface LogLine {
  level: number;
  msg: string;
  event?: string;
  fleet?: string;
  url?: string;
}

/**
 * Issue 20: /metrics on its own address with its own read-only token, counters derived from
 * the ledger's events, and a server.log of events (info) rather than requests (debug).
 */
describe('metrics and logs', () => {
  const server = useServer('metrics');
  const tokenOf = (name: string) => readFileSync(join(server.home, name), 'utf8').trim();
  const logLines = (): LogLine[] =>
    readFileSync(join(server.home, 'server.log'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as LogLine);

  it('counts a deploy and its rollout on the metrics listener, with the metrics token alone', async () => {
    const port = await freePort();
    server.up('--metrics-listen', `127.0.0.1:${port}`);
    const metricsToken = tokenOf('metrics-token');
    expect(statSync(join(server.home, 'metrics-token')).mode & 0o777).toBe(0o600);
    const admin = tokenOf('token');
    expect(metricsToken).not.toBe(admin);
    const scrape = (token?: string, at = `http://127.0.0.1:${port}/metrics`) =>
      fetch(at, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });

    expect(server.cli('build', '-q', HELLO).code).toBe(0);
    const deployed = server.cli('deploy', server.helloFleet(1), '--wait');
    expect(deployed.code, deployed.stderr).toBe(0);
    // The recorder appends in batches: the counters follow within moments.
    let text = '';
    for (let i = 0; i < 100; i++) {
      const r = await scrape(metricsToken);
      expect(r.status).toBe(200);
      text = await r.text();
      if (/^ingot_rollouts_completed_total\{fleet="hello"\} 1$/m.test(text)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(text).toMatch(/^ingot_rollouts_completed_total\{fleet="hello"\} 1$/m);
    expect(text).toMatch(/^ingot_rollouts_started_total\{fleet="hello",strategy="rolling"\} 1$/m);
    expect(text).toMatch(/^ingot_instance_starts_total\{fleet="hello"\} [1-9]/m);
    expect(text).toMatch(
      /^ingot_admission_decisions_total\{where="deploy",allowed="true",code="ok"\} 1$/m,
    );
    expect(text).toMatch(
      /^ingot_admission_decisions_total\{where="host",allowed="true",code="ok"\} [1-9]/m,
    );
    expect(text).toMatch(/^ingot_reconcile_seconds_count [1-9]/m);
    expect(text).toMatch(/^# HELP ingot_rollouts_rolled_back_total \S/m);

    // Nothing without the metrics token: not the admin token, not a wrong one.
    for (const token of [
      undefined,
      admin,
      `${metricsToken.slice(0, -1)}${metricsToken.endsWith('0') ? '1' : '0'}`,
      'x',
    ]) {
      const r = await scrape(token);
      expect(r.status, String(token)).toBe(401);
      expect(await r.text()).not.toContain('ingot_');
    }
    // And the metrics token opens nothing on the API, /metrics there included.
    const info = JSON.parse(readFileSync(join(server.home, 'server.json'), 'utf8')) as {
      host: string;
      port: number;
    };
    const api = `http://${info.host}:${info.port}`;
    expect((await scrape(metricsToken, `${api}/metrics`)).status).toBe(401);
    expect((await scrape(metricsToken, `${api}/v1/fleets`)).status).toBe(401);
    expect((await scrape(admin, `${api}/metrics`)).status).toBe(200);

    // server.log: the deploy and its completion at info, and no request lines at info.
    const lines = logLines();
    const events = lines.filter((l) => l.event !== undefined && l.fleet === 'hello');
    expect(events.find((l) => l.event === 'deploy')?.level).toBe(30);
    expect(events.find((l) => l.event === 'rollout-complete')?.level).toBe(30);
    expect(events.some((l) => l.event === 'instance-started')).toBe(true);
    expect(
      lines.filter((l) => l.msg === 'request' || /request completed|incoming request/.test(l.msg)),
    ).toEqual([]);
    expect(readFileSync(join(server.home, 'server.log'), 'utf8')).not.toContain(admin);
  }, 180_000);

  it('refuses to start when the metrics address is taken, and logs requests at debug when asked', async () => {
    expect(server.cli('down').code).toBe(0);
    const holder = createServer();
    const port = await new Promise<number>((resolve) =>
      holder.listen(0, '127.0.0.1', () => resolve((holder.address() as AddressInfo).port)),
    );
    try {
      const up = server.cli(...upArgs(server.net), '--metrics-listen', `127.0.0.1:${port}`);
      expect(up.code).toBe(1);
      expect(up.stderr).toContain(`127.0.0.1:${port}`);
      expect(up.stderr).toMatch(/taken/);
      expect(up.stderr).toContain('E_METRICS_LISTEN');
    } finally {
      holder.close();
    }
    const before = logLines().length;
    server.up('--log-level', 'debug');
    expect(server.cli('status').code).toBe(0);
    const requests = logLines()
      .slice(before)
      .filter((l) => l.msg === 'request');
    expect(requests.length, JSON.stringify(logLines().slice(before))).toBeGreaterThan(0);
    expect(requests.every((l) => l.level === 20)).toBe(true);
    expect(requests.some((l) => l.url?.startsWith('/v1/fleets'))).toBe(true);
  }, 120_000);
});
