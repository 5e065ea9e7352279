import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../../../core/ledger/entry.js';
import { logTable } from './log.js';

const long = `release ${'x'.repeat(200)}`;
const entry = {
  seq: 3,
  time: Date.UTC(2026, 11, 5, 4),
  actor: 'admin',
  kind: 'deploy',
  subjects: [`sha256:${'a'.repeat(64)}`],
  fleet: 'web',
  detail: { summary: long },
} as unknown as LedgerEntry;

describe('ingot ledger log, as a table', () => {
  it('cuts what an entry says at 120 characters; -o wide shows it whole, with its subjects', () => {
    const [header, row] = logTable([entry]).trimEnd().split('\n');
    expect(header!.split(/\s+/)).toEqual([
      'SEQ',
      'TIME',
      'ACTOR',
      'KIND',
      'FLEET',
      'INSTANCE',
      'WHAT',
    ]);
    expect(row).toMatch(/^3 +2026-12-05T04:00:00\.000Z +admin +deploy +web +- +release x+$/);
    expect(row!.endsWith(long.slice(0, 120))).toBe(true);
    const [wideHeader, wideRow] = logTable([entry], true).trimEnd().split('\n');
    expect(wideHeader!.split(/\s+/)).toEqual([
      'SEQ',
      'TIME',
      'ACTOR',
      'KIND',
      'FLEET',
      'INSTANCE',
      'SUBJECTS',
      'WHAT',
    ]);
    expect(wideRow).toContain(`sha256:${'a'.repeat(64)}  ${long}`);
  });
});
