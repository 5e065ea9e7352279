import { describe, expect, it } from 'vitest';
import { historyTable } from './history.js';

describe('ingot history', () => {
  it('has a header, says who and why, and never says a reason twice', () => {
    const text = historyTable([
      {
        seq: 1,
        time: '1970-01-01T00:00:00.000Z',
        fleet: 'web',
        kind: 'deploy',
        detail: 'release a',
        actor: 'admin',
      },
      {
        seq: 2,
        time: '1970-01-01T00:00:01.000Z',
        fleet: 'web',
        kind: 'rollback',
        detail: 'a → b: health failed',
        actor: 'controller',
        reason: 'health failed',
      },
      {
        seq: 3,
        time: '1970-01-01T00:00:02.000Z',
        fleet: 'web',
        kind: 'step',
        detail: 'old line',
        actor: '',
      },
    ]);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+FLEET\s+EVENT\s+WHAT\s+BY\s+WHY$/);
    expect(lines[1]).toMatch(/^1970-01-01T00:00:00\.000Z\s+web\s+deploy\s+release a\s+admin$/);
    expect(lines[2]).toMatch(/rollback\s+a → b: health failed\s+controller$/);
    expect(lines[3]).toMatch(/step\s+old line\s+-$/);
    // A reason the line does not say gets its own column.
    const other = historyTable([
      {
        seq: 1,
        time: '1970-01-01T00:00:00.000Z',
        fleet: 'web',
        kind: 'pause',
        detail: 'held',
        actor: 'admin',
        reason: 'why',
      },
    ]);
    expect(other.trimEnd().split('\n')[1]).toMatch(/pause\s+held\s+admin\s+why$/);
  });

  it('-o wide adds the sequence number and always says the reason', () => {
    const rows = [
      {
        seq: 7,
        time: '1970-01-01T00:00:00.000Z',
        fleet: 'web',
        kind: 'rollback',
        detail: 'a → b: health failed',
        actor: 'controller',
        reason: 'health failed',
      },
    ];
    const [header, line] = historyTable(rows, true).trimEnd().split('\n');
    expect(header).toMatch(/^SEQ\s+TIME\s+FLEET\s+EVENT\s+WHAT\s+BY\s+WHY$/);
    expect(line).toMatch(/^7\s+1970-.*controller\s+health failed$/);
    expect(historyTable(rows).split('\n')[1]).toMatch(/controller$/);
  });
});
