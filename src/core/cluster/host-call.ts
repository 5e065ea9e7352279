import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * A server's call to a host's agent (logs, verification, break-glass), signed with the
 * host's credential (join.ts: an HMAC of its name under the join token, which every server can
 * derive and only that host was given). The credential itself never crosses the wire: an
 * observer of one call learns a signature that names its method, path, body, time and nonce, so it
 * can neither make another call nor replay this one after the window (the host also refuses a
 * signature it has already seen).
 */

/** How far a call's time may be from the host's clock, either way. */
export const CALL_WINDOW_MS = 30_000;

/** The scheme of the `Authorization` header: `Ingot-Server <time>:<nonce>:<hex signature>`. */
const SCHEME = 'Ingot-Server';

export interface HostCall {
  readonly method: string;
  /** Path and query, exactly as sent. */
  readonly path: string;
  readonly body: Uint8Array;
  /** When it was made, ms since the epoch. */
  readonly time: number;
  /**
   * 16-64 hex digits, fresh for each call: two calls alike made in the same millisecond
   * (two users following one log) are two calls, not a replay.
   */
  readonly nonce: string;
}

function signature(credential: string, call: HostCall): string {
  const body = createHash('sha256').update(call.body).digest('hex');
  return createHmac('sha256', credential)
    .update(
      `ingot-host-call\n${call.method.toUpperCase()}\n${call.path}\n${call.time}\n${call.nonce}\n${body}`,
    )
    .digest('hex');
}

/** The `Authorization` header a server sends with `call`. */
export function signHostCall(credential: string, call: HostCall): string {
  return `${SCHEME} ${call.time}:${call.nonce}:${signature(credential, call)}`;
}

export type CallCheck =
  | { readonly ok: true; readonly signature: string }
  | { readonly ok: false; readonly reason: string };

/**
 * Whether `authorization` signs `call` (whose time is taken from the header) under
 * `credential`, made within the window of `now`. Replays are the caller's to refuse: it keeps
 * the signatures it accepted for twice the window.
 */
export function checkHostCall(
  credential: string,
  authorization: string | undefined,
  call: Omit<HostCall, 'time' | 'nonce'>,
  now: number,
): CallCheck {
  const m = /^Ingot-Server (\d{1,15}):([0-9a-f]{16,64}):([0-9a-f]{64})$/.exec(authorization ?? '');
  if (!m) return { ok: false, reason: 'a signed server call is required' };
  const time = Number(m[1]);
  const nonce = m[2]!;
  if (Math.abs(now - time) > CALL_WINDOW_MS)
    return {
      ok: false,
      reason: `the call was signed ${Math.round((now - time) / 1000)} s from this host's clock (more than ${CALL_WINDOW_MS / 1000} s: check both clocks)`,
    };
  const expected = Buffer.from(signature(credential, { ...call, time, nonce }));
  const got = Buffer.from(m[3]!);
  if (got.length !== expected.length || !timingSafeEqual(got, expected))
    return { ok: false, reason: 'the signature does not match this host' };
  return { ok: true, signature: m[3]! };
}

/**
 * Signatures already accepted, until they fall out of the window: a call seen twice is a
 * replay. Bounded by what the window can hold at the rate calls are accepted.
 */
export class SeenCalls {
  private readonly seen = new Map<string, number>();

  constructor(private readonly max = 10_000) {}

  /** False if `signature` was already accepted; else remembers it. */
  firstTime(signature: string, now: number): boolean {
    for (const [s, at] of this.seen) {
      if (now - at <= 2 * CALL_WINDOW_MS) break;
      this.seen.delete(s);
    }
    if (this.seen.has(signature)) return false;
    // Full: refuse rather than forget one (forgetting would let it be replayed).
    if (this.seen.size >= this.max) return false;
    this.seen.set(signature, now);
    return true;
  }
}
