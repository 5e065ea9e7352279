/** What a dashboard session may do: the role of the token it signed in with. */
export type UiRole = 'admin' | 'read-only';

export interface UiSessionLimits {
  /** A session unused this long is gone (the next request must sign in again). */
  readonly idleMs: number;
  /** However busy, a session ends this long after sign-in. */
  readonly maxAgeMs: number;
  /** Sessions held at once; past it the least recently used one ends. */
  readonly maxSessions: number;
  /** Event streams one session may hold open at once (each is a connection). */
  readonly streamsPerSession: number;
}

export const UI_SESSION_LIMITS: UiSessionLimits = {
  idleMs: 60 * 60_000,
  maxAgeMs: 12 * 60 * 60_000,
  maxSessions: 64,
  streamsPerSession: 4,
};

export interface UiSession {
  readonly role: UiRole;
  /** The value the page must echo in a header on every state-changing request. */
  readonly csrf: string;
  readonly createdAt: number;
  lastSeenAt: number;
  streams: number;
}

/**
 * The dashboard's sessions, kept in memory only: a restart signs everyone out, which is the
 * safe way round. The cookie holds a random id, never the token, so a stolen cookie dies with
 * the session and never unlocks the API. Time and randomness are arguments. Pure.
 */
export class UiSessions {
  readonly #byId = new Map<string, UiSession>();

  constructor(private readonly limits: UiSessionLimits = UI_SESSION_LIMITS) {}

  /** A new session of `role`; `id` and `csrf` are fresh random values from the caller. */
  open(role: UiRole, ids: { id: string; csrf: string }, now: number): UiSession {
    this.#sweep(now);
    while (this.#byId.size >= this.limits.maxSessions) {
      // Map order is insertion order; `find` re-inserts, so the first is the least recent.
      const oldest = this.#byId.keys().next().value;
      if (oldest === undefined) break;
      this.#byId.delete(oldest);
    }
    const session: UiSession = {
      role,
      csrf: ids.csrf,
      createdAt: now,
      lastSeenAt: now,
      streams: 0,
    };
    this.#byId.set(ids.id, session);
    return session;
  }

  /** The live session of this id (its idle clock restarts), or null. */
  find(id: string | undefined, now: number): UiSession | null {
    if (id === undefined) return null;
    const session = this.#byId.get(id);
    if (!session) return null;
    if (this.#expired(session, now)) {
      this.#byId.delete(id);
      return null;
    }
    session.lastSeenAt = now;
    this.#byId.delete(id);
    this.#byId.set(id, session);
    return session;
  }

  /** Still signed in (without touching its idle clock): a stream checks this as it runs. */
  alive(id: string, session: UiSession, now: number): boolean {
    return this.#byId.get(id) === session && !this.#expired(session, now);
  }

  end(id: string): void {
    this.#byId.delete(id);
  }

  /** Take one of the session's stream slots; false when all are taken. */
  takeStream(session: UiSession): boolean {
    if (session.streams >= this.limits.streamsPerSession) return false;
    session.streams += 1;
    return true;
  }

  releaseStream(session: UiSession): void {
    session.streams = Math.max(0, session.streams - 1);
  }

  get size(): number {
    return this.#byId.size;
  }

  #expired(session: UiSession, now: number): boolean {
    return (
      now - session.lastSeenAt >= this.limits.idleMs ||
      now - session.createdAt >= this.limits.maxAgeMs
    );
  }

  #sweep(now: number): void {
    for (const [id, session] of this.#byId) if (this.#expired(session, now)) this.#byId.delete(id);
  }
}
