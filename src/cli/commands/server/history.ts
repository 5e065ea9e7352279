import type { Command } from 'commander';
import { routes } from '../../../core/api/routes.js';
import { call } from '../../client.js';
import type { HistoryAnswer } from '../../../core/api/fleets.js';
import { columns, json, outputOption } from '../../format.js';
import type { OutputFormat } from '../../io.js';
import type { Runner } from '../runner.js';

/** `ingot history [FLEET]` */
export function registerHistory(program: Command, run: Runner): void {
  program
    .command('history')
    .summary('what happened to fleets: deploys, completions, rollbacks')
    .description(
      'What happened to fleets, oldest first: deploys, steps, completions, rollbacks, pauses,\n' +
        'taints and replacements, with who did it (admin, the controller, a server) and why.\n' +
        'The ledger holds the same events, signed (`ingot ledger log`).',
    )
    .argument('[fleet]', 'only this fleet')
    .addOption(outputOption({ wide: true }))
    .action(async (fleet: string | undefined, options: { output: OutputFormat }) => {
      await run(
        async (_app, io, api) => {
          const rows = await call(api, routes.history, { query: { fleet } });
          if (options.output === 'json') io.out(json(rows));
          else io.out(historyTable(rows, options.output === 'wide'));
          return 0;
        },
        () => options.output,
      );
    });
}

/**
 * One row per event under a header: the event and what it did first, then who did it and why
 * (a reason the line already says is not said twice). Wide: its sequence number (as the
 * ledger's entries name it) and the reason in full, said or not.
 */
export function historyTable(rows: readonly HistoryAnswer[], wide = false): string {
  return columns(
    [
      { header: 'SEQ', cell: (r) => String(r.seq), wide: true },
      { header: 'TIME', cell: (r) => r.time },
      { header: 'FLEET', cell: (r) => r.fleet },
      { header: 'EVENT', cell: (r) => r.kind },
      { header: 'WHAT', cell: (r) => r.detail },
      { header: 'BY', cell: (r) => r.actor || '-' },
      {
        header: 'WHY',
        cell: (r) =>
          r.reason !== undefined && (wide || !r.detail.includes(r.reason)) ? r.reason : '',
      },
    ],
    rows,
    wide,
  );
}
