import { describe, expect, it } from 'vitest';
import { fleet, instance, NEW, spec, T0 } from './fixtures.case.js';
import { judgeGuard } from './guard.js';
import { EMPTY_MEMORY, type ControllerMemory } from './memory.js';

const guarded = spec({ replicas: 4, meltdown: { maxFailedPercent: 50, window: '60s' } });

describe('the meltdown guard', () => {
  it('counts each failing instance once, however many passes see it', () => {
    const failing = [0, 1, 2].map((n) => instance(NEW, n, T0, { state: 'failed' }));
    const first = judgeGuard(EMPTY_MEMORY, guarded, failing, T0);
    expect(first.failures).toEqual([T0, T0, T0]);
    expect(first.on).toBe(true); // 3 of 4 > 50 %
    expect(first.change?.kind).toBe('meltdown');
    const memory: ControllerMemory = { ...EMPTY_MEMORY, ...first, melting: first.on };
    const again = judgeGuard(memory, guarded, failing, T0 + 1000);
    expect(again.failures).toHaveLength(3);
    expect(again.change).toBeNull();
  });

  it('holds across a restart: the verdict comes from the remembered failures', () => {
    const failing = [0, 1, 2].map((n) => instance(NEW, n, T0, { state: 'unhealthy' }));
    const before = judgeGuard(EMPTY_MEMORY, guarded, failing, T0);
    // The failed instances were replaced meanwhile; the controller restarted.
    const remembered = JSON.parse(
      JSON.stringify({ ...EMPTY_MEMORY, ...before, melting: before.on }),
    ) as ControllerMemory;
    const after = judgeGuard(remembered, guarded, [instance(NEW, 3, T0)], T0 + 30_000);
    expect(after.on).toBe(true);
    expect(after.change).toBeNull();
    expect(after.counted).toEqual([]); // gone: a name reused later counts again
  });

  it('lets go once the failures leave the window, and says so once', () => {
    const memory: ControllerMemory = {
      ...EMPTY_MEMORY,
      failures: [T0, T0, T0],
      melting: true,
    };
    const later = judgeGuard(memory, guarded, [], T0 + 60_000);
    expect(later.on).toBe(false);
    expect(later.failures).toEqual([]);
    expect(later.change).toEqual({
      kind: 'meltdown-over',
      summary: 'failures left the window: replacing resumes',
    });
  });

  it('never holds a fleet that asks for no guard', () => {
    const failing = [0, 1].map((n) => instance(NEW, n, T0, { state: 'failed' }));
    const verdict = judgeGuard(EMPTY_MEMORY, fleet().spec, failing, T0);
    expect(verdict.on).toBe(false);
    expect(verdict.change).toBeNull();
  });
});
