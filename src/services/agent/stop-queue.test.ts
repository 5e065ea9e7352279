import { describe, expect, it } from 'vitest';
import { StopQueue } from './stop-queue.js';

describe('the stop queue', () => {
  it('stops a few at a time, each once, and says when each has ended', async () => {
    let running = 0;
    let most = 0;
    const ran: string[] = [];
    const release: (() => void)[] = [];
    const q = new StopQueue(2, async (id) => {
      ran.push(id);
      most = Math.max(most, ++running);
      await new Promise<void>((r) => release.push(r));
      running--;
      if (id === 'bad') throw new Error('network not released');
    });
    const a = q.stop('a');
    expect(q.stop('a')).toBeInstanceOf(Promise); // asked twice: run once
    const bad = q.stop('bad');
    const c = q.stop('c');
    expect(q.has('c')).toBe(true);
    const cEnded = q.ended('c')!;
    await new Promise((r) => setTimeout(r, 10));
    expect(ran).toEqual(['a', 'bad']); // c waits for a slot
    release.shift()!();
    await a;
    await new Promise((r) => setTimeout(r, 10));
    expect(ran).toEqual(['a', 'bad', 'c']);
    release.shift()!();
    await expect(bad).rejects.toThrow('network not released');
    release.shift()!();
    await c;
    await cEnded; // settles, whatever the outcome
    await q.drain();
    expect(most).toBe(2);
    expect(q.has('a') || q.has('bad') || q.has('c')).toBe(false);
    expect(ran).toEqual(['a', 'bad', 'c']);
  });
});
