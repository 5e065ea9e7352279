import type { Command } from 'commander';
import { shortDigest } from '../../../domain/digest.js';
import { routes } from '../../../core/api/routes.js';
import { call } from '../../client.js';
import { json, outputOption } from '../../format.js';
import type { OutputFormat } from '../../io.js';
import type { Runner } from '../runner.js';
import { reasonOption, reasonQuery } from '../../reason-option.js';

/** `ingot promote FLEET [--full]` */
export function registerPromote(program: Command, run: Runner): void {
  program
    .command('promote')
    .summary('move a paused canary to its next step, or promote a blue-green preview')
    .description(
      "Let FLEET's rollout go on: a canary moves to its next step (with --full, straight to all\n" +
        'instances); a blue-green preview is promoted, and the old release is replaced once the new\n' +
        "one is ready. The controller replaces instances within the fleet's budgets, as for any deploy.",
    )
    .argument('<fleet>', 'fleet name')
    .option('--full', 'skip the remaining canary steps')
    .addOption(reasonOption())
    .addOption(outputOption())
    .action(
      async (fleet: string, options: { full?: boolean; reason?: string; output: OutputFormat }) => {
        await run(
          async (_app, io, api) => {
            const record = await call(api, routes.promote, {
              params: { name: fleet },
              body: { full: options.full === true },
              query: reasonQuery(options.reason),
            });
            io.out(
              options.output === 'json'
                ? json(record)
                : `${record.name}: release ${shortDigest(record.release)} promoted\n`,
            );
            return 0;
          },
          () => options.output,
        );
      },
    );
}
