import { RegistryError } from '../../domain/registry.js';

/** One challenge of a `WWW-Authenticate` header (RFC 9110 §11.6.1). */
export interface Challenge {
  /** Lowercased: schemes are case-insensitive. */
  readonly scheme: string;
  /** Parameter names lowercased; values unquoted. */
  readonly params: Readonly<Record<string, string>>;
  readonly token68: string | null;
}

/** What we can answer: the distribution token flow, or basic auth. */
export type AuthPlan =
  | {
      readonly kind: 'bearer';
      readonly realm: string;
      readonly service: string | null;
      readonly scope: string | null;
    }
  | { readonly kind: 'basic'; readonly realm: string | null };

/** The header is the registry's (or a proxy's) to write: bound it before parsing. */
const MAX_HEADER = 8 * 1024;
const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*/;

/**
 * Parse every challenge of a `WWW-Authenticate` value: `scheme [token68 | name=value, …]`,
 * challenges separated by commas, values tokens or quoted strings with `\` escapes.
 * Malformed input is refused with E_REGISTRY_CHALLENGE, never guessed at.
 */
export function parseChallenges(header: string): Challenge[] {
  if (header.length > MAX_HEADER)
    throw challengeError(
      `a WWW-Authenticate header of ${header.length} characters (more than ${MAX_HEADER})`,
    );
  const s = header;
  let i = 0;
  const skipSpace = () => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < s.length && TCHAR.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  const quoted = (): string => {
    i++; // opening quote
    let out = '';
    while (i < s.length && s[i] !== '"') {
      if (s[i] === '\\') i++;
      if (i >= s.length) break;
      out += s[i];
      i++;
    }
    if (s[i] !== '"')
      throw challengeError(`an unterminated quoted string in ${JSON.stringify(s.slice(0, 200))}`);
    i++;
    return out;
  };

  const challenges: Challenge[] = [];
  for (;;) {
    // Empty list elements are allowed (RFC 9110 §5.6.1).
    while (i < s.length && (s[i] === ',' || s[i] === ' ' || s[i] === '\t')) i++;
    if (i >= s.length) break;
    const scheme = token();
    if (scheme === '')
      throw challengeError(`no auth scheme at offset ${i} of ${JSON.stringify(s.slice(0, 200))}`);
    const params: Record<string, string> = {};
    let token68: string | null = null;
    const hadSpace = i < s.length && (s[i] === ' ' || s[i] === '\t');
    skipSpace();
    if (hadSpace && i < s.length && s[i] !== ',') {
      const t68 = TOKEN68.exec(s.slice(i))?.[0];
      const afterT68 = t68 === undefined ? -1 : i + t68.length;
      const restAfter = afterT68 < 0 ? '' : s.slice(afterT68).trimStart();
      if (
        t68 !== undefined &&
        (restAfter === '' || restAfter.startsWith(',')) &&
        !isParamStart(s, i)
      ) {
        token68 = t68;
        i = afterT68;
      } else {
        // auth-params until a token that is not followed by '=' (the next challenge's scheme).
        for (;;) {
          skipSpace();
          const save = i;
          const name = token();
          skipSpace();
          if (name === '' || s[i] !== '=') {
            i = save;
            break;
          }
          i++;
          skipSpace();
          const value = s[i] === '"' ? quoted() : token();
          const key = name.toLowerCase();
          if (Object.hasOwn(params, key))
            throw challengeError(`parameter ${key} twice in one challenge`);
          params[key] = value;
          skipSpace();
          if (i >= s.length) break;
          if (s[i] !== ',')
            throw challengeError(`unexpected ${JSON.stringify(s[i])} at offset ${i}`);
          i++;
          // A comma ends this parameter; the next item may be another parameter or a new challenge.
        }
      }
    }
    challenges.push({ scheme: scheme.toLowerCase(), params, token68 });
    skipSpace();
    if (i < s.length && s[i] !== ',' && !TCHAR.test(s[i]!))
      throw challengeError(`unexpected ${JSON.stringify(s[i])} at offset ${i}`);
    if (challenges.length > 16) throw challengeError('more than 16 challenges');
  }
  return challenges;
}

/** `name=` (with optional spaces) starts here: parameters, not a token68. */
function isParamStart(s: string, i: number): boolean {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+[ \t]*=[ \t]*(?:"|[!#$%&'*+\-.^_`|~0-9A-Za-z])/.test(
    s.slice(i),
  );
}

/**
 * The challenge to answer: Bearer (the distribution token flow) before Basic, since a
 * bearer token is scoped and short-lived while basic auth sends the password each time.
 */
export function planAuth(challenges: readonly Challenge[]): AuthPlan {
  const bearer = challenges.find((c) => c.scheme === 'bearer');
  if (bearer) {
    const realm = bearer.params['realm'];
    if (realm === undefined || realm === '')
      throw challengeError('a Bearer challenge without a realm');
    return {
      kind: 'bearer',
      realm,
      service: bearer.params['service'] ?? null,
      scope: bearer.params['scope'] ?? null,
    };
  }
  const basic = challenges.find((c) => c.scheme === 'basic');
  if (basic) return { kind: 'basic', realm: basic.params['realm'] ?? null };
  throw challengeError(
    `no Bearer or Basic challenge (offered: ${challenges.map((c) => c.scheme).join(', ') || 'none'})`,
  );
}

/** Format one challenge (quoted values): the inverse the property tests check. */
export function formatChallenge(c: Challenge): string {
  if (c.token68 !== null) return `${c.scheme} ${c.token68}`;
  const params = Object.entries(c.params).map(
    ([k, v]) => `${k}="${v.replace(/["\\]/g, (m) => `\\${m}`)}"`,
  );
  return params.length === 0 ? c.scheme : `${c.scheme} ${params.join(', ')}`;
}

function challengeError(why: string): RegistryError {
  return new RegistryError(
    'E_REGISTRY_CHALLENGE',
    `the registry's WWW-Authenticate challenge cannot be used: ${why}`,
  );
}
