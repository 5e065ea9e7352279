import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AGENT_RESERVE_MIN,
  API_CONNECTIONS_MAX,
  API_CONNECTIONS_MIN,
  apiConnectionBudget,
} from './descriptor-budget.js';

describe('apiConnectionBudget', () => {
  it('keeps the agent its reserve and stays within its bounds', () => {
    expect(apiConnectionBudget(1024)).toBe(512);
    expect(apiConnectionBudget(20_000)).toBe(API_CONNECTIONS_MAX);
    expect(apiConnectionBudget(256)).toBe(API_CONNECTIONS_MIN);
    expect(apiConnectionBudget(Infinity)).toBe(API_CONNECTIONS_MAX);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 << 24 }), (limit) => {
        const budget = apiConnectionBudget(limit);
        expect(budget).toBeGreaterThanOrEqual(API_CONNECTIONS_MIN);
        expect(budget).toBeLessThanOrEqual(API_CONNECTIONS_MAX);
        // Past the floor, the agent always keeps half the limit and at least its minimum.
        if (budget > API_CONNECTIONS_MIN) {
          expect(limit - budget).toBeGreaterThanOrEqual(AGENT_RESERVE_MIN);
          expect(limit - budget).toBeGreaterThanOrEqual(limit / 2);
        }
      }),
    );
  });
});
