import { join } from 'node:path';
import type { Logger } from 'pino';
import { LastCheckpointFile } from '../adapters/keys/ledger-last.js';
import { ledgerKey } from '../adapters/keys/ledger-key.js';
import { JsonlOutbox } from '../adapters/outbox/jsonl-outbox.js';
import { Checkpointer } from '../adapters/sql/checkpointer.js';
import type { SqlState } from '../adapters/sql/state.js';
import { systemFault } from '../adapters/shared/system-fault.js';
import { IngotError, isIngotError } from '../domain/errors.js';
import { CheckpointHealth } from '../services/server/checkpoint-health.js';
import type { Ledger } from '../ports/ledger.js';
import { LedgerRecorder } from '../services/ledger.js';
import type { LedgerTap } from '../services/server/ledger-tap.js';

/** The server's ledger: the state's log, its checkpoint key, and the recorder in front. */
export interface ServerLedger {
  readonly ledger: Ledger;
  readonly recorder: LedgerRecorder;
  /** The checkpoint key was made by this start: its verifier key, for the record. */
  readonly created: { readonly vkey: string } | null;
  /** Whether checkpoints are being signed (the log, /metrics and `ingot status` say). */
  readonly health: CheckpointHealth;
}

/**
 * Wire the ledger of `home`: the checkpoint key (made on the first start), the last
 * checkpoint it signed (kept beside the key, so that a database rewritten while the server
 * was down is refused a signature after the restart), and the recorder with its outbox,
 * replaying what a killed run had not recorded yet.
 */
export async function openServerLedger(
  home: string,
  state: SqlState,
  logger: Logger,
  /** Sees each batch once it is appended (the server's metrics and event log). */
  tap?: LedgerTap,
): Promise<ServerLedger> {
  const signing = ledgerKey(home, { signedBefore: (await state.latestCheckpoint()) !== null });
  const last = new LastCheckpointFile(home);
  let checkpointer: Checkpointer;
  try {
    checkpointer = new Checkpointer(signing.privateKey, signing.origin, last.read());
  } catch (err) {
    throw new IngotError(
      'E_LEDGER_LAST',
      `${last.path} does not verify with ${join(home, 'keys', 'ledger.key')} (${err instanceof Error ? err.message : 'unreadable'}): the key or the file was replaced. If you start a new log on purpose, move the file aside`,
    );
  }
  const ledger = state.ledger(checkpointer);
  const health = new CheckpointHealth();
  const recorder = new LedgerRecorder(
    {
      append: async (drafts) => {
        await ledger.append(drafts);
        tap?.seen(drafts);
      },
      checkpoint: () => signCheckpoint(ledger, last, health, logger),
      onError: (err) => logger.error({ err }, 'ledger append failed; kept queued'),
    },
    {
      everyMs: 10_000,
      everyEntries: 1000,
      batchMs: 100,
      outbox: new JsonlOutbox(join(home, 'ledger-outbox.jsonl')),
    },
  );
  const replayed = await recorder.recover().catch((err: unknown) => {
    logger.error({ err }, 'ledger events of the last run not recorded yet; kept queued');
    return 0;
  });
  if (replayed > 0) logger.info({ replayed }, 'ledger events of the last run recorded');
  return {
    ledger,
    recorder,
    created: signing.created ? { vkey: signing.vkey } : null,
    health,
  };
}

/**
 * Sign a checkpoint and keep it beside the key. A failure is said loudly, once per run of
 * failures at error level with its code and what to do, and stays visible in /metrics and
 * `ingot status` until a checkpoint is signed again: entries recorded meanwhile are
 * vouched for by nothing.
 */
async function signCheckpoint(
  ledger: Ledger,
  last: LastCheckpointFile,
  health: CheckpointHealth,
  logger: Logger,
): Promise<void> {
  try {
    last.keep((await ledger.checkpoint(Date.now())).note);
    health.signed(Date.now());
  } catch (thrown) {
    const err = systemFault(thrown) ?? thrown;
    const code = isIngotError(err) ? err.code : 'E_INTERNAL';
    const message = err instanceof Error ? err.message : String(err);
    if (health.failed({ code, message }, Date.now()))
      logger.error(
        { err: thrown, code },
        `LEDGER CHECKPOINTS CANNOT BE SIGNED (${code}): ${message}. Entries recorded from now on are not vouched for by any checkpoint; run \`ingot ledger verify\` and fix the cause`,
      );
    throw err;
  }
}
