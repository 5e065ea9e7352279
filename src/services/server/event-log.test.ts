import { describe, expect, it } from 'vitest';
import type { LedgerEntryDraft } from '../../core/ledger/index.js';
import { eventLine, eventLogger } from './event-log.js';

const entry = (over: Partial<LedgerEntryDraft>): LedgerEntryDraft => ({
  time: 1,
  actor: 'controller',
  kind: 'deploy',
  subjects: [],
  fleet: 'web',
  detail: {},
  ...over,
});

describe('event lines', () => {
  it('name the kind, fleet, instance, actor and subjects, with an allowlisted detail', () => {
    const line = eventLine(
      entry({
        kind: 'instance-replaced',
        instance: 'web-3',
        subjects: ['sha256:' + 'a'.repeat(64)],
        detail: { cause: 'tainted', release: 'sha256:' + 'b'.repeat(64) },
      }),
    );
    expect(line).toEqual({
      level: 'info',
      message: 'instance-replaced web',
      fields: {
        event: 'instance-replaced',
        fleet: 'web',
        instance: 'web-3',
        actor: 'controller',
        subjects: ['sha256:' + 'a'.repeat(64)],
        detail: { cause: 'tainted', release: 'sha256:' + 'b'.repeat(64) },
      },
    });
  });

  it('never carry what the allowlist does not name (env, tokens, nested evidence)', () => {
    const line = eventLine(
      entry({
        kind: 'admission',
        detail: {
          where: 'deploy',
          allowed: false,
          reasons: ['unknown key (E_KEY_UNKNOWN)', { nested: 'x' }, ['deep']],
          env: { PASSWORD: 'hunter2' },
          token: 'secret-token',
          provenance: { builder: 'x' },
        },
      }),
    );
    const text = JSON.stringify(line);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('secret-token');
    expect(text).not.toContain('provenance');
    expect(line.fields['detail']).toEqual({
      where: 'deploy',
      allowed: false,
      reasons: ['unknown key (E_KEY_UNKNOWN)'],
    });
    // A refusal is a warning; an admission that allowed is not.
    expect(line.level).toBe('warn');
    expect(eventLine(entry({ kind: 'admission', detail: { allowed: true } })).level).toBe('info');
  });

  it('cut long text and long lists short', () => {
    const line = eventLine(
      entry({
        kind: 'rollback',
        detail: { summary: 'x'.repeat(10_000), reasons: ['a', 'b', 'c', 'd', 'e', 'f'] },
      }),
    );
    const detail = line.fields['detail'] as { summary: string; reasons: string[] };
    expect(detail.summary.length).toBeLessThanOrEqual(301);
    expect(detail.reasons).toEqual(['a', 'b', 'c', 'd']);
    expect(line.level).toBe('warn');
  });

  it('go to the logger at their level', () => {
    const lines: [string, object, string][] = [];
    const sink = eventLogger({
      info: (o, m) => lines.push(['info', o, m]),
      warn: (o, m) => lines.push(['warn', o, m]),
    });
    sink(entry({ kind: 'rollout-complete', fleet: 'api' }));
    sink(entry({ kind: 'drift', fleet: undefined }));
    expect(lines.map(([level, , m]) => `${level} ${m}`)).toEqual([
      'info rollout-complete api',
      'warn drift',
    ]);
  });
});
