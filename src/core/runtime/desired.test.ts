import { describe, expect, it } from 'vitest';
import type { Digest } from '../../domain/digest.js';
import { isIngotError } from '../../domain/errors.js';
import type { DesiredInstance } from '../../domain/instance.js';
import { checkDesired } from './desired.js';

const one = (over: Partial<DesiredInstance> = {}): DesiredInstance => ({
  id: 'web-1',
  fleet: 'web',
  artifact: `sha256:${'a'.repeat(64)}` as Digest,
  ...over,
});

function codeOf(desired: DesiredInstance[]): string | null {
  try {
    checkDesired(desired);
    return null;
  } catch (err) {
    return isIngotError(err) ? err.code : 'not an IngotError';
  }
}

describe('a host’s desired set', () => {
  it('takes a stop grace from 0 to 10 minutes, in whole ms', () => {
    for (const stopGraceMs of [0, 1000, 600_000]) expect(codeOf([one({ stopGraceMs })])).toBeNull();
  });

  it('refuses a stop grace that is not a bounded whole number of ms (hostile or garbled input)', () => {
    for (const stopGraceMs of [-1, 1.5, 600_001, Number.NaN, Infinity, '5' as unknown as number])
      expect(codeOf([one({ stopGraceMs })])).toBe('E_STOP_GRACE');
  });

  it('pulls only what the release pinned: a source must name the artifact’s digest', () => {
    const a = `sha256:${'a'.repeat(64)}`;
    expect(codeOf([one({ source: `127.0.0.1:5000/web@${a}` })])).toBeNull();
    for (const source of [
      '127.0.0.1:5000/web:1',
      `127.0.0.1:5000/web@sha256:${'b'.repeat(64)}`,
      `web@${a}`,
      `../../etc@${a}`,
      '',
    ])
      expect(codeOf([one({ source })]), source).toBe('E_INSTANCE_SOURCE');
  });
});
