import { describe, expect, it } from 'vitest';
import { freePort } from '../scripts/engines/ports.js';
import { ingotAsync } from './helpers/cli.js';
import { waitFor } from './helpers/cluster.js';
import { getOnce, load, startLoad } from './helpers/http-load.js';
import { HELLO, useServer } from './helpers/server.js';

/**
 * Issue 19: a blue-green preview answers on its own listen, a promotion moves every request
 * at once, and a rollback replaces the release again, both under continuous load without a
 * failed request.
 */
describe('blue-green and rollback through the edge', () => {
  const server = useServer('bluegreen');

  it('previews on previewListen, promotes and rolls back under load: no request fails', async () => {
    server.up();
    expect(server.cli('build', '-q', HELLO).code).toBe(0);
    const [port, previewPort] = [await freePort(), await freePort()];
    const url = `http://127.0.0.1:${port}/cgi-bin/greeting`;
    const preview = `http://127.0.0.1:${previewPort}/cgi-bin/greeting`;
    const fleet = (greeting: string) =>
      server.writeFleet('hello', [
        'artifact: hello:1.0.0',
        'replicas: 2',
        'env:',
        `  GREETING: ${greeting}`,
        'strategy:',
        '  blueGreen: {}',
        'minReadySeconds: 1',
        'stopGrace: 0s',
        `service: { port: 8080, listen: '127.0.0.1:${port}', previewListen: '127.0.0.1:${previewPort}' }`,
      ]);
    const r = server.cli('deploy', '--wait', fleet('hello'));
    expect(r.code, r.stderr).toBe(0);
    await waitFor('the edge answering', async () => (await getOnce(url)) === 'hello\n', 30_000);

    const live = startLoad({ url: `${url}?slow`, concurrency: 8, keepAlive: true, maxMs: 300_000 });
    // The preview: its own listen answers bonjour, the live one still hello only.
    const previewed = await ingotAsync(['deploy', '--wait', fleet('bonjour')], {
      env: server.env,
      timeoutMs: 120_000,
    });
    expect(previewed.code, previewed.stderr).toBe(0);
    await waitFor(
      'the preview answering',
      async () => (await getOnce(preview)) === 'bonjour\n',
      30_000,
    );
    const before = await load({ url, concurrency: 4, total: 200, keepAlive: false });
    expect([...before.byBody.keys()]).toEqual(['hello\n']);

    // Promoted: every new request to bonjour at once, none to hello.
    const promoted = await ingotAsync(['promote', 'hello'], { env: server.env, timeoutMs: 60_000 });
    expect(promoted.code, promoted.stderr).toBe(0);
    await waitFor(
      'all to bonjour',
      async () => {
        const after = await load({ url, concurrency: 4, total: 200, keepAlive: false });
        return after.byBody.get('bonjour\n') === 200;
      },
      30_000,
    );
    await waitFor(
      'bonjour complete',
      async () => {
        const fleets = await ingotAsync(['status', '-o', 'json'], { env: server.env });
        return (JSON.parse(fleets.stdout) as { rollout: string }[])[0]?.rollout === 'complete';
      },
      120_000,
    );

    // Rolled back by hand: hello again, through the same listen.
    const back = await ingotAsync(['rollback', 'hello'], { env: server.env, timeoutMs: 60_000 });
    expect(back.code, back.stderr).toBe(0);
    await waitFor(
      'hello again, alone',
      async () => {
        const after = await load({ url, concurrency: 4, total: 100, keepAlive: false });
        return after.byBody.get('hello\n') === 100;
      },
      120_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 3000)); // the last drains end
    live.stop();
    const seen = await live.done;
    expect(seen.failed, JSON.stringify([...seen.failures])).toBe(0);
    expect(seen.byBody.get('hello\n') ?? 0).toBeGreaterThan(0);
    expect(seen.byBody.get('bonjour\n') ?? 0).toBeGreaterThan(0);
  }, 600_000);
});
