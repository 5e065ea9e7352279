import { LedgerError } from './errors.js';
import { emptyRoot, nodeHash, type Subtree } from './merkle.js';

/**
 * The right edge of a tree of `size` leaves: one complete subtree per set bit of size,
 * largest (leftmost) first. It is all an appender needs to know of the past, so a store
 * appends by reading these O(log n) hashes, never the whole tree.
 */
export function frontierOf(size: number): Subtree[] {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`no tree of size ${size}`);
  let width = 1;
  let level = 0;
  while (width * 2 <= size) {
    width *= 2;
    level++;
  }
  const out: Subtree[] = [];
  let start = 0;
  for (; level >= 0; level--, width /= 2) {
    if (size - start >= width) {
      out.push({ level, index: start / width });
      start += width;
    }
  }
  return out;
}

/** Called for every subtree a new leaf completes: the leaf itself (level 0) first. */
export type OnSubtree = (level: number, index: number, hash: Uint8Array) => void;

/**
 * Appends leaves to a tree known only by its frontier, and reports each complete subtree
 * as it forms: exactly the rows a store must add, and exactly the nodes a verifier must
 * compare with what the store claims.
 */
export class TreeBuilder {
  private readonly edge: { level: number; hash: Uint8Array }[] = [];
  private count: number;

  /** `frontier` holds the hashes of frontierOf(size), in that order. */
  constructor(size = 0, frontier: readonly Uint8Array[] = []) {
    const shape = frontierOf(size);
    if (shape.length !== frontier.length)
      throw new LedgerError(
        'E_LEDGER_NODE',
        `a tree of ${size} leaves has ${shape.length} right-edge subtrees, ${frontier.length} were given`,
      );
    shape.forEach((s, i) => this.edge.push({ level: s.level, hash: frontier[i]! }));
    this.count = size;
  }

  get size(): number {
    return this.count;
  }

  push(leaf: Uint8Array, onSubtree?: OnSubtree): void {
    let index = this.count++;
    let level = 0;
    let hash = leaf;
    onSubtree?.(level, index, hash);
    // Equal-sized neighbours on the edge merge, as carries do when counting in binary.
    while (this.edge.length > 0 && this.edge[this.edge.length - 1]!.level === level) {
      hash = nodeHash(this.edge.pop()!.hash, hash);
      level++;
      index = Math.floor(index / 2);
      onSubtree?.(level, index, hash);
    }
    this.edge.push({ level, hash });
  }

  /** MTH of the leaves so far: the edge folded from the right. */
  root(): Uint8Array {
    if (this.edge.length === 0) return emptyRoot();
    let hash = this.edge[this.edge.length - 1]!.hash;
    for (let i = this.edge.length - 2; i >= 0; i--) hash = nodeHash(this.edge[i]!.hash, hash);
    return hash;
  }
}
