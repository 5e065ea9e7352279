import { describe, expect, it } from 'vitest';
import { EMPTY_MEMORY, parseMemory, sameMemory } from './memory.js';

describe('what the controller remembers of a fleet', () => {
  it('reads what older versions stored (no start streaks) as no streak', () => {
    const old = {
      failures: [1],
      counted: ['a'],
      melting: false,
      taintNoted: [],
      replacementNoted: [],
    };
    expect(parseMemory(JSON.stringify(old))).toEqual({
      ...old,
      startStreaks: [],
      startCounted: [],
      crashStreaks: [],
      crashCounted: [],
    });
  });

  it('keeps a start streak across a restart, and tells a changed one from the same', () => {
    const streak = { release: 'sha256:1', failures: 2, lastAt: 5, reason: 'runc: no' };
    const memory = { ...EMPTY_MEMORY, startStreaks: [streak], startCounted: ['web-1'] };
    expect(parseMemory(JSON.stringify(memory))).toEqual(memory);
    expect(sameMemory(memory, { ...memory, startStreaks: [{ ...streak }] })).toBe(true);
    expect(sameMemory(memory, { ...memory, startStreaks: [{ ...streak, failures: 3 }] })).toBe(
      false,
    );
    expect(sameMemory(memory, EMPTY_MEMORY)).toBe(false);
  });

  it('keeps a crash streak across a restart, and tells a changed one from the same', () => {
    const streak = {
      release: 'sha256:1',
      crashes: 2,
      firstAt: 5,
      lastAt: 15,
      exit: 'exited 1',
      said: "ModuleNotFoundError: No module named 'http'",
    };
    const memory = { ...EMPTY_MEMORY, crashStreaks: [streak], crashCounted: ['web-1'] };
    expect(parseMemory(JSON.stringify(memory))).toEqual(memory);
    expect(sameMemory(memory, { ...memory, crashStreaks: [{ ...streak }] })).toBe(true);
    expect(sameMemory(memory, { ...memory, crashStreaks: [{ ...streak, crashes: 3 }] })).toBe(
      false,
    );
    expect(sameMemory(memory, { ...memory, crashCounted: [] })).toBe(false);
  });
});
