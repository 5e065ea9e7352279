import type { Command } from 'commander';
import type { Runner } from '../runner.js';
import { registerDeploy } from './deploy.js';
import { registerFleetList } from './list.js';
import { registerPlan } from './plan.js';
import { registerPromote } from './promote.js';
import { registerRollback } from './rollback.js';
import { registerRolloutControls } from './rollout-control.js';
import { registerRollout } from './rollout.js';
import { registerStatus } from './status.js';

/** `ingot plan`, `deploy`, `rollback`, `promote`, `pause`, `resume`, `abort`, `fleets`, `status`: fleets through the running Ingot. */
export function registerFleets(program: Command, run: Runner): void {
  // In this order: it is the order of `ingot --help`.
  registerPlan(program, run);
  registerDeploy(program, run);
  registerRollback(program, run);
  registerPromote(program, run);
  registerRolloutControls(program, run);
  registerFleetList(program, run);
  registerStatus(program, run);
  registerRollout(program, run);
}
