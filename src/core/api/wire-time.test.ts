import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fleetOnWire, fleetRecord, historyEntry, historyOnWire } from './fleets.js';
import { timeFromWire, timeOnWire, wireTime } from './wire-time.js';
import { fleet } from '../controller/fixtures.case.js';

// Any instant a store may hold, from 1970 to the year 9999 (toISOString's four-digit years).
const instant = fc.integer({ min: 0, max: 253_402_300_799_999 });

describe('times on the wire', () => {
  it('are RFC 3339 in UTC and read back to the same millisecond', () => {
    fc.assert(
      fc.property(instant, (ms) => {
        const s = timeOnWire(ms);
        expect(wireTime.safeParse(s).success).toBe(true);
        expect(s.endsWith('Z')).toBe(true);
        expect(timeFromWire(s)).toBe(ms);
      }),
    );
  });

  it('a fleet record and a history line pass their answer schemas with every time a string', () => {
    fc.assert(
      fc.property(instant, fc.option(instant), fc.option(instant), (at, ready, paused) => {
        const f = fleetOnWire(
          fleet({ rolloutStartedAt: at, stepStartedAt: at, stepReadyAt: ready, pausedAt: paused }),
        );
        const parsed = fleetRecord.parse(f);
        expect(parsed.rolloutStartedAt).toBe(timeOnWire(at));
        expect(parsed.pausedAt).toBe(paused === null ? null : timeOnWire(paused));
        const h = historyOnWire({
          seq: 1,
          time: at,
          fleet: 'web',
          kind: 'k',
          detail: 'd',
          actor: 'a',
        });
        expect(historyEntry.parse(h).time).toBe(timeOnWire(at));
      }),
    );
  });

  it('a number where a time belongs is refused, as from an older server', () => {
    expect(
      historyEntry.safeParse({ seq: 1, time: 0, fleet: 'w', kind: 'k', detail: '', actor: '' })
        .success,
    ).toBe(false);
    expect(wireTime.safeParse('2026-12-05 03:00:00').success).toBe(false);
    expect(wireTime.safeParse('2026-12-05T03:00:00+01:00').success).toBe(true);
  });
});
