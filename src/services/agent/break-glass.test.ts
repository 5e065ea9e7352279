import { describe, expect, it } from 'vitest';
import type { Digest } from '../../domain/digest.js';
import { IngotError } from '../../domain/errors.js';
import { attachDebug, closeDebug } from './break-glass.js';
import { InstanceTable, type TrackedInstance } from './instance-table.js';

const NOW = new Date('2026-12-04T12:00:00Z');

function tableWith(held: Partial<TrackedInstance>): InstanceTable {
  const table = new InstanceTable({
    load: () => [],
    put: () => undefined,
    remove: () => undefined,
    flush: () => Promise.resolve(),
    close: () => Promise.resolve(),
  });
  table.set({
    id: 'web-1',
    fleet: 'web',
    artifact: `sha256:${'0'.repeat(64)}` as Digest,
    state: 'healthy',
    ...held,
  });
  return table;
}

const code = (fn: () => void): string => {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return err instanceof IngotError ? String(err.code) : String(err);
  }
};

describe('a session joining an opened break-glass', () => {
  const open = { heldUntil: '2026-12-04T12:15:00.000Z', heldCommand: '"/bin/sh"' };

  it('runs once, for the command recorded, while the hold lasts', () => {
    const table = tableWith(open);
    expect(code(() => attachDebug(table, 'web-1', '"/bin/sh"', NOW))).toBe('ok');
    // Saved with the instance, so that a restarted agent knows it too.
    expect(table.get('web-1')?.heldAttached).toBe(true);
    // A second session on the same opening: refused, however it asks.
    expect(code(() => attachDebug(table, 'web-1', '"/bin/sh"', NOW))).toBe('E_DEBUG_HELD');
  });

  it('is refused for another command, after the TTL, unopened, or on another instance', () => {
    expect(code(() => attachDebug(tableWith(open), 'web-1', '"/bin/bash"', NOW))).toBe(
      'E_DEBUG_NOT_OPEN',
    );
    const late = new Date('2026-12-04T12:15:00.001Z');
    expect(code(() => attachDebug(tableWith(open), 'web-1', '"/bin/sh"', late))).toBe(
      'E_DEBUG_NOT_OPEN',
    );
    expect(code(() => attachDebug(tableWith({}), 'web-1', '"/bin/sh"', NOW))).toBe(
      'E_DEBUG_NOT_OPEN',
    );
    expect(code(() => attachDebug(tableWith(open), 'web-2', '"/bin/sh"', NOW))).toBe(
      'E_INSTANCE_NOT_FOUND',
    );
    const stopped = tableWith({ ...open, state: 'stopped' });
    expect(code(() => attachDebug(stopped, 'web-1', '"/bin/sh"', NOW))).toBe(
      'E_INSTANCE_NOT_FOUND',
    );
  });

  it('ends with the hold: a closed opening takes no session', () => {
    const table = tableWith(open);
    closeDebug(table, 'web-1');
    expect(table.get('web-1')?.heldCommand).toBeUndefined();
    expect(code(() => attachDebug(table, 'web-1', '"/bin/sh"', NOW))).toBe('E_DEBUG_NOT_OPEN');
  });
});
