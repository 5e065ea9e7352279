import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CALL_WINDOW_MS, checkHostCall, SeenCalls, signHostCall } from './host-call.js';

const call = fc.record({
  method: fc.constantFrom('GET', 'POST'),
  path: fc.string({ minLength: 1, maxLength: 80 }).map((s) => `/v1/host/${s}`),
  body: fc.uint8Array({ maxLength: 64 }),
  time: fc.integer({ min: 1_000_000, max: 4_000_000_000_000 }),
  nonce: fc.stringMatching(/^[0-9a-f]{32}$/),
});
const credential = fc.stringMatching(/^[0-9a-f]{64}$/);

describe('server calls to a host', () => {
  it('a call signed with the host credential is accepted within the window', () => {
    fc.assert(
      fc.property(
        credential,
        call,
        fc.integer({ min: -CALL_WINDOW_MS, max: CALL_WINDOW_MS }),
        (cred, c, skew) => {
          const header = signHostCall(cred, c);
          expect(checkHostCall(cred, header, c, c.time + skew).ok).toBe(true);
        },
      ),
    );
  });

  it('another credential, method, path, body or time is refused', () => {
    fc.assert(
      fc.property(credential, credential, call, call, (cred, other, c, d) => {
        const header = signHostCall(cred, c);
        if (other !== cred) expect(checkHostCall(other, header, c, c.time).ok).toBe(false);
        const changed = { ...c, method: d.method, path: d.path, body: d.body };
        const same =
          d.method === c.method &&
          d.path === c.path &&
          Buffer.from(d.body).equals(Buffer.from(c.body));
        expect(checkHostCall(cred, header, changed, c.time).ok).toBe(same);
        // The time is in the header: moving it breaks the signature.
        const moved = header.replace(/ (\d+):/, (_, t: string) => ` ${Number(t) + 1}:`);
        expect(checkHostCall(cred, moved, c, c.time).ok).toBe(false);
      }),
    );
  });

  it('two calls alike in the same millisecond differ by their nonce: neither is a replay', () => {
    const c = { method: 'GET', path: '/v1/host/x', body: new Uint8Array(), time: 1_000_000 };
    const a = checkHostCall('k', signHostCall('k', { ...c, nonce: 'a'.repeat(32) }), c, c.time);
    const b = checkHostCall('k', signHostCall('k', { ...c, nonce: 'b'.repeat(32) }), c, c.time);
    expect(a.ok && b.ok && a.signature !== b.signature).toBe(true);
    // The nonce is signed: changing it breaks the signature.
    const header = signHostCall('k', { ...c, nonce: 'a'.repeat(32) }).replace(
      /:a+:/,
      `:${'c'.repeat(32)}:`,
    );
    expect(checkHostCall('k', header, c, c.time).ok).toBe(false);
  });

  it('a call older or newer than the window is refused, saying by how much', () => {
    const c = {
      method: 'GET',
      path: '/v1/host/x',
      body: new Uint8Array(),
      time: 1_000_000,
      nonce: '0'.repeat(32),
    };
    const header = signHostCall('k', c);
    const late = checkHostCall('k', header, c, c.time + CALL_WINDOW_MS + 1);
    expect(late).toMatchObject({ ok: false, reason: expect.stringContaining('30 s') as string });
    expect(checkHostCall('k', header, c, c.time - CALL_WINDOW_MS - 1).ok).toBe(false);
  });

  it('garbage in the header is refused without throwing', () => {
    fc.assert(
      fc.property(fc.option(fc.string({ maxLength: 200 })), (h) => {
        const c = { method: 'GET', path: '/', body: new Uint8Array() };
        expect(checkHostCall('k', h ?? undefined, c, 0).ok).toBe(false);
      }),
    );
  });
});

describe('seen calls', () => {
  it('a signature is accepted once within the window, and forgotten after it', () => {
    const seen = new SeenCalls();
    expect(seen.firstTime('a', 0)).toBe(true);
    expect(seen.firstTime('a', 1000)).toBe(false);
    expect(seen.firstTime('b', 1000)).toBe(true);
    // Past twice the window, no call signed then can be accepted again anyway.
    expect(seen.firstTime('a', 2 * CALL_WINDOW_MS + 1)).toBe(true);
  });

  it('when full, refuses new signatures rather than forgetting one', () => {
    const seen = new SeenCalls(2);
    expect(seen.firstTime('a', 0)).toBe(true);
    expect(seen.firstTime('b', 0)).toBe(true);
    expect(seen.firstTime('c', 0)).toBe(false);
  });
});
