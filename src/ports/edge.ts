import type { Edge } from '../core/traffic/edge.js';

/** The edge in front of the instances (HAProxy under `ingot up`: adapters/haproxy). */
export interface EdgePort {
  /**
   * Make the edge serve `edge`: through its runtime where it can, by a hitless reload where
   * its listens change. Resolves once applied; an edge with no fleet costs nothing.
   */
  apply(edge: Edge): Promise<void>;
  /** Open sessions on each instance (by id), as the edge counts them now. */
  sessions(): Promise<ReadonlyMap<string, number>>;
}
