import { describe, expect, it } from 'vitest';
import { LedgerError } from './errors.js';
import { formatLedgerExport, parseLedgerExport, type LedgerExport } from './export-format.js';

const sample: LedgerExport = {
  origin: 'ingot.test/ledger',
  vkey: 'ingot.test/ledger+00000000+AQ==',
  size: 2,
  entries: ['{"a":"\\"quoted\\"\\n"}', '{"b":"é"}'],
  nodes: [
    { level: 0, index: 0, hash: Buffer.alloc(32, 1) },
    { level: 0, index: 1, hash: Buffer.alloc(32, 2) },
    { level: 1, index: 0, hash: Buffer.alloc(32, 3) },
  ],
  checkpoints: [{ size: 2, time: 5, note: 'ingot.test/ledger\n2\nAAAA\n\n— k AAAA\n' }],
};

function problemsOf(text: string): string[] {
  try {
    parseLedgerExport(text, 'x.jsonl');
  } catch (err) {
    expect(err).toBeInstanceOf(LedgerError);
    expect((err as LedgerError).code).toBe('E_LEDGER_EXPORT');
    return (err as LedgerError).details['problems'] as string[];
  }
  return [];
}

describe('the export format', () => {
  it('round-trips, one JSON object per line', () => {
    const text = formatLedgerExport(sample);
    expect(text.split('\n')).toHaveLength(1 + 2 + 3 + 1 + 1);
    expect(parseLedgerExport(text)).toEqual(sample);
    expect(parseLedgerExport(text.trimEnd())).toEqual(sample);
  });

  it('reports every malformed line at once, with its number', () => {
    const lines = formatLedgerExport(sample).trimEnd().split('\n');
    lines[1] = '{"type":"entry"}';
    lines[3] = '{"type":"node","level":0,"index":1,"hash":"AAAA"}';
    lines[4] = 'not json';
    lines[6] = lines[0]!;
    expect(problemsOf(lines.join('\n'))).toEqual([
      expect.stringMatching(/^x\.jsonl:2: body/),
      expect.stringMatching(/^x\.jsonl:4: hash: the base64 of 32 bytes/),
      'x.jsonl:5: not JSON',
      'x.jsonl:7: a second header',
    ]);
  });

  it('needs its header first, and bounds what it reads', () => {
    expect(problemsOf('')).toEqual(['x.jsonl:1: empty: expected a header line']);
    const lines = formatLedgerExport(sample).trimEnd().split('\n');
    expect(problemsOf(lines.slice(1).join('\n'))[0]).toMatch(/the first line must be the header/);
    const big = JSON.stringify({ type: 'entry', body: 'x'.repeat(65 * 1024) });
    expect(problemsOf([lines[0], big].join('\n'))[0]).toMatch(
      /^x\.jsonl:2: body: at most 65536 bytes/,
    );
    const huge = JSON.stringify({ type: 'entry', body: 'x'.repeat(300 * 1024) });
    expect(problemsOf([lines[0], huge].join('\n'))[0]).toMatch(/longer than/);
    const unknown = JSON.stringify({
      type: 'header',
      format: 'ingot-ledger',
      version: 2,
      origin: 'o',
      vkey: 'k',
      size: 0,
    });
    expect(problemsOf(unknown)).toHaveLength(1);
    const many = Array.from({ length: 50 }, () => 'nope');
    expect(problemsOf([lines[0], ...many].join('\n'))).toHaveLength(20);
  });
});
