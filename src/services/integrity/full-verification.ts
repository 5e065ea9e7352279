import type { Drift } from '../../core/integrity/diff.js';
import type { IntegrityDeps } from './contracts.js';
import type { WatchedRootfs } from './rootfs-registry.js';

/**
 * Re-hash a whole rootfs against its measurement: what file events cannot catch (changes
 * made while the agent was down, a lost event). Returns the drift found, or null when the
 * verifier itself failed, which says nothing about the tree.
 */
export async function verifyInFull(
  deps: Pick<IntegrityDeps, 'verifyTree' | 'isVerifierFault'>,
  w: WatchedRootfs,
): Promise<Drift[] | null> {
  try {
    return await deps.verifyTree(w.root, w.measurement, w.allowed);
  } catch (err) {
    // The verifier's own failure says nothing about the tree: unchecked, tried again.
    if (deps.isVerifierFault?.(err)) return null;
    // Anything else fails closed: a tree that cannot be verified (a path too long to
    // open, a file that keeps changing) is not a tree that can be trusted.
    return [
      {
        kind: 'changed',
        path: '/',
        field: 'type',
        expected: 'a verifiable tree',
        actual: err instanceof Error ? err.message : 'unverifiable',
      },
    ];
  }
}
