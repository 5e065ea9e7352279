import { describe, expect, it } from 'vitest';
import { WorkerPool, type WorkerPoolOptions } from './worker-pool.js';

/** Doubles numbers; 'die' ends the thread, 'hang' never answers, 'who' names the thread. */
const ENTRY = new URL(
  `data:text/javascript,${encodeURIComponent(`
    import { parentPort, threadId } from 'node:worker_threads';
    parentPort.on('message', (m) => {
      if (m === 'die') process.exit(3);
      if (m === 'hang') return;
      if (m === 'who') return parentPort.postMessage(threadId);
      parentPort.postMessage(typeof m === 'number' ? m * 2 : m);
    });
  `)}`,
);

const pool = (options: Partial<WorkerPoolOptions> = {}) =>
  new WorkerPool<unknown, unknown>({
    entry: ENTRY,
    size: 2,
    died: (cause, exitCode) => new Error(`died: ${cause.message} (${exitCode})`),
    closed: () => new Error('closed'),
    ...options,
  });

describe('WorkerPool', () => {
  it('answers every job, by run and by post, each with its own reply', async () => {
    const p = pool();
    try {
      const replies = await Promise.all([
        ...[1, 2, 3, 4, 5].map((n) => p.run(n)),
        ...[6, 7, 8].map((n) => p.post(n, 100)),
      ]);
      expect(replies).toEqual([2, 4, 6, 8, 10, 12, 14, 16]);
    } finally {
      await p.close();
    }
  });

  it('fails every job when a worker dies, only after ending the others, and stays broken', async () => {
    const p = pool();
    const hanging = p.post('hang', 0);
    const dying = p.post('die', 0);
    await expect(dying).rejects.toThrow('died: exit code 3 (3)');
    await expect(hanging).rejects.toThrow('died: exit code 3 (3)');
    expect(p.isBroken).toBe(true);
    expect(p.unusable?.message).toBe('died: exit code 3 (3)');
    await expect(p.run(1)).rejects.toThrow('died');
    await p.close();
  });

  it('fails what is unanswered on close, and refuses new jobs', async () => {
    const p = pool();
    const hanging = p.run('hang');
    await p.close();
    await expect(hanging).rejects.toThrow('closed');
    await expect(p.post(1, 0)).rejects.toThrow('closed');
    expect(p.isBroken).toBe(false);
  });

  it('ends idle workers after idleMs and starts new ones for the next job', async () => {
    const p = pool({ size: 1, idleMs: 20 });
    try {
      const before = await p.run('who');
      await new Promise((resolve) => setTimeout(resolve, 200));
      const after = await p.run('who');
      expect(after).not.toBe(before);
    } finally {
      await p.close();
    }
  });
});
