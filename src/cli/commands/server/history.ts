import type { Command } from 'commander';
import { routes } from '../../../core/api/routes.js';
import { call } from '../../client.js';
import type { HistoryAnswer } from '../../../core/api/fleets.js';
import { columns, json, outputOption } from '../../format.js';
import type { OutputFormat } from '../../io.js';
import type { Runner } from '../runner.js';
import { DEFAULT_HISTORY_PAGE, MAX_HISTORY_PAGE } from '../../../core/fleet/history-page.js';
import { UsageError } from '../../../domain/errors.js';

interface HistoryOptions {
  readonly output: OutputFormat;
  readonly limit?: number;
  readonly before?: number;
  readonly subject?: string;
}

/** `ingot history [FLEET] [--limit N] [--before SEQ] [--subject S]` */
export function registerHistory(program: Command, run: Runner): void {
  program
    .command('history')
    .summary('what happened to fleets: deploys, completions, rollbacks')
    .description(
      'What happened to fleets, oldest first: deploys, steps, completions, rollbacks, pauses,\n' +
        'taints and replacements, with who did it (admin, the controller, a server) and why.\n' +
        `The newest ${DEFAULT_HISTORY_PAGE} lines (--limit: up to ${MAX_HISTORY_PAGE}): the history is never pruned, so it is\n` +
        'read a page at a time. When older lines exist, stderr says the --before SEQ that shows\n' +
        "the page before (-o wide shows each line's SEQ). --subject (with FLEET) keeps the lines\n" +
        'that name a release or artifact digest, or an instance id. -o json: {history, next}, the\n' +
        "page's lines oldest first as printed, and the --before of the page before (null: none).\n" +
        'The ledger holds the same events, signed (`ingot ledger log`).',
    )
    .argument('[fleet]', 'only this fleet')
    .option(
      '--limit <lines>',
      `at most LINES lines, the newest (1 to ${MAX_HISTORY_PAGE}; default ${DEFAULT_HISTORY_PAGE})`,
      wholeNumber('--limit'),
    )
    .option(
      '--before <seq>',
      'only lines older than SEQ (the `next` of a page)',
      wholeNumber('--before'),
    )
    .option('--subject <digest-or-id>', 'only the lines that name it (a digest, an instance id)')
    .addOption(outputOption({ wide: true }))
    .action(async (fleet: string | undefined, options: HistoryOptions) => {
      await run(
        async (_app, io, api) => {
          if (options.subject !== undefined && fleet === undefined)
            throw new UsageError('--subject needs the FLEET whose lines it looks in');
          const page = await call(api, routes.history, {
            query: {
              fleet,
              subject: options.subject,
              limit: options.limit?.toString(),
              before: options.before?.toString(),
            },
          });
          // Oldest first, as the history has always been printed; the API pages newest first.
          const rows = [...page.history].reverse();
          if (options.output === 'json') io.out(json({ history: rows, next: page.next }));
          else {
            io.out(historyTable(rows, options.output === 'wide'));
            if (page.next !== null)
              io.err(
                `older lines: ingot history${fleet === undefined ? '' : ` ${fleet}`} --before ${page.next}${options.limit === undefined ? '' : ` --limit ${options.limit}`}${options.subject === undefined ? '' : ` --subject ${options.subject}`}\n`,
              );
          }
          return 0;
        },
        () => options.output,
      );
    });
}

/** A flag's whole number, 1 or more (the server says what else bounds it). */
const wholeNumber =
  (flag: string) =>
  (raw: string): number => {
    if (!/^[1-9]\d{0,14}$/.test(raw))
      throw new UsageError(`${flag} must be a whole number, 1 or more; got ${JSON.stringify(raw)}`);
    return Number(raw);
  };

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
