import type { Command } from 'commander';
import type { Runner } from '../runner.js';
import { registerCluster } from './cluster.js';
import { registerDown } from './down.js';
import { registerHistory } from './history.js';
import { registerUp } from './up.js';

/** `ingot up`, `down`, `history`: the server's life on this machine, and what it did. */
export function registerServer(program: Command, run: Runner): void {
  // In this order: it is the order of `ingot --help`.
  registerUp(program, run);
  registerDown(program, run);
  registerHistory(program, run);
  registerCluster(program, run);
}
