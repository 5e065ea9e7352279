import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../domain/errors.js';
import { parseTime } from './ledger-access.js';

describe('ledger times', () => {
  it('takes an ISO 8601 time or date', () => {
    expect(parseTime('2026-11-27T10:00:00Z', '--at')).toBe(Date.UTC(2026, 10, 27, 10));
    expect(parseTime('2026-11-27', '--at')).toBe(Date.UTC(2026, 10, 27));
  });

  it('takes a duration as that long ago', () => {
    const before = Date.now();
    const t = parseTime('2h', '--since');
    expect(t).toBeGreaterThanOrEqual(before - 2 * 3600_000);
    expect(t).toBeLessThanOrEqual(Date.now() - 2 * 3600_000);
  });

  it('takes now, and "90m ago" as 90m', () => {
    const before = Date.now();
    expect(parseTime('now', '--at')).toBeGreaterThanOrEqual(before);
    expect(parseTime('now', '--at')).toBeLessThanOrEqual(Date.now());
    expect(parseTime('90m ago', '--at')).toBeLessThanOrEqual(Date.now() - 90 * 60_000);
  });

  it('names the flag when it is neither', () => {
    expect(() => parseTime('yesterday', '--at')).toThrow(UsageError);
    expect(() => parseTime('yesterday', '--at')).toThrow(/^--at must be now, a time/);
  });
});
