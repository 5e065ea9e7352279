import { describe, expect, it } from 'vitest';
import { ReconcileLoop } from './reconcile-loop.js';

describe('the reconcile loop', () => {
  it('times every pass, a failed one too', async () => {
    const times: string[] = [];
    let n = 0;
    const loop = new ReconcileLoop(
      () => {
        times.push(`pass ${++n}`);
        return n === 2 ? Promise.reject(new Error('etcd away')) : Promise.resolve();
      },
      () => times.push('error'),
      () => {
        times.push('start');
        return () => times.push('end');
      },
    );
    loop.kick();
    loop.kick(); // asked while the first runs: exactly one more after it
    await new Promise((r) => setTimeout(r, 20));
    await loop.stop();
    expect(times).toEqual(['start', 'pass 1', 'end', 'start', 'pass 2', 'error', 'end']);
  });
});
