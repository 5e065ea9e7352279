import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UiSessions } from './sessions.js';

const limits = { idleMs: 1000, maxAgeMs: 5000, maxSessions: 3, streamsPerSession: 2 };
const ids = (n: number) => ({ id: `id-${n}`, csrf: `csrf-${n}` });

describe('dashboard sessions', () => {
  it('end after the idle time, and after the maximum age however busy', () => {
    const s = new UiSessions(limits);
    s.open('admin', ids(1), 0);
    expect(s.find('id-1', 999)?.role).toBe('admin');
    expect(s.find('id-1', 1998)).not.toBeNull(); // used at 999: idle since then
    expect(s.find('id-1', 2998)).toBeNull();
    s.open('admin', ids(2), 10_000);
    for (let t = 10_500; t < 15_000; t += 500) expect(s.find('id-2', t)).not.toBeNull();
    expect(s.find('id-2', 15_000)).toBeNull();
  });

  it('keep at most maxSessions, ending the least recently used', () => {
    const s = new UiSessions(limits);
    s.open('admin', ids(1), 0);
    s.open('read-only', ids(2), 1);
    s.open('admin', ids(3), 2);
    s.find('id-1', 3); // 2 is now the least recent
    s.open('admin', ids(4), 4);
    expect(s.size).toBe(3);
    expect(s.find('id-2', 5)).toBeNull();
    expect(s.find('id-1', 5)).not.toBeNull();
  });

  it('know no id they did not make, and forget one that ended', () => {
    const s = new UiSessions(limits);
    s.open('admin', ids(1), 0);
    expect(s.find(undefined, 1)).toBeNull();
    expect(s.find('csrf-1', 1)).toBeNull();
    s.end('id-1');
    expect(s.find('id-1', 1)).toBeNull();
  });

  it('bound the streams of a session, whatever the order of takes and releases', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 50 }), (ops) => {
        const s = new UiSessions(limits);
        const session = s.open('admin', ids(1), 0);
        let held = 0;
        for (const take of ops) {
          if (take) held += s.takeStream(session) ? 1 : 0;
          else if (held > 0) {
            s.releaseStream(session);
            held -= 1;
          }
          expect(session.streams).toBe(held);
          expect(held).toBeLessThanOrEqual(limits.streamsPerSession);
        }
      }),
    );
  });
});
