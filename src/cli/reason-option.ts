import { Option } from 'commander';

/**
 * `--reason TEXT`, on every change by hand (deploy, rollback, promote, pause, resume, abort):
 * why, for the history's WHY column and the ledger, as `kubectl annotate … change-cause` is
 * used. The server checks it (at most 300 characters, no control characters).
 */
export const reasonOption = (): Option =>
  new Option('--reason <text>', 'why: kept in the history and the ledger (≤ 300 characters)');

/** The query a change by hand sends: the reason, when one was given. */
export const reasonQuery = (reason: string | undefined): { reason?: string } =>
  reason === undefined ? {} : { reason };
