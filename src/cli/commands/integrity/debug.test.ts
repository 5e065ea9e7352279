import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../domain/errors.js';
import { parseTtl } from './debug.js';

describe('ingot debug --ttl', () => {
  it('takes seconds, minutes or hours', () => {
    expect(parseTtl('90s')).toBe(90);
    expect(parseTtl('15m')).toBe(900);
    expect(parseTtl(' 1h ')).toBe(3600);
  });

  it('refuses anything else as a usage error', () => {
    for (const raw of ['5', '1d', '1.5h', '-1m', '1234567s', ''])
      expect(() => parseTtl(raw)).toThrow(UsageError);
  });
});
