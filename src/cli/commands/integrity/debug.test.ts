import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../domain/errors.js';
import { parseTtl } from './debug.js';

describe('ingot debug --ttl', () => {
  it('takes seconds, minutes or hours', () => {
    expect(parseTtl('90s')).toBe(90);
    expect(parseTtl('15m')).toBe(900);
    expect(parseTtl(' 1h ')).toBe(3600);
    // The grammar of fleet.yaml: compound, bare seconds, up to the server's day.
    expect(parseTtl('1h30m')).toBe(5400);
    expect(parseTtl('5')).toBe(5);
    expect(parseTtl('1d')).toBe(86_400);
    expect(parseTtl('1500ms')).toBe(2);
  });

  it('refuses anything else as a usage error', () => {
    for (const raw of ['2d', '0s', '1.5h', '-1m', '1234567s', '', '15 minutes'])
      expect(() => parseTtl(raw)).toThrow(UsageError);
  });
});
