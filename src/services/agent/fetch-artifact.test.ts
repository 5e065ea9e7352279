import { describe, expect, it } from 'vitest';
import type { Digest } from '../../domain/digest.js';
import { RegistryError } from '../../domain/registry.js';
import type { PullReport } from '../registry/pull.js';
import type { VerifyReport } from '../verify.js';
import { artifactFetcher } from './fetch-artifact.js';

const A = `sha256:${'a'.repeat(64)}` as Digest;
const B = `sha256:${'b'.repeat(64)}` as Digest;
const src = (d: Digest) => `127.0.0.1:5000/web@${d}`;
const report = (ok: boolean): PullReport => ({
  ok,
  digest: A,
  source: src(A),
  tag: null,
  layers: null,
  timings: { started: '2026-12-04T00:00:00.000Z', decided: '2026-12-04T00:00:00.100Z' },
  verify: {
    ok,
    problems: ok ? [] : [{ code: 'E_SIG_INVALID', message: 'no signature by a trusted key' }],
    decision: { allowed: ok, reasons: [] },
  } as unknown as VerifyReport,
});

describe('an artifact the host lacks', () => {
  it('is pulled once however many starts ask at once; only the first reports the pull', async () => {
    let pulls = 0;
    let release: () => void = () => undefined;
    const fetch = artifactFetcher(
      () => Promise.resolve(false),
      async () => {
        pulls++;
        await new Promise<void>((r) => (release = r));
        return report(true);
      },
    );
    const starts = [fetch(A, src(A)), fetch(A, src(A)), fetch(A, src(A))];
    await new Promise((r) => setImmediate(r));
    release();
    expect(await Promise.all(starts)).toEqual([
      { ok: true, pulled: true },
      { ok: true, pulled: false },
      { ok: true, pulled: false },
    ]);
    expect(pulls).toBe(1);
  });

  it('is not pulled when the store has it, or when nothing says where it lives', async () => {
    const never = () => Promise.reject(new Error('must not pull'));
    expect(await artifactFetcher(() => Promise.resolve(true), never)(A, src(A))).toEqual({
      ok: true,
      pulled: false,
    });
    expect(await artifactFetcher(() => Promise.resolve(false), never)(A, undefined)).toEqual({
      ok: true,
      pulled: false,
    });
  });

  it('refuses what admission refuses or what the source does not pin; fails what cannot be fetched', async () => {
    const absent = () => Promise.resolve(false);
    const refused = await artifactFetcher(absent, () => Promise.resolve(report(false)))(A, src(A));
    expect(refused).toMatchObject({ ok: false, state: 'refused' });
    const elsewhere = await artifactFetcher(absent, () => Promise.resolve(report(true)))(A, src(B));
    expect(elsewhere).toMatchObject({ ok: false, state: 'refused' });
    const down = await artifactFetcher(absent, () =>
      Promise.reject(new RegistryError('E_REGISTRY_CONNECT', 'cannot reach 127.0.0.1:5000')),
    )(A, src(A));
    expect(down).toMatchObject({ ok: false, state: 'failed' });
    expect(down.ok || down.reason).toContain('E_REGISTRY_CONNECT');
    const nowhere = await artifactFetcher(absent, undefined)(A, src(A));
    expect(nowhere).toMatchObject({ ok: false, state: 'failed' });
  });
});
