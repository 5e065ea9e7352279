import { describe, expect, it } from 'vitest';
import { freePort } from '../scripts/engines/ports.js';
import { ingotAsync } from './helpers/cli.js';
import { waitFor } from './helpers/cluster.js';
import { getOnce, load, startLoad } from './helpers/http-load.js';
import { HELLO, useServer } from './helpers/server.js';

/**
 * Issue 19: a canary's percent is a share of requests, measured through the edge, and a
 * canary whose answers fail is rolled back by its analysis, under load.
 */
describe('a canary through the edge', () => {
  const server = useServer('canary');

  it('sends its percent of requests to the new release, and rolls back one that answers 500', async () => {
    server.up();
    expect(server.cli('build', '-q', HELLO).code).toBe(0);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/cgi-bin/greeting`;
    const fleet = (greeting: string, ...more: string[]) =>
      server.writeFleet('hello', [
        'artifact: hello:1.0.0',
        'replicas: 4',
        'env:',
        `  GREETING: ${greeting}`,
        ...more,
        'strategy:',
        '  canary: { steps: [{ percent: 10, pause: 10m }] }',
        'minReadySeconds: 1',
        `service: { port: 8080, listen: '127.0.0.1:${port}' }`,
        'analysis: { maxErrorPercent: 1, minRequests: 50 }',
      ]);
    let r = server.cli('deploy', '--wait', fleet('hello'));
    expect(r.code, r.stderr).toBe(0);
    await waitFor('the edge answering', async () => (await getOnce(url)) === 'hello\n', 30_000);

    // The canary step: 1 instance of 4 is the new release, and it gets 10 % of the requests.
    // (Not --wait: the step's pause is 10 minutes, and the wait would last it.)
    r = server.cli('deploy', fleet('bonjour'));
    expect(r.code, r.stderr).toBe(0);
    await waitFor(
      'the canary serving',
      async () =>
        (await load({ url, concurrency: 4, total: 200, keepAlive: false })).byBody.has('bonjour\n'),
      60_000,
    );
    const seen = await load({ url, concurrency: 8, total: 3000, keepAlive: false });
    expect(seen.failed).toBe(0);
    const share = (100 * (seen.byBody.get('bonjour\n') ?? 0)) / seen.ok;
    expect(Math.abs(share - 10), `bonjour got ${share.toFixed(1)} %`).toBeLessThanOrEqual(3);
    // The share the edge observed, in status, tells the same.
    const observed = server.fleet('hello') as unknown as { traffic?: { newShare: number | null } };
    expect(Math.abs((observed.traffic?.newShare ?? -100) - 10)).toBeLessThanOrEqual(3);
    r = server.cli('promote', 'hello', '--full');
    expect(r.code, r.stderr).toBe(0);
    await waitFor('bonjour complete', () => server.fleet('hello')?.rollout === 'complete', 120_000);

    // A release that is healthy but answers 500: its analysis rolls it back under load.
    const background = startLoad({ url, concurrency: 4, keepAlive: false, maxMs: 180_000 });
    const deployed = await ingotAsync(['deploy', fleet('salut', '  FAIL: "1"')], {
      env: server.env,
      timeoutMs: 60_000,
    });
    expect(deployed.code, deployed.stderr).toBe(0);
    const rolled = await waitFor(
      'the failing canary rolled back',
      () => {
        const f = server.fleet('hello');
        return f?.rollout === 'rolled-back' && f;
      },
      120_000,
      () => JSON.stringify(server.fleet('hello')?.reasons),
    );
    background.stop();
    await background.done;
    expect(rolled.reason).toMatch(/^analysis: \d+\.\d% of \d+ requests to the new release failed/);
    const history = server.cli('history', 'hello').stdout;
    expect(history).toMatch(/analysis: \d+\.\d% of \d+ requests/);
    await waitFor(
      'bonjour again everywhere',
      async () => {
        const after = await load({ url, concurrency: 4, total: 100, keepAlive: false });
        return after.failed === 0 && after.byBody.get('bonjour\n') === 100;
      },
      120_000,
    );
  }, 600_000);
});
