import { RegistryError, type Credentials } from '../../domain/registry.js';

export type { Credentials } from '../../domain/registry.js';

/** A docker config or containers auth.json is small; a bigger one is not one of them. */
export const MAX_AUTH_FILE_BYTES = 1024 * 1024;

/** `--creds USER:PASS` (the password may itself contain colons). */
export function parseCredsFlag(value: string): Credentials {
  const colon = value.indexOf(':');
  if (colon <= 0)
    throw new RegistryError(
      'E_REGISTRY_CREDENTIALS',
      '--creds must be USER:PASS, with a user name before the first colon',
    );
  return { username: value.slice(0, colon), password: value.slice(colon + 1) };
}

/**
 * The key a credentials file uses for a registry, reduced to `host[:port]`: docker writes
 * `https://index.docker.io/v1/`, podman and skopeo write `host:port`, some write `host/path`.
 */
function authorityOfKey(key: string): string {
  return key
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    .split('/')[0]!
    .toLowerCase();
}

/**
 * Find the credentials for `authority` (`host[:port]`) in the text of a docker-style
 * config (`$REGISTRY_AUTH_FILE`, `~/.docker/config.json`): `auths.<key>.auth` is
 * base64("user:password"), or `username`/`password` are given apart. Null when the file has
 * none for that registry. Credential helpers (`credsStore`) are not run: running a program
 * named in a file is a decision for the user, not for us.
 *
 * `where` names the file in errors; the secret itself never appears in a message.
 */
export function findCredentials(
  text: string,
  authority: string,
  where: string,
): Credentials | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new RegistryError('E_REGISTRY_CREDENTIALS', `${where} is not JSON`, { file: where }, err);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new RegistryError('E_REGISTRY_CREDENTIALS', `${where} is not a JSON object`, {
      file: where,
    });
  const auths = (doc as { auths?: unknown }).auths;
  if (auths === undefined) return null;
  if (typeof auths !== 'object' || auths === null || Array.isArray(auths))
    throw new RegistryError('E_REGISTRY_CREDENTIALS', `${where}: "auths" is not an object`, {
      file: where,
    });
  const want = authority.toLowerCase();
  // An exact key wins over a normalised one (`host:port` over `https://host:port/v2/`).
  const keys = Object.keys(auths);
  const key =
    keys.find((k) => k.toLowerCase() === want) ?? keys.find((k) => authorityOfKey(k) === want);
  if (key === undefined) return null;
  const entry = (auths as Record<string, unknown>)[key];
  const bad = (why: string) =>
    new RegistryError(
      'E_REGISTRY_CREDENTIALS',
      `${where}: the entry for ${JSON.stringify(key)} ${why}`,
      {
        file: where,
        registry: key,
      },
    );
  if (typeof entry !== 'object' || entry === null) throw bad('is not an object');
  const { auth, username, password } = entry as Record<string, unknown>;
  if (typeof auth === 'string' && auth !== '') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(auth) || auth.length % 4 === 1)
      throw bad('has an "auth" that is not base64');
    const decoded = Buffer.from(auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw bad('has an "auth" that is not base64 of USER:PASSWORD');
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (typeof username === 'string' && username !== '' && typeof password === 'string')
    return { username, password };
  throw bad('has neither "auth" nor "username" and "password"');
}
