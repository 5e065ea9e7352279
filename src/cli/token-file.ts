import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { readUpTo } from '../adapters/shared/read-fd.js';
import { IngotError } from '../domain/errors.js';
import type { Named } from './target.js';

/** A token is a line of text; a file much larger is not a token file. */
const MAX_TOKEN_BYTES = 4096;
/** A bundle of a few CA certificates. */
const MAX_CA_BYTES = 1024 * 1024;

/** What the mode check needs of a file's status. */
export interface FileFacts {
  readonly regular: boolean;
  readonly mode: number;
  readonly size: number;
}

/**
 * Why a token file must not be used, or null. As ssh refuses a private key others can read:
 * a token the file's group or others can read is no longer a secret, and refusing says so
 * before it is sent anywhere. Pure.
 */
export function tokenFileProblem(
  facts: FileFacts,
): { readonly code: 'E_TOKEN_FILE' | 'E_TOKEN_FILE_INSECURE'; readonly why: string } | null {
  if (!facts.regular) return { code: 'E_TOKEN_FILE', why: 'not a regular file' };
  if ((facts.mode & 0o077) !== 0)
    return {
      code: 'E_TOKEN_FILE_INSECURE',
      why: `its permissions ${(facts.mode & 0o777).toString(8).padStart(4, '0')} are too open: others can read the token`,
    };
  if (facts.size > MAX_TOKEN_BYTES)
    return { code: 'E_TOKEN_FILE', why: `larger than ${MAX_TOKEN_BYTES} bytes: not a token` };
  return null;
}

/** The token as the file holds it, trimmed: printable ASCII, as an HTTP header carries it. */
export function tokenOf(text: string): string | null {
  const token = text.trim();
  return /^[\x21-\x7e]+$/.test(token) ? token : null;
}

/**
 * Read a file a user named, opened non-blocking (a FIFO named by mistake does not hang the
 * CLI) and checked on the open descriptor (what is checked is what is read).
 */
function readNamed<T>(
  file: Named,
  code: 'E_TOKEN_FILE' | 'E_CA_FILE',
  check: (facts: FileFacts) => void,
  maxBytes: number,
  use: (bytes: Buffer) => T,
): T {
  let fd: number;
  try {
    fd = openSync(file.value, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw new IngotError(
      code,
      `${file.value} (${file.from}): cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      { cause: err },
    );
  }
  try {
    const info = fstatSync(fd);
    check({ regular: info.isFile(), mode: info.mode, size: info.size });
    if (!info.isFile())
      throw new IngotError(code, `${file.value} (${file.from}): not a regular file`);
    if (info.size > maxBytes)
      throw new IngotError(code, `${file.value} (${file.from}): larger than ${maxBytes} bytes`);
    return use(readUpTo(fd, info.size));
  } finally {
    closeSync(fd);
  }
}

/** The token in the file `--token-file` or INGOT_TOKEN_FILE names. */
export function readTokenFile(file: Named): string {
  return readNamed(
    file,
    'E_TOKEN_FILE',
    (facts) => {
      const problem = tokenFileProblem(facts);
      if (problem === null) return;
      const fix =
        problem.code === 'E_TOKEN_FILE_INSECURE'
          ? `; run \`chmod 600 ${file.value}\` (and get a new token if others could read it)`
          : '';
      throw new IngotError(problem.code, `${file.value} (${file.from}): ${problem.why}${fix}`);
    },
    MAX_TOKEN_BYTES,
    (bytes) => {
      const token = tokenOf(bytes.toString('utf8'));
      if (token === null)
        throw new IngotError(
          'E_TOKEN_FILE',
          `${file.value} (${file.from}): holds no token (one line of printable ASCII, as $INGOT_HOME/token does)`,
        );
      return token;
    },
  );
}

/** The PEM `--server-ca-file` or INGOT_CA_FILE names (a public certificate: any mode). */
export function readCaFile(file: Named): string {
  return readNamed(
    file,
    'E_CA_FILE',
    () => undefined,
    MAX_CA_BYTES,
    (bytes) => {
      const pem = bytes.toString('utf8');
      if (!pem.includes('-----BEGIN CERTIFICATE-----'))
        throw new IngotError(
          'E_CA_FILE',
          `${file.value} (${file.from}): holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
        );
      return pem;
    },
  );
}
