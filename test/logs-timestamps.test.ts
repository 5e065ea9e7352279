import { mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../src/bin/agent.js';
import type { Digest } from '../src/domain/digest.js';
import type { Agent } from '../src/services/agent/index.js';
import { buildWith } from './helpers/app.js';
import { ingot } from './helpers/cli.js';
import { removeNet, requireHost, sleep, testNet, type TestNet } from './helpers/agent.js';

const HELLO = fileURLToPath(new URL('../examples/hello', import.meta.url));
const STAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) /;

function request(address: string, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    get({ host: address, port: 8080, path, agent: false, timeout: 3000 }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    }).on('error', reject);
  });
}

/**
 * `ingot logs --timestamps` and `--since` on a real instance, which writes its log itself
 * (busybox httpd -vv logs each request): the agent's time marks say when lines were seen.
 */
describe('logs --timestamps and --since, by the agent’s time marks', () => {
  let root: string;
  let home: string;
  let net: TestNet;
  let agent: Agent;
  let artifact: Digest;
  const logs = (...args: string[]) =>
    ingot(['logs', 'stamped-a', ...args], { env: { INGOT_HOME: home } });

  beforeAll(async () => {
    requireHost();
    root = mkdtempSync(join(tmpdir(), 'ingot-stamps-'));
    home = join(root, 'home');
    net = testNet();
    const keys = join(root, 'keys');
    expect(ingot(['key', 'generate', '--out', keys, '--name', 'ci']).code).toBe(0);
    artifact = (await buildWith(home, HELLO, { keys: [join(keys, 'ci.key')] })).digest;
    agent = await createAgent({
      home,
      keyFiles: [join(keys, 'ci.pub')],
      bridge: net.bridge,
      subnet: net.subnet,
      cgroupParent: `/ingot-test-${net.bridge}`,
      stopGraceMs: 1000,
      logMaxBytes: 64 * 1024,
    });
    agent.run(100);
  }, 60_000);

  afterAll(async () => {
    await agent?.apply([]).catch(() => undefined);
    await agent?.close();
    if (net) removeNet(net);
    rmSync(root, { recursive: true, force: true });
  });

  it('stamps lines when the agent saw them, and starts --since at the first seen since', async () => {
    await agent.apply([{ id: 'stamped-a', fleet: 'stamped', artifact }]);
    let address: string | undefined;
    for (let n = 0; n < 200 && address === undefined; n++) {
      const i = (await agent.observe()).find((x) => x.id === 'stamped-a');
      if (i?.state === 'healthy') address = i.address;
      else await sleep(100);
    }
    expect(address).toBeDefined();
    for (let i = 0; i < 3; i++) await request(address!, `/before-${i}`);
    await sleep(2500); // marked: more than the agent's mark interval
    const between = Date.now();
    await sleep(1200);
    for (let i = 0; i < 3; i++) await request(address!, `/after-${i}`);
    await sleep(2500);

    const stamped = logs('--timestamps');
    expect(stamped.code, stamped.stderr).toBe(0);
    const lines = stamped.stdout.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(6);
    const times = lines.map((l) => Date.parse(STAMP.exec(l)?.[1] ?? 'none'));
    expect(
      times.every(Number.isFinite),
      lines.find((l) => !STAMP.test(l)),
    ).toBe(true);
    // In the order written, never back in time; the text after the stamp is the log's own.
    for (let k = 1; k < times.length; k++) expect(times[k]).toBeGreaterThanOrEqual(times[k - 1]!);
    expect(lines.map((l) => l.replace(STAMP, '')).join('\n')).toBe(
      logs().stdout.split('\n').filter(Boolean).join('\n'),
    );
    const timeOf = (word: string) => times[lines.findIndex((l) => l.includes(word))]!;
    expect(timeOf('before-2')).toBeLessThan(between);
    expect(timeOf('after-0')).toBeGreaterThanOrEqual(between);

    const since = logs('--since', new Date(between).toISOString());
    expect(since.code, since.stderr).toBe(0);
    expect(since.stdout).toContain('after-0');
    expect(since.stdout).not.toContain('before-');
    expect(since.stderr).toBe(''); // marked: nothing to warn of
    // A duration ago, and a time that is not one.
    expect(logs('--since', '10m').stdout).toContain('before-0');
    const bad = logs('--since', 'yesterday-ish');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--since');

    // As data: the same text, and the marks that stamp it.
    const asJson = logs('-o', 'json', '--timestamps');
    expect(asJson.code, asJson.stderr).toBe(0);
    const answer = JSON.parse(asJson.stdout) as {
      id: string;
      text: string;
      marks: { at: string; offset: number }[];
    };
    expect(answer.id).toBe('stamped-a');
    expect(answer.text).toContain('after-2');
    expect(answer.marks.length).toBeGreaterThan(1);
    expect(answer.marks.every((m) => STAMP.test(`${m.at} `))).toBe(true);
    const gone = ingot(['logs', 'stamped-nope', '-o', 'json'], { env: { INGOT_HOME: home } });
    expect(gone.code).toBe(1);
    expect(JSON.parse(gone.stdout)).toMatchObject({ error: { code: 'E_INSTANCE_NOT_FOUND' } });

    // Marks are bounded in number and kept on disk beside the log, as the agent wrote them.
    const marks = join(home, 'instances', 'stamped-a', 'log.marks');
    const written = (await import('node:fs')).readFileSync(marks, 'utf8').trim().split('\n');
    expect(written.length).toBeGreaterThan(1);
    expect(written.every((l) => /^\d+ \d+$/.test(l))).toBe(true);
  }, 90_000);
});
