import { describe, expect, it } from 'vitest';
import type { Io } from './io.js';
import { watchFrames, type Frame } from './watch.js';

const io = (tty: boolean, out: string[]): Io => ({
  out: (t) => out.push(t),
  err: () => undefined,
  errIsTty: false,
  outIsTty: tty,
  columns: 80,
  env: {},
});

const frames = (list: Frame[]) => {
  let n = 0;
  return () => Promise.resolve(list[Math.min(n++, list.length - 1)]!);
};

describe('watchFrames', () => {
  const list: Frame[] = [
    { text: 'a 3s\n', key: 'a' },
    { text: 'a 2s\n', key: 'a' },
    { text: 'b 2s\n', key: 'b' },
    { text: 'b 2s\n', key: 'b' },
    { text: 'done\n', key: 'done', exit: 3 },
  ];

  it('off a terminal prints a block only when the key changes, and ends with the exit code', async () => {
    const out: string[] = [];
    expect(await watchFrames(io(false, out), frames(list), () => Promise.resolve())).toBe(3);
    expect(out).toEqual(['a 3s\n', '\nb 2s\n', '\ndone\n']);
  });

  it('on a terminal redraws in place whenever the text changes', async () => {
    const out: string[] = [];
    await watchFrames(io(true, out), frames(list), () => Promise.resolve());
    expect(out.map((t) => t.replace('\x1b[H\x1b[2J', '<clear>'))).toEqual([
      '<clear>a 3s\n',
      '<clear>a 2s\n',
      '<clear>b 2s\n',
      '<clear>done\n',
    ]);
  });
});
