import { openCheckpoint, type Checkpoint } from './checkpoint.js';
import { decodeEntry } from './entry.js';
import { LedgerError, type LedgerErrorCode } from './errors.js';
import type { LedgerExport, StoredNode } from './export-format.js';
import {
  consistencyProof,
  leafHash,
  rootAt,
  verifyConsistency,
  type Subtree,
  type SubtreeHash,
} from './merkle.js';
import { parseVkey, type NoteVerifier } from './note.js';
import { TreeBuilder } from './tree-builder.js';

/**
 * The offline audit of an exported ledger. It trusts nothing in the export: it recomputes
 * the tree from the entries, compares every stored subtree with it, checks every checkpoint's
 * signature against the key the auditor brings and its root against the recomputed tree,
 * and, given a checkpoint the auditor saw earlier, checks the log still extends it.
 *
 * What each check catches, and its code:
 * - an entry edited in place, or whose stored leaf was          E_LEDGER_ENTRY
 * - entries deleted, repeated, reordered, or cut off the end      E_LEDGER_SEQ
 * - a stored subtree that does not match (proofs would lie)        E_LEDGER_NODE
 * - history rewritten and checkpoints re-signed with another key  E_LEDGER_CHECKPOINT_SIG
 * - history rewritten, nodes recomputed, old checkpoints kept     E_LEDGER_CHECKPOINT_ROOT
 * - history rewritten and re-signed with the stolen real key:
 *   only a checkpoint kept outside the log can tell               E_LEDGER_CONSISTENCY
 * - a checkpoint filed under the wrong size, or malformed       E_LEDGER_CHECKPOINT_INVALID
 * - a checkpoint of another log signed by the same key            E_LEDGER_CHECKPOINT_ORIGIN
 */

export interface VerifyOptions {
  /** The log's verifier key ("name+keyid+base64"), obtained out of band; never the export's. */
  readonly vkey: string;
  /** Defaults to the key's name, which the checkpointer signs under. */
  readonly origin?: string;
  /** A signed checkpoint the auditor saw earlier (its own copy, a witness's, a ticket's). */
  readonly trusted?: string;
}

export type LedgerVerdict =
  | {
      readonly ok: true;
      readonly size: number;
      readonly root: Uint8Array;
      readonly checkpoints: number;
      /** Entries from here on are covered by no signed checkpoint yet. */
      readonly anchored: number;
    }
  | {
      readonly ok: false;
      readonly code: LedgerErrorCode;
      readonly message: string;
      /** The first entry found bad, or the first one missing. */
      readonly seq?: number;
      /** The size of the checkpoint found bad. */
      readonly checkpoint?: number;
      readonly node?: Subtree;
    };

type Problem = Extract<LedgerVerdict, { ok: false }>;

/**
 * Verify an export; the first problem in log order wins. Throws only for the caller's own
 * mistakes (a malformed vkey, a trusted checkpoint that does not verify).
 */
export function verifyLedger(ledger: LedgerExport, options: VerifyOptions): LedgerVerdict {
  const verifier = parseVkey(options.vkey);
  const origin = options.origin ?? verifier.name;
  const trusted =
    options.trusted === undefined ? undefined : openCheckpoint(options.trusted, verifier, origin);

  const scanned = scan(ledger);
  if ('code' in scanned) return scanned;
  const n = ledger.entries.length;
  // The scan proved every stored subtree equal to the tree recomputed from the entries, so
  // from here on they answer for it: any past root, any proof, in O(log n).
  const hashAt: SubtreeHash = (level, index) => scanned.levels[level]![index]!;

  let anchored = 0;
  const checkpoints = [...ledger.checkpoints].sort((a, b) => a.size - b.size);
  for (const stored of checkpoints) {
    const problem = checkCheckpoint(stored, verifier, origin, n, hashAt);
    if (problem) return problem;
    anchored = Math.max(anchored, stored.size);
  }

  if (trusted) {
    if (trusted.size > n)
      return {
        ok: false,
        code: 'E_LEDGER_CONSISTENCY',
        checkpoint: trusted.size,
        seq: n,
        message: `the log has ${n} entries but a checkpoint trusted earlier covers ${trusted.size}: its tail was cut off`,
      };
    // Checked exactly as a client holding only the two roots would.
    const proof = consistencyProof(trusted.size, n, hashAt);
    if (!verifyConsistency(trusted.size, n, proof, trusted.root, scanned.root))
      return {
        ok: false,
        code: 'E_LEDGER_CONSISTENCY',
        checkpoint: trusted.size,
        message: `the first ${trusted.size} entries are not the ones a checkpoint trusted earlier signed: history was rewritten (if the checkpoints still verify, the log's signing key is compromised)`,
      };
  }
  return { ok: true, size: n, root: scanned.root, checkpoints: checkpoints.length, anchored };
}

/** Entries in order; each stored subtree compared as soon as the entries complete it. */
function scan(
  ledger: LedgerExport,
): Problem | { root: Uint8Array; levels: readonly Uint8Array[][] } {
  const { levels, repeated } = indexNodes(ledger.nodes);
  const tree = new TreeBuilder();
  let problem: Problem | undefined;
  const compare = (level: number, index: number, hash: Uint8Array) => {
    if (problem) return;
    const node = { level, index };
    const seq = index * 2 ** level;
    const have = levels[level]?.[index];
    if (repeated.has(`${level}/${index}`))
      problem = nodeProblem(node, seq, 'is stored more than once');
    else if (have === undefined) problem = nodeProblem(node, seq, 'is missing');
    else if (!equal(have, hash))
      problem =
        level === 0
          ? {
              ok: false,
              code: 'E_LEDGER_ENTRY',
              seq,
              node,
              message: `entry ${seq} does not hash to its stored leaf: the entry or its leaf was edited`,
            }
          : nodeProblem(node, seq, 'does not match the entries under it');
  };

  for (const [position, body] of ledger.entries.entries()) {
    let seq: number;
    try {
      seq = decodeEntry(body, `entry ${position}`).seq;
    } catch (err) {
      return {
        ok: false,
        code: 'E_LEDGER_ENTRY',
        seq: position,
        message: err instanceof Error ? err.message : String(err),
      };
    }
    if (seq !== position)
      return {
        ok: false,
        code: 'E_LEDGER_SEQ',
        seq: position,
        message:
          seq > position
            ? `entry ${position} is missing: the entry in its place is ${seq} (deleted entries?)`
            : `entry ${seq} appears again at position ${position} (inserted or reordered entries?)`,
      };
    tree.push(leafHash(body), compare);
    if (problem) return problem;
  }
  if (ledger.size !== ledger.entries.length)
    return {
      ok: false,
      code: 'E_LEDGER_SEQ',
      seq: Math.min(ledger.size, ledger.entries.length),
      message: `the export's header says ${ledger.size} entries but it holds ${ledger.entries.length}`,
    };
  const extra = firstExtraNode(levels, ledger.entries.length);
  if (extra)
    return nodeProblem(
      extra,
      ledger.entries.length,
      `covers leaves the log does not have (it has ${ledger.entries.length})`,
    );
  return { root: tree.root(), levels };
}

function checkCheckpoint(
  stored: { size: number; note: string },
  verifier: NoteVerifier,
  origin: string,
  n: number,
  hashAt: SubtreeHash,
): Problem | undefined {
  const at = { ok: false as const, checkpoint: stored.size };
  let checkpoint: Checkpoint;
  try {
    checkpoint = openCheckpoint(stored.note, verifier, origin);
  } catch (err) {
    const code = err instanceof LedgerError ? err.code : 'E_LEDGER_CHECKPOINT_INVALID';
    return {
      ...at,
      code:
        code === 'E_LEDGER_NOTE_UNKNOWN_KEY' || code === 'E_LEDGER_NOTE_SIGNATURE'
          ? 'E_LEDGER_CHECKPOINT_SIG'
          : code === 'E_LEDGER_CHECKPOINT_ORIGIN'
            ? code
            : 'E_LEDGER_CHECKPOINT_INVALID',
      message: `checkpoint ${stored.size}: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
  if (checkpoint.size !== stored.size)
    return {
      ...at,
      code: 'E_LEDGER_CHECKPOINT_INVALID',
      message: `the checkpoint stored for size ${stored.size} is signed for size ${checkpoint.size}`,
    };
  if (checkpoint.size > n)
    return {
      ...at,
      code: 'E_LEDGER_SEQ',
      seq: n,
      message: `checkpoint ${checkpoint.size} was signed over entries the log no longer has (it has ${n}): its tail was cut off`,
    };
  if (!equal(rootAt(checkpoint.size, hashAt), checkpoint.root))
    return {
      ...at,
      code: 'E_LEDGER_CHECKPOINT_ROOT',
      message: `the first ${checkpoint.size} entries do not have the root checkpoint ${checkpoint.size} signed: they were changed after it was signed`,
    };
  return undefined;
}

function nodeProblem(node: Subtree, seq: number, what: string): Problem {
  const first = node.index * 2 ** node.level;
  return {
    ok: false,
    code: 'E_LEDGER_NODE',
    seq,
    node,
    message: `stored subtree (level ${node.level}, index ${node.index}) over entries ${first}…${first + 2 ** node.level - 1} ${what}`,
  };
}

/** Stored subtrees by level, then index (sparse arrays: indexes come from the export). */
function indexNodes(nodes: readonly StoredNode[]) {
  const levels: Uint8Array[][] = [];
  const repeated = new Set<string>();
  for (const node of nodes) {
    const level = (levels[node.level] ??= []);
    if (level[node.index] !== undefined) repeated.add(`${node.level}/${node.index}`);
    level[node.index] = node.hash;
  }
  return { levels, repeated };
}

/**
 * A stored subtree that no run of the log's leaves completes: one for leaves that do not
 * exist. The leftmost wins. Only failing exports pay for listing a level's keys.
 */
function firstExtraNode(levels: readonly Uint8Array[][], n: number): Subtree | undefined {
  let first: Subtree | undefined;
  levels.forEach((level, l) => {
    const complete = Math.floor(n / 2 ** l);
    if (level.length <= complete) return;
    for (const key of Object.keys(level)) {
      const index = Number(key);
      if (index < complete) continue;
      if (first === undefined || index * 2 ** l < first.index * 2 ** first.level)
        first = { level: l, index };
      break;
    }
  });
  return first;
}

const equal = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;
