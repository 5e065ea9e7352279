import type { Command } from 'commander';
import type { Runner } from '../runner.js';
import { registerDebug } from './debug.js';
import { registerDrift } from './drift.js';
import { registerVerifyInstances } from './verify-instances.js';

/** `ingot drift`, `verify-instances`, `debug`: what the integrity monitor found, and break-glass. */
export function registerIntegrity(program: Command, run: Runner): void {
  // In this order: it is the order of `ingot --help`.
  registerDrift(program, run);
  registerVerifyInstances(program, run);
  registerDebug(program, run);
}
