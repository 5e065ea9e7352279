import { describe, expect, it } from 'vitest';
import { STATUS } from '../adapters/http/status.js';
import { ERROR_CODES, isErrorCode } from './error-codes.js';
import { IngotError } from './errors.js';

describe('error codes', () => {
  it('are a closed set: a typo does not compile', () => {
    // @ts-expect-error E_FLEET_NOTFOUND is not a code (E_FLEET_NOT_FOUND is)
    const typo = new IngotError('E_FLEET_NOTFOUND', 'no fleet');
    expect(isErrorCode(typo.code)).toBe(false);
    expect(isErrorCode('E_FLEET_NOT_FOUND')).toBe(true);
    expect(isErrorCode(42)).toBe(false);
  });

  it('each belong to one module', () => {
    const all = Object.values(ERROR_CODES).flat();
    expect(new Set(all).size).toBe(all.length);
    for (const code of all) expect(code).toMatch(/^E_[A-Z0-9_]+$/);
  });

  it('each have an HTTP status: 4xx for what a client caused, else 500', () => {
    for (const code of Object.values(ERROR_CODES).flat()) {
      expect(STATUS[code]).toBeGreaterThanOrEqual(400);
      expect(STATUS[code]).toBeLessThan(600);
    }
    expect(STATUS.E_FLEET_INVALID).toBe(400);
    expect(STATUS.E_DEPLOY_REFUSED).toBe(403);
    expect(STATUS.E_FLEET_NOT_FOUND).toBe(404);
    expect(STATUS.E_FLEET_CONFLICT).toBe(409);
    expect(STATUS.E_LEDGER_CONSISTENCY).toBe(500);
  });
});
