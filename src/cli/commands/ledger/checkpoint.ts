import { checkpointOnWire } from '../../../core/api/ledger.js';
import type { Command } from 'commander';
import { IngotError } from '../../../domain/errors.js';
import { routes } from '../../../core/api/routes.js';
import { call } from '../../client.js';
import { json, outputOption } from '../../format.js';
import type { OutputFormat } from '../../io.js';
import type { Runner } from '../runner.js';
import { running, withLedger } from './ledger-access.js';

/** `ingot ledger checkpoint` */
export function registerCheckpoint(ledger: Command, run: Runner): void {
  ledger
    .command('checkpoint')
    .summary('sign a checkpoint now (if Ingot runs) and print the latest')
    .addOption(outputOption())
    .action(async (options: { output: OutputFormat }) => {
      await run(
        async (app, io, api) => {
          // A server named by URL signs its own; else the home's, if it runs.
          const latest = running(api)
            ? await call(api, routes.checkpoint)
            : await withLedger(app, { api, io, checks: false }, async (l) => {
                const stored = await l.latestCheckpoint();
                return stored === null ? null : checkpointOnWire(stored);
              });
          if (!latest) throw new IngotError('E_LEDGER_NONE', 'no checkpoint has been signed yet');
          if (options.output === 'json') io.out(json(latest));
          else io.out(latest.note);
          return 0;
        },
        () => options.output,
      );
    });
}
