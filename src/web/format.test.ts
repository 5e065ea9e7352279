import { describe, expect, it } from 'vitest';
import { instances, shortDigest, stepText, timeLeft } from './format.js';

describe('the dashboard words', () => {
  it('shortens a digest and leaves anything else as it is', () => {
    expect(shortDigest(`sha256:${'ab'.repeat(32)}`)).toBe('sha256:abababababab');
    expect(shortDigest('<img src=x>')).toBe('<img src=x>');
  });
  it('counts time left down to zero, never below', () => {
    expect(timeLeft(10_500, 0)).toBe('11 s');
    expect(timeLeft(0, 5000)).toBe('0 s');
    expect(timeLeft(185_000, 0)).toBe('3 min 5 s');
    expect(timeLeft(7_260_000, 0)).toBe('2 h 1 min');
  });
  it('names the step', () => {
    expect(stepText(0, 0)).toBeNull();
    expect(stepText(0, 2)).toBe('step 1 of 2');
    expect(stepText(2, 2)).toBe('final (after 2 steps)');
    expect(instances(1)).toBe('1 instance');
    expect(instances(3)).toBe('3 instances');
  });
});
