/** The dashboard's session cookie. */
export const SESSION_COOKIE = 'ingot_ui';

/**
 * The session id a Cookie header carries, or undefined. Hostile input: only the first cookie
 * of our name counts, and only if it has the shape of an id we make (base64url, 43 chars).
 */
export function sessionIdOf(header: string | undefined): string | undefined {
  if (header === undefined || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    return /^[A-Za-z0-9_-]{43}$/.test(value) ? value : undefined;
  }
  return undefined;
}

/**
 * The Set-Cookie of a session: HttpOnly (the page's script never sees it), SameSite=Strict
 * (no other site's page sends it), Path=/ . Secure when the API is served over TLS; on plain
 * loopback HTTP a Secure cookie would not be sent back.
 */
export function sessionCookie(id: string, maxAgeS: number, secure: boolean): string {
  return [
    `${SESSION_COOKIE}=${id}`,
    'HttpOnly',
    'SameSite=Strict',
    'Path=/',
    `Max-Age=${Math.max(0, Math.floor(maxAgeS))}`,
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}
