import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JsonlOutbox } from '../adapters/outbox/jsonl-outbox.js';
import type { LedgerEntryDraft } from '../core/ledger/index.js';
import { parseDebugRequest } from './debug.js';
import { LedgerRecorder } from './ledger.js';

const draft = (kind: string, detail: Record<string, unknown> = {}): LedgerEntryDraft => ({
  time: 1,
  actor: 'agent',
  kind,
  subjects: [],
  detail,
});

describe('the ledger recorder', () => {
  it('never lets one oversized event block the ones after it', async () => {
    const appended: LedgerEntryDraft[][] = [];
    const r = new LedgerRecorder({
      append: (d) => Promise.resolve(void appended.push([...d])),
      checkpoint: () => Promise.resolve(),
      onError: () => undefined,
    });
    r.record(draft('drift', { path: 'x'.repeat(100_000) }));
    r.record(draft('instance-started'));
    await r.close();
    expect(appended.flat().map((d) => d.kind)).toEqual(['ledger-error', 'instance-started']);
    expect(appended.flat()[0]!.detail['kind']).toBe('drift');
  });

  it('keeps a batch that failed to append, in order, and appends it next time', async () => {
    let fail = true;
    const appended: string[] = [];
    const r = new LedgerRecorder({
      append: (d) => {
        if (fail) return Promise.reject(new Error('disk full'));
        appended.push(...d.map((x) => x.kind));
        return Promise.resolve();
      },
      checkpoint: () => Promise.resolve(),
      onError: () => undefined,
    });
    r.record(draft('a'));
    await expect(r.flush()).rejects.toThrow(/disk full/);
    r.record(draft('b'));
    fail = false;
    await r.close();
    expect(appended).toEqual(['a', 'b']);
  });
});

describe('the ledger outbox', () => {
  it('gives the next run what a killed one had not recorded, and only that', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ingot-outbox-'));
    try {
      const outbox = join(dir, 'outbox.jsonl');
      const options = {
        everyMs: 1e9,
        everyEntries: 1e9,
        batchMs: 1e9,
        outbox: new JsonlOutbox(outbox),
      };
      const appended: string[] = [];
      const deps = {
        append: (d: readonly LedgerEntryDraft[]) => {
          appended.push(...d.map((x) => x.kind));
          return Promise.resolve();
        },
        checkpoint: () => Promise.resolve(),
        onError: () => undefined,
      };
      const first = new LedgerRecorder(deps, options);
      first.record(draft('recorded'));
      await first.flush();
      first.record(draft('in-flight')); // and then the process is killed
      const next = new LedgerRecorder(deps, options);
      expect(await next.recover()).toBe(1);
      expect(appended).toEqual(['recorded', 'in-flight']);
      expect(readFileSync(outbox, 'utf8')).toBe('');
      await next.close();
      await first.close().catch(() => undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the outbox file', () => {
  it('drops what was never an event, and keeps the events beside it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ingot-outbox-'));
    try {
      const file = join(dir, 'outbox.jsonl');
      writeFileSync(file, `null\n42\n${JSON.stringify(draft('kept'))}\n{"cut": \n`);
      const appended: string[] = [];
      const r = new LedgerRecorder(
        {
          append: (d) => Promise.resolve(void appended.push(...d.map((x) => x.kind))),
          checkpoint: () => Promise.resolve(),
          onError: () => undefined,
        },
        { everyMs: 1e9, everyEntries: 1e9, batchMs: 1e9, outbox: new JsonlOutbox(file) },
      );
      expect(await r.recover()).toBe(1);
      expect(appended).toEqual(['kept']);
      await r.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a break-glass request', () => {
  const ok = { reason: 'look', who: 'alice', command: ['/bin/sh'] };
  const caller = { credential: 'admin token', uid: 1000, user: 'bob' };
  it('is refused without a reason, with control characters, or too long to record', () => {
    // The claim is kept as a claim; who was authenticated comes from the server, not the body.
    expect(parseDebugRequest(ok, caller)).toMatchObject({
      ttlMs: 900_000,
      command: '"/bin/sh"',
      who: 'alice',
      authenticated: caller,
    });
    expect(() => parseDebugRequest({ ...ok, authenticated: caller }, caller)).toThrow(
      /E_DEBUG_INVALID|invalid/,
    );
    for (const bad of [
      { ...ok, reason: '  ' },
      { ...ok, who: 'alice\nroot' },
      { ...ok, command: Array.from({ length: 8 }, () => 'x'.repeat(1000)) },
      { ...ok, command: [] },
      { ...ok, ttlSeconds: 0 },
    ])
      expect(() => parseDebugRequest(bad, caller)).toThrow(/E_DEBUG_INVALID|invalid/);
  });
});
