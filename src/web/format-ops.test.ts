import { describe, expect, it } from 'vitest';
import { age, endpoints, when } from './format.js';

describe('the words of the fleet-operations views', () => {
  it('says an age in its largest units, never negative', () => {
    expect(age(0, 42_900)).toBe('42 s');
    expect(age(0, 185_000)).toBe('3 min');
    expect(age(0, 2 * 3600_000 + 5 * 60_000)).toBe('2 h 5 min');
    expect(age(0, 3 * 86_400_000 + 4 * 3600_000)).toBe('3 d 4 h');
    expect(age(10_000, 0)).toBe('0 s');
  });
  it('joins an address with each port, and shows an absent one as a dash', () => {
    expect(endpoints('10.0.0.2', [8080, 9090])).toBe('10.0.0.2:8080, 10.0.0.2:9090');
    expect(endpoints('10.0.0.2', [])).toBe('10.0.0.2');
    expect(endpoints(undefined, [8080])).toBe('—');
  });
  it('leaves a time it cannot read as the text it was', () => {
    expect(when('<b>not a time</b>')).toBe('<b>not a time</b>');
    expect(when('2026-01-01T00:00:00.000Z')).not.toBe('2026-01-01T00:00:00.000Z');
  });
});
