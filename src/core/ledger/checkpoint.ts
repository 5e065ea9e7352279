import { LedgerError } from './errors.js';
import { HASH_SIZE } from './merkle.js';
import { decodeBase64, openNote, signNote, type NoteSigner, type NoteVerifier } from './note.js';

/**
 * C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): the note text "<origin>\n<size>\n<base64
 * root hash>\n", then optional extension lines. Signed as a note, it is the log's promise
 * that these are its first `size` entries; two signed checkpoints that are not consistent
 * are proof that the log forked or rewrote its history.
 */
export interface Checkpoint {
  /** The log's identity; the signing key's name should be the same. */
  readonly origin: string;
  readonly size: number;
  readonly root: Uint8Array;
  /** Opaque, non-empty lines; not recommended by the spec and not written by Ingot. */
  readonly extensions?: readonly string[];
}

/** Our checkpoints are ~100 bytes; this bounds what a parser accepts from anyone else. */
export const MAX_CHECKPOINT_BYTES = 4096;
export const MAX_CHECKPOINT_EXTENSIONS = 16;
const MAX_ORIGIN_BYTES = 256;

export function formatCheckpoint(c: Checkpoint): string {
  const lines = [c.origin, String(c.size), Buffer.from(c.root).toString('base64')];
  const text = `${[...lines, ...(c.extensions ?? [])].join('\n')}\n`;
  parseCheckpoint(text); // never write what we would refuse to read
  return text;
}

/** The note text of a checkpoint → its fields, refusing anything not in the one exact form. */
export function parseCheckpoint(text: string): Checkpoint {
  const bad = (why: string) => new LedgerError('E_LEDGER_CHECKPOINT_INVALID', `checkpoint: ${why}`);
  if (Buffer.byteLength(text, 'utf8') > MAX_CHECKPOINT_BYTES)
    throw bad(`larger than ${MAX_CHECKPOINT_BYTES} bytes`);
  if (!text.endsWith('\n')) throw bad('does not end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw bad('expected origin, size and root hash lines');
  if (lines.length > 3 + MAX_CHECKPOINT_EXTENSIONS)
    throw bad(`more than ${MAX_CHECKPOINT_EXTENSIONS} extension lines`);
  const [origin, size, root, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0 || Buffer.byteLength(origin, 'utf8') > MAX_ORIGIN_BYTES)
    throw bad(`the origin must have 1 to ${MAX_ORIGIN_BYTES} bytes`);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(origin)) throw bad('the origin has a control character');
  // No leading zeroes, no sign, no exponent: one spelling per size.
  if (!/^(?:0|[1-9][0-9]{0,15})$/.test(size) || !Number.isSafeInteger(Number(size)))
    throw bad(`the size ${JSON.stringify(size.slice(0, 40))} is not a decimal number`);
  const hash = decodeBase64(root);
  if (hash === null || hash.length !== HASH_SIZE)
    throw bad('the root hash is not the base64 of 32 bytes');
  if (extensions.some((e) => e.length === 0)) throw bad('an extension line is empty');
  return {
    origin,
    size: Number(size),
    root: hash,
    ...(extensions.length > 0 && { extensions }),
  };
}

export function signCheckpoint(c: Checkpoint, signer: NoteSigner): string {
  return signNote(formatCheckpoint(c), [signer]);
}

/**
 * A signed checkpoint → its fields, only if `verifier` signed it and it is for `origin`. A
 * checkpoint of another log signed by the same key proves nothing about this one.
 */
export function openCheckpoint(
  note: string | Uint8Array,
  verifier: NoteVerifier,
  origin: string = verifier.name,
): Checkpoint {
  const { text } = openNote(note, [verifier]);
  const checkpoint = parseCheckpoint(text);
  if (checkpoint.origin !== origin)
    throw new LedgerError(
      'E_LEDGER_CHECKPOINT_ORIGIN',
      `the checkpoint is for log ${JSON.stringify(checkpoint.origin)}, not ${JSON.stringify(origin)}`,
    );
  return checkpoint;
}
