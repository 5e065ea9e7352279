/**
 * The dashboard's own check of a ledger entry, run IN THE BROWSER: the entry's bytes, its RFC
 * 9162 inclusion proof and the C2SP signed checkpoint it is proven against, checked with the
 * page's WebCrypto against a verifier key. The server's answer is the attacker's input here:
 * a server (or anything between it and the page) that altered an entry, a proof hash, the
 * checkpoint or its signature gets "failed" with the step that caught it, never "verified".
 *
 * Pure and portable: no Node (no Buffer), no DOM; the hashing and the signature check are
 * passed in (`webCrypto(crypto.subtle)` in the page and in the tests, which check this
 * against the server's own Merkle and note code in src/core/ledger).
 */

/** What the page needs of WebCrypto: SHA-256 and Ed25519 over raw keys. */
export interface ProofCrypto {
  sha256(data: Uint8Array): Promise<Uint8Array>;
  verifyEd25519(
    publicKey: Uint8Array,
    signature: Uint8Array,
    message: Uint8Array,
  ): Promise<boolean>;
}

/** GET /ui/api/ledger/proof/:seq: the entry's canonical bytes and its proof. */
export interface EntryProof {
  readonly seq: number;
  /** The entry as the log hashed it (RFC 8785 canonical JSON): the leaf is SHA-256(0x00 ‖ body). */
  readonly body: string;
  /** The tree size the proof is for: the checkpoint's. */
  readonly size: number;
  /** Base64 hashes, leaf to root. */
  readonly proof: readonly string[];
  /** The signed note: the checkpoint text, a blank line, signature lines. */
  readonly checkpoint: string;
}

/** Which check failed: the page says it, with the reason. */
export type ProofStep =
  | 'key'
  | 'note'
  | 'signature'
  | 'checkpoint'
  | 'entry'
  | 'proof'
  /** This browser cannot check an Ed25519 signature at all: nothing was verified. */
  | 'browser';

/** Thrown by a ProofCrypto that cannot do Ed25519: "not checked", never "forged". */
export class CryptoUnsupported extends Error {}

export type ProofVerdict =
  | {
      readonly ok: true;
      readonly origin: string;
      readonly size: number;
      /** The root hash the signature covers, base64. */
      readonly root: string;
      /** The key ID the signature was checked with, 8 hex digits. */
      readonly keyId: string;
    }
  | { readonly ok: false; readonly step: ProofStep; readonly reason: string };

const HASH_SIZE = 32;
const MAX_PROOF_HASHES = 64;
const MAX_NOTE_BYTES = 128 * 1024;
const ED25519 = 0x01;
const SIG_PREFIX = '\u2014 ';

class Failed extends Error {
  constructor(
    readonly step: ProofStep,
    reason: string,
  ) {
    super(reason);
  }
}

/**
 * Check `given` (the server's answer) against `vkey` (the key the person trusts), as the
 * proof of entry `asked`. Threat: a server that answers "entry 42" with a genuine proof of
 * entry 7 would have the page vouch for what it never checked; the entry must be the one
 * asked for.
 */
export async function verifyEntryProof(
  given: EntryProof,
  vkey: string,
  crypto: ProofCrypto,
  asked: number,
): Promise<ProofVerdict> {
  try {
    if (given.seq !== asked)
      throw new Failed(
        'entry',
        `entry ${asked} was asked for, the server answered with entry ${String(given.seq)}`,
      );
    const key = await parseVkey(vkey, crypto);
    const text = await openNote(given.checkpoint, key, crypto);
    const checkpoint = parseCheckpoint(text);
    if (checkpoint.origin !== key.name)
      throw new Failed(
        'checkpoint',
        `the checkpoint is for log ${JSON.stringify(checkpoint.origin)}, not ${JSON.stringify(key.name)}`,
      );
    if (given.size !== checkpoint.size)
      throw new Failed(
        'proof',
        `the proof is for a log of ${String(given.size)} entries, the checkpoint signs ${checkpoint.size}`,
      );
    const leaf = await entryLeaf(given, crypto);
    const proof = given.proof.map((h, i) => {
      const bytes = decodeBase64(h);
      if (bytes === null || bytes.length !== HASH_SIZE)
        throw new Failed('proof', `proof hash ${i + 1} is not the base64 of 32 bytes`);
      return bytes;
    });
    if (!(await verifyInclusion(leaf, given.seq, checkpoint.size, proof, checkpoint.root, crypto)))
      throw new Failed(
        'proof',
        `the proof does not lead from entry ${given.seq} to the signed root of ${checkpoint.size} entries`,
      );
    return {
      ok: true,
      origin: checkpoint.origin,
      size: checkpoint.size,
      root: encodeBase64(checkpoint.root),
      keyId: hex8(key.keyId),
    };
  } catch (err) {
    if (err instanceof Failed) return { ok: false, step: err.step, reason: err.message };
    return { ok: false, step: 'note', reason: `unreadable: ${String(err)}` };
  }
}

interface Vkey {
  readonly name: string;
  readonly keyId: number;
  readonly key: Uint8Array;
}

/** "<name>+<hex key ID>+<base64(0x01 ‖ key)>"; the ID recomputed, not believed. */
async function parseVkey(vkey: string, crypto: ProofCrypto): Promise<Vkey> {
  const bad = (why: string) => new Failed('key', `the verifier key is not usable: ${why}`);
  // The base64 key may itself hold "+": only the first two split.
  const text = vkey.trim();
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  if (second < 0) throw bad('expected <name>+<key ID>+<key>');
  const name = text.slice(0, first);
  const id = text.slice(first + 1, second);
  const encoded = text.slice(second + 1);
  if (name.length === 0 || /\s/u.test(name)) throw bad('the name is empty or has a space');
  if (!/^[0-9a-f]{8}$/.test(id)) throw bad('the key ID is not 8 lowercase hex digits');
  const key = decodeBase64(encoded);
  if (key === null || key.length !== 33 || key[0] !== ED25519)
    throw bad('the key is not the base64 of an Ed25519 key (type 1, 32 bytes)');
  const raw = key.subarray(1);
  const keyId = await keyIdOf(name, raw, crypto);
  if (hex8(keyId) !== id) throw bad('its key ID does not match its name and key');
  return { name, keyId, key: raw };
}

/** The first 4 bytes, big-endian, of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key). */
async function keyIdOf(name: string, raw: Uint8Array, crypto: ProofCrypto): Promise<number> {
  const digest = await crypto.sha256(concat(utf8(name), Uint8Array.of(0x0a, ED25519), raw));
  return ((digest[0]! << 24) | (digest[1]! << 16) | (digest[2]! << 8) | digest[3]!) >>> 0;
}

/**
 * The note's text, once the trusted key's signature over it verifies. Lines by other keys
 * are skipped (anyone may add them); the trusted key's line must be there and valid.
 */
async function openNote(note: string, key: Vkey, crypto: ProofCrypto): Promise<string> {
  if (typeof note !== 'string' || note.length > MAX_NOTE_BYTES)
    throw new Failed('note', 'the signed checkpoint is missing or too large');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new Failed('note', 'no blank line before the signatures');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (!block.endsWith('\n')) throw new Failed('note', 'no signature lines');
  let checked = false;
  for (const line of block.slice(0, -1).split('\n')) {
    if (!line.startsWith(SIG_PREFIX))
      throw new Failed('note', 'a signature line does not start with "— "');
    const [name, b64, extra] = line.slice(SIG_PREFIX.length).split(' ');
    const blob = b64 === undefined ? null : decodeBase64(b64);
    if (name === undefined || blob === null || blob.length < 5 || extra !== undefined)
      throw new Failed('note', 'a signature line is not "— <name> <base64>"');
    const id = ((blob[0]! << 24) | (blob[1]! << 16) | (blob[2]! << 8) | blob[3]!) >>> 0;
    if (name !== key.name || id !== key.keyId) continue;
    const signature = blob.subarray(4);
    const ok =
      signature.length === 64 &&
      (await crypto.verifyEd25519(key.key, signature, utf8(text)).catch((err: unknown) => {
        if (err instanceof CryptoUnsupported) throw new Failed('browser', err.message);
        return false;
      }));
    if (!ok)
      throw new Failed(
        'signature',
        `the signature by ${key.name}+${hex8(key.keyId)} does not verify: the checkpoint was altered or forged`,
      );
    checked = true;
  }
  if (!checked)
    throw new Failed(
      'signature',
      `the checkpoint has no signature by the trusted key ${key.name}+${hex8(key.keyId)}`,
    );
  return text;
}

/** C2SP tlog-checkpoint: origin, decimal size, base64 root hash, then extension lines. */
function parseCheckpoint(text: string): { origin: string; size: number; root: Uint8Array } {
  const lines = text.slice(0, -1).split('\n');
  const [origin, size, root] = lines;
  if (origin === undefined || size === undefined || root === undefined)
    throw new Failed('checkpoint', 'expected origin, size and root hash lines');
  if (!/^(?:0|[1-9][0-9]{0,15})$/.test(size) || !Number.isSafeInteger(Number(size)))
    throw new Failed('checkpoint', 'the size is not a decimal number');
  const hash = decodeBase64(root);
  if (hash === null || hash.length !== HASH_SIZE)
    throw new Failed('checkpoint', 'the root hash is not the base64 of 32 bytes');
  return { origin, size: Number(size), root: hash };
}

/**
 * SHA-256(0x00 ‖ body). The entry names its own place (`seq` is inside the hashed bytes):
 * a body that says another seq than the one asked for is refused before any hashing.
 */
async function entryLeaf(given: EntryProof, crypto: ProofCrypto): Promise<Uint8Array> {
  if (!Number.isSafeInteger(given.seq) || given.seq < 0)
    throw new Failed('entry', 'the entry has no valid sequence number');
  let parsed: unknown;
  try {
    parsed = JSON.parse(given.body);
  } catch {
    throw new Failed('entry', 'the entry is not JSON');
  }
  if ((parsed as { seq?: unknown } | null)?.seq !== given.seq)
    throw new Failed('entry', `the entry's bytes are not those of entry ${given.seq}`);
  return crypto.sha256(concat(Uint8Array.of(0x00), utf8(given.body)));
}

async function nodeHash(l: Uint8Array, r: Uint8Array, crypto: ProofCrypto): Promise<Uint8Array> {
  return crypto.sha256(concat(Uint8Array.of(0x01), l, r));
}

/** RFC 9162 §2.1.3.2, as src/core/ledger/merkle.ts does it, with an async hash. */
export async function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
  crypto: ProofCrypto,
): Promise<boolean> {
  const isCount = (n: number) => Number.isSafeInteger(n) && n >= 0;
  if (!isCount(index) || !isCount(size) || index >= size) return false;
  if (proof.length > MAX_PROOF_HASHES) return false;
  if (![leaf, root, ...proof].every((h) => h.length === HASH_SIZE)) return false;
  const half = (n: number) => Math.floor(n / 2);
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r, crypto);
      while (fn % 2 === 0 && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = await nodeHash(r, p, crypto);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && equal(r, root);
}

/** The page's (or Node's) WebCrypto as a ProofCrypto. */
export interface SubtleLike {
  digest(algorithm: string, data: Uint8Array): Promise<ArrayBuffer>;
  importKey(
    format: 'raw',
    key: Uint8Array,
    algorithm: { name: string },
    extractable: boolean,
    usages: ['verify'],
  ): Promise<unknown>;
  verify(
    algorithm: { name: string },
    key: unknown,
    signature: Uint8Array,
    data: Uint8Array,
  ): Promise<boolean>;
}

export function webCrypto(subtle: SubtleLike): ProofCrypto {
  return {
    sha256: async (data) => new Uint8Array(await subtle.digest('SHA-256', data)),
    verifyEd25519: async (publicKey, signature, message) => {
      let key: unknown;
      try {
        key = await subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
      } catch (err) {
        // A 32-byte key always imports where Ed25519 exists (Chrome 137+, Firefox 129+,
        // Safari 17+): a refusal here is the browser's, and proves nothing either way.
        throw new CryptoUnsupported(
          `this browser's WebCrypto cannot check Ed25519 signatures (${err instanceof Error ? err.name : 'refused'}): the checkpoint was NOT verified; use a current browser or \`ingot ledger prove\``,
        );
      }
      return subtle.verify({ name: 'Ed25519' }, key, signature, message);
    },
  };
}

const encoder = new TextEncoder();
const utf8 = (s: string) => encoder.encode(s);
const hex8 = (n: number) => n.toString(16).padStart(8, '0');

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Standard padded base64 in its one canonical spelling (re-encoded and compared). */
export function decodeBase64(text: string): Uint8Array | null {
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text))
    return null;
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    return null;
  }
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return encodeBase64(bytes) === text ? bytes : null;
}

export function encodeBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}
