import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogMark } from '../../core/runtime/log-marks.js';
import type { CliApp, Io } from '../io.js';
import { lastLines } from '../../core/runtime/log-text.js';
import { logText, registerLogs, unmarkedSince } from './logs.js';
import type { Runner } from './runner.js';

describe('lastLines', () => {
  it('keeps the last n lines, whole, as tail does', () => {
    expect(lastLines('a\nb\nc\n', 2)).toBe('b\nc\n');
    expect(lastLines('a\nb\nc', 2)).toBe('b\nc');
    expect(lastLines('a\nb\n', 5)).toBe('a\nb\n');
    expect(lastLines('a\n', 0)).toBe('');
    expect(lastLines('', 3)).toBe('');
    fc.assert(
      fc.property(
        fc.array(fc.string().map((s) => s.replace(/\n/g, ''))),
        fc.nat(20),
        (lines, n) => {
          const text = lines.map((l) => `${l}\n`).join('');
          expect(lastLines(text, n)).toBe(
            lines
              .slice(Math.max(0, lines.length - n))
              .map((l) => `${l}\n`)
              .join(''),
          );
        },
      ),
    );
  });
});

describe('logText', () => {
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
  // "a\n" 10-11, "bb\n" 12-14, "c\n" 15-16: marks at 12 (1 s) and 15 (2 s), read at 9 s.
  const answer = {
    id: 'web-1',
    text: 'a\nbb\nc\n',
    start: 10,
    size: 17,
    marks: [
      { at: at(1), offset: 12 },
      { at: at(2), offset: 15 },
    ],
    at: at(9),
  };

  it('stamps the lines the tail keeps by their own offsets', () => {
    expect(logText(answer, { timestamps: true }, false)).toBe(
      `${at(1)} a\n${at(2)} bb\n${at(9)} c\n`,
    );
    expect(logText(answer, { tail: 1, timestamps: true }, false)).toBe(`${at(9)} c\n`);
    expect(logText(answer, { tail: 2, timestamps: false }, false)).toBe('bb\nc\n');
  });
});

/** `ingot logs i-1 ARGS` against this home's files, as `log` and `marks`: what it printed. */
async function logsOf(args: string[], log: Uint8Array, marks: LogMark[]) {
  const home = mkdtempSync(join(tmpdir(), 'ingot-logs-cli-'));
  homes.push(home);
  const printed = { out: '', err: '', code: -1 };
  const app = {
    logs: () => log,
    logMarks: () => marks,
    previousLogs: () => {
      throw new Error('not asked');
    },
  } as unknown as CliApp;
  const io: Io = {
    out: (t) => (printed.out += t),
    err: (t) => (printed.err += t),
    errIsTty: false,
    columns: 80,
    env: {},
  };
  const run: Runner = async (fn) => {
    printed.code = await fn(app, io, { home, flags: {}, env: {}, context: () => null });
  };
  const program = new Command().exitOverride();
  registerLogs(program, run);
  await program.parseAsync(['logs', 'i-1', ...args], { from: 'user' });
  return printed;
}
const homes: string[] = [];
afterEach(() => homes.splice(0).forEach((h) => rmSync(h, { recursive: true, force: true })));

describe('logs --since', () => {
  const T = Date.UTC(2026, 0, 1);
  const iso = (ms: number) => new Date(ms).toISOString();

  it('starts at a line by the bytes as they are, not as decoded and encoded again', async () => {
    // "\xff\xff\n" 0-2 (not UTF-8: decoded, each byte is three), "a\n" 3-4, "b\n" 5-6.
    const log = Buffer.concat([Buffer.from([0xff, 0xff]), Buffer.from('\na\nb\n')]);
    const marks = [
      { at: T + 1000, offset: 3 },
      { at: T + 2000, offset: 5 },
      { at: T + 3000, offset: 7 },
    ];
    const since = await logsOf(['--since', iso(T + 2500)], log, marks);
    expect(since).toEqual({ out: 'b\n', err: '', code: 0 });
    expect((await logsOf(['--since', iso(T + 1500)], log, marks)).out).toBe('a\nb\n');
  });

  it('says on stderr that a log without marks is shown whole', async () => {
    const log = Buffer.from('old\nnew\n');
    const unmarked = await logsOf(['--since', iso(T)], log, []);
    expect(unmarked.out).toBe('old\nnew\n');
    expect(unmarked.err).toMatch(/^ingot: i-1: its log has no time marks.*all of it is shown\n$/);
    const asJson = await logsOf(['--since', iso(T), '-o', 'json'], log, []);
    expect(asJson.err).toContain('no time marks');
    // The marks asked to tell are not printed unless --timestamps asked for them.
    expect(JSON.parse(asJson.out)).toEqual({ id: 'i-1', text: 'old\nnew\n', start: 0, size: 8 });
    // Marked: no warning, whether the time is before, among or after the marks.
    const marks = [
      { at: T + 1000, offset: 4 },
      { at: T + 2000, offset: 8 },
    ];
    for (const [t, out] of [
      [T, 'old\nnew\n'],
      [T + 1500, 'new\n'],
      [T + 5000, ''],
    ] as const)
      expect(await logsOf(['--since', iso(t)], log, marks)).toEqual({ out, err: '', code: 0 });
    // Without --since there is nothing to warn of.
    expect((await logsOf([], log, [])).err).toBe('');
  });

  it('tells an unmarked log only from an answer that is all of it with no mark in it', () => {
    const whole = { id: 'i', text: 'ab\n', start: 0, size: 3, marks: [] };
    expect(unmarkedSince(whole, T)).toBe(true);
    expect(unmarkedSince(whole, undefined)).toBe(false);
    expect(unmarkedSince({ ...whole, marks: [{ at: iso(T), offset: 3 }] }, T)).toBe(false);
    expect(unmarkedSince({ ...whole, text: '', start: 3 }, T)).toBe(false);
    expect(unmarkedSince({ ...whole, text: '', size: 0 }, T)).toBe(false);
  });
});
