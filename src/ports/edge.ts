import type { Edge } from '../core/traffic/edge.js';
import type { ServerCounters } from '../core/traffic/stat.js';

/** The edge in front of the instances (HAProxy under `ingot up`: adapters/haproxy). */
export interface EdgePort {
  /**
   * Make the edge serve `edge`: through its runtime where it can, by a hitless reload where
   * its listens change. Resolves once applied; an edge with no fleet costs nothing.
   */
  apply(edge: Edge): Promise<void>;
  /** What the edge counted for each server (an instance, by id) of each backend, now. */
  counters(): Promise<readonly ServerCounters[]>;
}
