import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  readInstanceLogBytes,
  readInstanceLogMarks,
} from '../src/adapters/host-files/instance-files.js';
import { createAgent } from '../src/bin/agent.js';
import { seenAt } from '../src/core/runtime/log-marks.js';
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
  let keys: string;
  const logs = (...args: string[]) =>
    ingot(['logs', 'stamped-a', ...args], { env: { INGOT_HOME: home } });

  beforeAll(async () => {
    requireHost();
    root = mkdtempSync(join(tmpdir(), 'ingot-stamps-'));
    home = join(root, 'home');
    net = testNet();
    keys = join(root, 'keys');
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
  it('stamps the lines after bytes that are not UTF-8 by their own bytes, and cuts --since there', async () => {
    // hello, serving quietly (no -vv: no request lines), after it writes a first line of 60
    // bytes that are not UTF-8 and one cut short before its CR LF, then, 3 s apart, two more
    // (one with an overlong form). Decoded, the first line is three times longer: counted on
    // the text, every later line fell past the last mark and was stamped "now".
    const app = join(root, 'bad-bytes');
    cpSync(HELLO, app, { recursive: true, verbatimSymlinks: true });
    const script =
      '/bin/busybox httpd -f -p 8080 -h /srv/www & ' +
      [
        'i=0; while [ $i -lt 20 ]; do printf "\\377\\376\\200"; i=$((i+1)); done',
        'printf " bad\\342\\202\\r\\n"',
        '/bin/busybox sleep 3; echo late-0; printf "\\300\\257 odd\\n"',
        '/bin/busybox sleep 3; echo late-1; wait',
      ].join('; ');
    const yaml = readFileSync(join(app, 'ingot.yaml'), 'utf8').replace(
      /^ {2}entrypoint: .*$/m,
      `  entrypoint: [/bin/busybox, sh, -c, '${script}']`,
    );
    writeFileSync(join(app, 'ingot.yaml'), yaml);
    const bad = (await buildWith(home, app, { keys: [join(keys, 'ci.key')] })).digest;
    await agent.apply([{ id: 'stamped-b', fleet: 'stamped-bytes', artifact: bad }]);
    const logsB = (...args: string[]) =>
      ingot(['logs', 'stamped-b', ...args], { env: { INGOT_HOME: home } });
    for (let n = 0; n < 200 && !logsB().stdout.includes('late-1'); n++) await sleep(100);
    await sleep(2500); // late-1 marked: more than the agent's mark interval
    const readFrom = Date.now();

    const stamped = logsB('--timestamps');
    expect(stamped.code, stamped.stderr).toBe(0);
    // The raw bytes really are not UTF-8, and the lines are where the script put them.
    const raw = readInstanceLogBytes(home, 'stamped-b');
    expect(raw.subarray(0, 3), raw.toString()).toEqual(Buffer.from([0xff, 0xfe, 0x80]));
    const rawLines: { offset: number; text: string }[] = [];
    for (let p = 0; p < raw.length;) {
      const end = raw.indexOf(0x0a, p) === -1 ? raw.length : raw.indexOf(0x0a, p) + 1;
      rawLines.push({ offset: p, text: raw.subarray(p, end).toString('utf8') });
      p = end;
    }
    expect(rawLines.map((l) => l.text.replace(/\ufffd+/g, '~'))).toEqual([
      '~ bad~\r\n',
      'late-0\n',
      '~ odd\n',
      'late-1\n',
    ]);
    // Each line stamped as its own offset in the log's bytes says, by the agent's marks.
    const marks = readInstanceLogMarks(home, 'stamped-b');
    const lines = stamped.stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(4);
    const times = lines.map((l) => Date.parse(STAMP.exec(l)?.[1] ?? 'none'));
    rawLines.forEach((l, k) => {
      expect(lines[k]!.replace(STAMP, '')).toBe(l.text.replace(/\n$/, ''));
      expect(times[k], lines[k]).toBe(seenAt(marks, l.offset, 0));
    });
    // Those times are the ones the lines were written at, 3 s apart, and none is "now".
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(2000);
    expect(times[3]! - times[1]!).toBeGreaterThanOrEqual(2000);
    expect(times[3]!).toBeLessThan(readFrom - 1000);

    // --since just after late-0 was seen starts at the first line seen since (late-1, or
    // "odd" if the agent marked between the two writes); at late-0's time, at late-0.
    const shownSince = (t: number) =>
      lines
        .filter((_, k) => times[k]! >= t)
        .map((l) => `${l.replace(STAMP, '')}\n`)
        .join('');
    const since = logsB('--since', new Date(times[1]! + 1).toISOString());
    expect(since.code, since.stderr).toBe(0);
    expect(since.stdout).toBe(shownSince(times[1]! + 1));
    expect(since.stdout).toMatch(/late-1\n$/);
    expect(since.stdout).not.toContain('late-0');
    const fromLate0 = logsB('--since', new Date(times[1]!).toISOString());
    expect(fromLate0.stdout).toBe(shownSince(times[1]!));
    expect(fromLate0.stdout).toMatch(/^late-0\n/);
    // The tail, cut on the bytes by the host: its start is the line's offset in the log.
    const tail = JSON.parse(logsB('--tail', '1', '-o', 'json', '--timestamps').stdout) as {
      text: string;
      start: number;
      marks: { at: string; offset: number; lines: number }[];
    };
    expect(tail).toMatchObject({ text: 'late-1\n', start: rawLines[3]!.offset });
    expect(tail.marks.map((m) => m.lines)).toEqual([1]);
  }, 90_000);
});
