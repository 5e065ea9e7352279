import { describe, expect, it } from 'vitest';
import { fleet, instance, NEW, OLD, spec, T0 } from '../../../core/controller/fixtures.case.js';
import { fleetOnWire } from '../../../core/api/fleets.js';
import type { FleetView } from './fleet-view.js';
import { rolloutFrame } from './rollout.js';

const now = T0 + 60_000;
const canary = spec({
  replicas: 4,
  strategy: { canary: { steps: [{ instances: 1, pause: '30s' }, { percent: 50 }] } },
});
const view = (over: Partial<FleetView> = {}): FleetView => ({
  ...fleetOnWire(fleet({ spec: canary, stepReadyAt: now - 5000 })),
  phase: 'canary step 1/2: 1 of 4 on the new release',
  awaitingPromotion: false,
  waiting: { for: 'pause', remainingMs: 25_000 },
  reasons: [],
  instances: [instance(NEW, 0, now), ...[0, 1, 2].map((n) => instance(OLD, n, now))],
  ...over,
});

describe('ingot rollout', () => {
  it('shows the steps with the current one marked, the wait, and new and old health', () => {
    const f = rolloutFrame(view(), 'text', now, true);
    expect(f.exit).toBeUndefined();
    expect(f.text).toContain('rollout:  progressing, started 60s ago');
    expect(f.text).toContain('waiting:  paused for 25s more (`ingot promote web` goes on now)');
    expect(f.text).toMatch(
      /steps: {4}> 1\. 1 instance\(s\) \(1 of 4\), pause 30s\n {12}2\. 50% \(2 of 4\)\n {12}3\. all instances/,
    );
    expect(f.text).toContain('new:      1/4 healthy');
    expect(f.text).toContain('old:      3 running (3 healthy)');
    // The clock moves, the key does not: off a terminal, no new block for it.
    const later = rolloutFrame(
      view({ waiting: { for: 'pause', remainingMs: 24_000 } }),
      'text',
      now,
      true,
    );
    expect(later.text).not.toBe(f.text);
    expect(later.key).toBe(f.key);
  });

  it('ends a watch with 0 when complete and 1 when rolled back; never without --watch', () => {
    expect(rolloutFrame(view({ rollout: 'complete' }), 'text', now, true).exit).toBe(0);
    expect(rolloutFrame(view({ rollout: 'rolled-back' }), 'text', now, true).exit).toBe(1);
    expect(rolloutFrame(view({ rollout: 'failed' }), 'text', now, true).exit).toBe(1);
    expect(rolloutFrame(view({ rollout: 'complete' }), 'text', now, false).exit).toBeUndefined();
  });
});
