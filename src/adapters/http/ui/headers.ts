/**
 * The policy every dashboard answer carries. The page's code comes from our own files only:
 * no inline script, no eval, no other origin, so markup that slipped into what the page shows
 * (a fleet name, an env value, a reason: all written by whoever deployed) could not run even
 * if it were ever parsed as HTML. The page may not be framed (clickjacking of Promote).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/** Cache-Control for what is not a hashed asset: a session's answers are never stored. */
export const NO_STORE = 'no-store';
export const IMMUTABLE = 'public, max-age=31536000, immutable';
/** The page itself: revalidated each time, so a new build's assets are picked up. */
export const REVALIDATE = 'no-cache';
