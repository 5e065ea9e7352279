import type { Command } from 'commander';
import type { Runner } from '../runner.js';
import { registerCheckpoint } from './checkpoint.js';
import { registerExport } from './export.js';
import { registerLog } from './log.js';
import { registerProve } from './prove.js';
import { registerLedgerVerify } from './verify.js';
import { registerWhatRan } from './what-ran.js';

/** `ingot ledger …` and `ingot what-ran`: the record, read directly from the home. */
export function registerLedger(program: Command, run: Runner): void {
  const ledger = program
    .command('ledger')
    .summary('the tamper-evident record: what was built, admitted, run, changed, and by whom')
    .description(
      'Every build, admission, deploy, instance start and stop, replacement, drift, break-glass\n' +
        'session, key, policy and token change is an entry of a Merkle log (RFC 9162) in\n' +
        '$INGOT_HOME/state.db, written in the same transaction as the action it records. Signed\n' +
        'checkpoints (C2SP signed notes, Ed25519; verifier key $INGOT_HOME/keys/ledger.vkey) commit to\n' +
        'it. These commands read it directly and work whether or not Ingot runs.',
    );
  // In this order: it is the order of `ingot ledger --help`.
  registerCheckpoint(ledger, run);
  registerLog(ledger, run);
  registerProve(ledger, run);
  registerExport(ledger, run);
  registerLedgerVerify(ledger, run);
  registerWhatRan(program, run);
}
