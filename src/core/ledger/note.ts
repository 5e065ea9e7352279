import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { LedgerError } from './errors.js';

/**
 * C2SP signed-note (c2sp.org/signed-note), Ed25519 only: a text ending in a newline, a blank
 * line, then one line per signature, "— <key name> <base64(key ID ‖ signature)>". The text
 * means nothing until a trusted key's signature over it verifies; whoever handed us the note
 * chose every byte of it, signatures included.
 */

/** The note spec asks verifiers to accept at least 16 signatures and to bound the rest. */
export const MAX_NOTE_SIGNATURES = 100;
/** 16 post-quantum signatures of ~5 kB each fit; a checkpoint itself is ~150 bytes. */
export const MAX_NOTE_BYTES = 128 * 1024;
export const MAX_KEY_NAME_LENGTH = 256;

const ED25519 = 0x01;
const SIG_PREFIX = '\u2014 ';

export interface NoteVerifier {
  readonly name: string;
  /** The uint32 key ID: first 4 bytes, big-endian, of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key). */
  readonly keyId: number;
  readonly key: KeyObject;
}

export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  readonly key: KeyObject;
}

export interface NoteSignature {
  readonly name: string;
  readonly keyId: number;
  /** base64(key ID ‖ signature), as it appeared on the line. */
  readonly base64: string;
}

export interface OpenedNote {
  readonly text: string;
  readonly verified: readonly NoteSignature[];
  /** Signatures by keys the caller does not know: ignored, as the spec requires. */
  readonly unverified: readonly NoteSignature[];
}

/** Non-empty, no Unicode space, no "+": a name must split off a vkey and a signature line. */
export function isValidKeyName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= MAX_KEY_NAME_LENGTH &&
    !/[\s\u0085+]/u.test(name) &&
    !LONE_SURROGATE.test(name)
  );
}

export function keyId(name: string, publicKey: Uint8Array): number {
  const digest = createHash('sha256')
    .update(name, 'utf8')
    .update(Buffer.from([0x0a, ED25519]))
    .update(publicKey)
    .digest();
  return digest.readUInt32BE(0);
}

const hex8 = (id: number) => id.toString(16).padStart(8, '0');

/** The 32 raw bytes of an Ed25519 public key (or of the public half of a private key). */
export function rawEd25519PublicKey(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  if (pub.asymmetricKeyType !== 'ed25519')
    throw new LedgerError(
      'E_LEDGER_VKEY',
      `signed notes here use Ed25519 keys, not ${pub.asymmetricKeyType ?? 'this key'}`,
    );
  const { x } = pub.export({ format: 'jwk' });
  return Buffer.from(x!, 'base64url');
}

/** "<name>+<hex key ID>+<base64(0x01 ‖ public key)>", the form golang.org/x/mod/sumdb/note reads. */
export function encodeVkey(name: string, key: KeyObject): string {
  if (!isValidKeyName(name))
    throw new LedgerError('E_LEDGER_VKEY', `${JSON.stringify(name)} is not a valid key name`);
  const raw = rawEd25519PublicKey(key);
  const encoded = Buffer.concat([Buffer.from([ED25519]), raw]).toString('base64');
  return `${name}+${hex8(keyId(name, raw))}+${encoded}`;
}

/**
 * Parse a verifier key. Its key ID is recomputed, not believed: a vkey whose ID does not
 * match its name and key is a typo or a forgery, and is refused.
 */
export function parseVkey(vkey: string): NoteVerifier {
  const bad = (why: string) =>
    new LedgerError('E_LEDGER_VKEY', `verifier key ${JSON.stringify(vkey.slice(0, 120))}: ${why}`);
  const first = vkey.indexOf('+');
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1);
  if (second < 0) throw bad('expected <name>+<key ID>+<key>');
  const name = vkey.slice(0, first);
  const id = vkey.slice(first + 1, second);
  const key = decodeBase64(vkey.slice(second + 1));
  if (!isValidKeyName(name)) throw bad('the name is empty or has a space or "+"');
  if (!/^[0-9a-f]{8}$/.test(id)) throw bad('the key ID is not 8 lowercase hex digits');
  if (key === null || key.length === 0) throw bad('the key is not base64');
  if (key[0] !== ED25519) throw bad(`unknown signature type ${key[0]} (only Ed25519, 1)`);
  if (key.length !== 33) throw bad('an Ed25519 key has 32 bytes');
  const raw = key.subarray(1);
  if (hex8(keyId(name, raw)) !== id) throw bad('the key ID does not match the name and key');
  const publicKey = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
    format: 'jwk',
  });
  return { name, keyId: Number.parseInt(id, 16), key: publicKey };
}

export function noteSigner(name: string, privateKey: KeyObject): NoteSigner {
  if (privateKey.type !== 'private')
    throw new LedgerError('E_LEDGER_VKEY', 'a note is signed with a private key');
  if (!isValidKeyName(name))
    throw new LedgerError('E_LEDGER_VKEY', `${JSON.stringify(name)} is not a valid key name`);
  return { name, keyId: keyId(name, rawEd25519PublicKey(privateKey)), key: privateKey };
}

/** Sign `text` (which must end in a newline) with each signer, in order. */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  checkNoteText(text);
  if (!text.endsWith('\n'))
    throw new LedgerError('E_LEDGER_NOTE_INVALID', 'a note text must end with a newline');
  const message = Buffer.from(text, 'utf8');
  const lines = signers.map((s) => {
    const id = Buffer.alloc(4);
    id.writeUInt32BE(s.keyId);
    const signature = sign(null, message, s.key);
    return `${SIG_PREFIX}${s.name} ${Buffer.concat([id, signature]).toString('base64')}\n`;
  });
  return `${text}\n${lines.join('')}`;
}

/**
 * Open a signed note: well-formed, within bounds, at least one signature by a known key, and
 * every signature by a known key valid (a bad one condemns the whole note, as the spec
 * advises: it is either corruption or someone trying signatures). Signatures by unknown
 * keys are set aside unchecked: anyone can add lines.
 */
export function openNote(
  note: string | Uint8Array,
  verifiers: readonly NoteVerifier[],
): OpenedNote {
  const message = typeof note === 'string' ? note : decodeUtf8(note);
  checkNoteText(message);
  const split = message.lastIndexOf('\n\n');
  if (split < 0) throw malformed('no blank line before the signatures');
  const text = message.slice(0, split + 1);
  const block = message.slice(split + 2);
  if (block.length === 0 || !block.endsWith('\n')) throw malformed('no signature lines');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES)
    throw malformed(`more than ${MAX_NOTE_SIGNATURES} signatures`);

  const textBytes = Buffer.from(text, 'utf8');
  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  const seenLines = new Set<string>();
  const seenKeys = new Set<string>();
  for (const [n, line] of lines.entries()) {
    if (!line.startsWith(SIG_PREFIX))
      throw malformed(`signature line ${n + 1} does not start with "— "`);
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(' ');
    const name = space < 0 ? rest : rest.slice(0, space);
    const b64 = space < 0 ? '' : rest.slice(space + 1);
    const blob = decodeBase64(b64);
    if (!isValidKeyName(name) || blob === null || blob.length < 5)
      throw malformed(`signature line ${n + 1} is not "— <name> <base64>"`);
    const signature: NoteSignature = { name, keyId: blob.readUInt32BE(0), base64: b64 };
    const matches = verifiers.filter((v) => v.name === name && v.keyId === signature.keyId);
    if (matches.length > 1)
      throw new LedgerError(
        'E_LEDGER_VKEY',
        `two trusted keys are named ${name}+${hex8(signature.keyId)}: the trust list is ambiguous`,
      );
    const key = matches[0];
    if (key === undefined) {
      if (!seenLines.has(line)) unverified.push(signature);
      seenLines.add(line);
      continue;
    }
    const id = `${name}+${signature.keyId}`;
    if (seenKeys.has(id)) continue; // one key's repeated signature counts once
    seenKeys.add(id);
    let ok = false;
    try {
      ok = blob.length === 4 + 64 && verify(null, textBytes, key.key, blob.subarray(4));
    } catch {
      ok = false;
    }
    if (!ok)
      throw new LedgerError(
        'E_LEDGER_NOTE_SIGNATURE',
        `the signature by ${name}+${hex8(signature.keyId)} does not verify: the note was altered or forged`,
        { details: { key: `${name}+${hex8(signature.keyId)}` } },
      );
    verified.push(signature);
  }
  if (verified.length === 0)
    throw new LedgerError(
      'E_LEDGER_NOTE_UNKNOWN_KEY',
      `the note is signed by ${lines.length === 1 ? 'a key' : 'keys'} not trusted here (${unverified
        .map((s) => `${s.name}+${hex8(s.keyId)}`)
        .join(
          ', ',
        )}); trusted: ${verifiers.map((v) => `${v.name}+${hex8(v.keyId)}`).join(', ') || 'none'}`,
    );
  return { text, verified, unverified };
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Size, UTF-8 and the spec's ban on control characters other than newline. */
function checkNoteText(text: string): void {
  const size = Buffer.byteLength(text, 'utf8');
  if (size > MAX_NOTE_BYTES)
    throw malformed(`${size} bytes, more than the ${MAX_NOTE_BYTES} allowed`);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x09\x0b-\x1f]/.test(text)) throw malformed('a control character other than newline');
  if (LONE_SURROGATE.test(text)) throw malformed('not valid UTF-8');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: Uint8Array): string {
  if (bytes.length > MAX_NOTE_BYTES)
    throw malformed(`${bytes.length} bytes, more than the ${MAX_NOTE_BYTES} allowed`);
  try {
    return utf8.decode(bytes);
  } catch {
    throw malformed('not valid UTF-8');
  }
}

/**
 * Standard base64 with padding, in its one canonical spelling. Node's decoder skips what it
 * does not understand; re-encoding and comparing refuses every other spelling, so a
 * signature line cannot be varied without changing its bytes.
 */
export function decodeBase64(text: string): Buffer | null {
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text))
    return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : null;
}

function malformed(why: string): LedgerError {
  return new LedgerError('E_LEDGER_NOTE_INVALID', `malformed signed note: ${why}`);
}
