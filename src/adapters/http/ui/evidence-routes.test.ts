import fc from 'fast-check';
import { generateKeyPairSync, webcrypto } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostsAnswer } from '../../../core/api/hosts.js';
import type { ApiHandlers } from '../../../core/api/routes.js';
import {
  encodeVkey,
  inclusionProof,
  leafHash,
  makeEntry,
  noteSigner,
  signCheckpoint,
  treeHash,
  type LedgerEntry,
  type StoredCheckpoint,
} from '../../../core/ledger/index.js';
import type { ArtifactReader } from '../../../core/ui/artifact-view.js';
import { verifyEntryProof, webCrypto, type EntryProof } from '../../../core/ui/proof-verify.js';
import type { LedgerReader } from '../../../ports/ledger.js';
import type { EntryQuery } from '../../../core/ledger/entry-query.js';
import { buildApi } from '../api.js';
import { loadUiAssets } from './assets.js';
import { SCAN_WINDOW, scanRange, type UiEntriesPage } from './evidence-routes.js';

/*
 * The evidence routes on a real listening API, over a ledger made by the ledger's own code:
 * entries paged newest first, a proof the page's verifier accepts, the errors a page meets.
 */

const ADMIN = 'a'.repeat(64);
const READ_ONLY = 'b'.repeat(64);
const ORIGIN = 'test.local/ledger';
const dir = mkdtempSync(join(tmpdir(), 'ingot-ui-evidence-'));
mkdirSync(join(dir, 'assets'));
writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');

const { privateKey } = generateKeyPairSync('ed25519');
const made = Array.from({ length: 30 }, (_, seq) =>
  makeEntry(seq, {
    time: Date.UTC(2026, 11, 5) + seq * 1000,
    actor: `actor-${seq}`,
    kind: seq % 2 === 0 ? 'deploy' : 'build',
    subjects: [],
    fleet: 'web',
    detail: { seq },
  }),
);
const leaves = made.map((m) => leafHash(m.body));
/** Signed over the first 20 entries only: 20–29 have no proof yet. */
const SIGNED = 20;
const checkpoint: StoredCheckpoint = {
  size: SIGNED,
  time: Date.UTC(2026, 11, 5, 1),
  note: signCheckpoint(
    { origin: ORIGIN, size: SIGNED, root: treeHash(leaves.slice(0, SIGNED)) },
    noteSigner(ORIGIN, privateKey),
  ),
};
/** Every query the routes asked of the ledger, in order. */
const asked: EntryQuery[] = [];
const ledger: LedgerReader = {
  vkey: encodeVkey(ORIGIN, privateKey),
  entries: (q) => {
    asked.push(q);
    let list: LedgerEntry[] = made
      .map((m) => m.entry)
      .filter(
        (e) =>
          (q.from === undefined || e.seq >= q.from) &&
          (q.to === undefined || e.seq < q.to) &&
          (q.kind === undefined || e.kind === q.kind),
      );
    if (q.order === 'desc') list = list.reverse();
    return Promise.resolve(list.slice(0, q.limit ?? 1000));
  },
  recentCheckpoints: () => Promise.resolve([checkpoint]),
  inclusionProof: (seq, size) =>
    Promise.resolve(
      inclusionProof(seq, size, (level, index) =>
        treeHash(leaves.slice(index * 2 ** level, (index + 1) * 2 ** level)),
      ),
    ),
};
const artifacts: ArtifactReader = {
  list: () => Promise.resolve([]),
  evidence: () => Promise.reject(new Error('not in this test')),
  measurement: (_d, q) => Promise.resolve({ total: 0, matched: 0, offset: q.offset, entries: [] }),
};
const hosts: HostsAnswer = { hosts: [], leader: null };
const handlers = {
  fleets: () => Promise.resolve([]),
  promote: () => Promise.reject(new Error('no')),
  hosts: () => Promise.resolve(hosts),
} as unknown as ApiHandlers;
const api = buildApi(
  ADMIN,
  handlers,
  () => Promise.resolve({ contentType: 'text/plain', body: '' }),
  pino({ level: 'silent' }),
  undefined,
  undefined,
  undefined,
  'test',
  { assets: loadUiAssets(dir), readOnlyToken: READ_ONLY, evidence: { ledger, artifacts } },
);
let base = '';
let cookie = '';

beforeAll(async () => {
  await api.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
  const res = await fetch(`${base}/ui/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: READ_ONLY }),
  });
  cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
});
afterAll(async () => {
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = (path: string, withCookie = true) =>
  fetch(`${base}${path}`, withCookie ? { headers: { cookie } } : {});
const errorOf = async (res: Response) => ({
  status: res.status,
  code: ((await res.json()) as { error: { code: string } }).error.code,
});

describe('the evidence routes', () => {
  it('page the entries newest first, with RFC 3339 times, to a read-only session', async () => {
    const first = (await (await get('/ui/api/ledger/entries?limit=12')).json()) as UiEntriesPage;
    expect(first.size).toBe(30);
    expect(first.entries.map((e) => e.seq)).toEqual([
      29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18,
    ]);
    expect(first.entries[0]).toEqual({
      seq: 29,
      time: '2026-12-05T00:00:29.000Z',
      kind: 'build',
      actor: 'actor-29',
      subjects: [],
      fleet: 'web',
      instance: null,
    });
    const seen: number[] = [];
    let next: number | null = null;
    do {
      const page = (await (
        await get(`/ui/api/ledger/entries?limit=12${next === null ? '' : `&before=${next}`}`)
      ).json()) as UiEntriesPage;
      seen.push(...page.entries.map((e) => e.seq));
      next = page.next;
    } while (next !== null);
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => 29 - i));
    const builds = (await (
      await get('/ui/api/ledger/entries?kind=build&limit=100')
    ).json()) as UiEntriesPage;
    expect(builds.entries.every((e) => e.kind === 'build')).toBe(true);
    expect(builds.size).toBe(30);
  });

  it('search at most SCAN_WINDOW entries for a kind, and say where older ones remain', async () => {
    asked.length = 0;
    const page = (await (
      await get(`/ui/api/ledger/entries?kind=nothing-of-the-kind&before=${SCAN_WINDOW + 25}`)
    ).json()) as UiEntriesPage;
    const filtered = asked.filter((q) => q.kind !== undefined);
    expect(filtered).toHaveLength(1);
    // `before` past the log's end is the end: 30 entries, all within one window.
    expect(filtered[0]).toMatchObject({ from: 0, to: 30 });
    expect(page).toMatchObject({ size: 30, entries: [], next: null });
    expect(SCAN_WINDOW).toBeGreaterThan(30);
  });

  it('bound what a filtered page searches, and leave nothing unreachable', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 200 }),
        fc.option(fc.nat({ max: 250 }), { nil: undefined }),
        fc.integer({ min: 1, max: 50 }),
        (size, before, window) => {
          const { from, to } = scanRange(size, before, true, window);
          expect(to).toBeLessThanOrEqual(size);
          expect(to - from).toBeLessThanOrEqual(window);
          expect(from).toBeGreaterThanOrEqual(0);
          // Paging on with `before: from` reaches entry 0 in finitely many windows.
          let pages = 0;
          for (let r = { from, to }; r.from > 0; r = scanRange(size, r.from, true, window))
            pages += 1;
          expect(pages).toBeLessThanOrEqual(Math.ceil(size / window));
          expect(scanRange(size, before, false, window).from).toBe(0);
        },
      ),
    );
  });

  it("answer an entry's proof that the page's own verifier accepts", async () => {
    const { vkey } = (await (await get('/ui/api/ledger/key')).json()) as { vkey: string };
    expect(await (await get('/ui/api/ledger/checkpoints')).json()).toEqual({
      checkpoints: [{ size: SIGNED, time: '2026-12-05T01:00:00.000Z', note: checkpoint.note }],
    });
    const crypto = webCrypto(webcrypto.subtle);
    for (const seq of [0, 7, 19]) {
      const proof = (await (await get(`/ui/api/ledger/proof/${seq}`)).json()) as EntryProof;
      expect(proof.size).toBe(SIGNED);
      expect(await verifyEntryProof(proof, vkey, crypto, seq)).toMatchObject({ ok: true });
    }
  });

  it('say why there is no proof, and refuse what they cannot read', async () => {
    expect(await errorOf(await get('/ui/api/ledger/proof/25'))).toEqual({
      status: 409,
      code: 'E_LEDGER_UNANCHORED',
    });
    expect(await errorOf(await get('/ui/api/ledger/proof/99'))).toEqual({
      status: 404,
      code: 'E_LEDGER_RANGE',
    });
    for (const path of [
      '/ui/api/ledger/proof/-1',
      '/ui/api/ledger/proof/x',
      '/ui/api/ledger/entries?limit=101',
      '/ui/api/ledger/entries?kind=%3Cscript%3E',
      '/ui/api/ledger/entries?extra=1',
      `/ui/api/artifacts/sha256:${'a'.repeat(64)}/measurement?filter=${'x'.repeat(257)}`,
    ])
      expect((await errorOf(await get(path))).status, path).toBe(400);
    expect(await errorOf(await get('/ui/api/artifacts/hello:1.0.0'))).toEqual({
      status: 400,
      code: 'E_DIGEST_INVALID',
    });
  });

  it('answer 401 without the session cookie', async () => {
    for (const path of [
      '/ui/api/ledger/entries',
      '/ui/api/ledger/checkpoints',
      '/ui/api/ledger/key',
      '/ui/api/ledger/proof/0',
      '/ui/api/artifacts',
      '/ui/api/hosts',
    ])
      expect(await errorOf(await get(path, false)), path).toEqual({
        status: 401,
        code: 'E_UI_SESSION',
      });
  });
});
