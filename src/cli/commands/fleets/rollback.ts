import type { Command } from 'commander';
import { shortDigest } from '../../../domain/digest.js';
import { routes } from '../../../core/api/routes.js';
import { call } from '../../client.js';
import { json, outputOption } from '../../format.js';
import type { OutputFormat } from '../../io.js';
import type { Runner } from '../runner.js';
import { reasonOption, reasonQuery } from '../../reason-option.js';

/** `ingot rollback FLEET [--to RELEASE]` */
export function registerRollback(program: Command, run: Runner): void {
  program
    .command('rollback')
    .summary('point a fleet back at its previous release (or --to one of its releases)')
    .description(
      'Make FLEET run its previous release again (or RELEASE, a digest from `ingot history`). Nothing is\n' +
        "patched: the controller replaces the instances, within the fleet's budgets, as for any deploy.",
    )
    .argument('<fleet>', 'fleet name')
    .option('--to <release>', 'release digest to return to')
    .addOption(reasonOption())
    .addOption(outputOption())
    .action(
      async (fleet: string, options: { to?: string; reason?: string; output: OutputFormat }) => {
        await run(
          async (_app, io, api) => {
            const record = await call(api, routes.rollback, {
              params: { name: fleet },
              // The server checks it is a digest of one of the fleet's releases.
              body: options.to !== undefined ? { to: options.to } : {},
              query: reasonQuery(options.reason),
            });
            io.out(
              options.output === 'json'
                ? json(record)
                : `${record.name}: back to release ${shortDigest(record.release)} (${record.rollout})\n`,
            );
            return 0;
          },
          () => options.output,
        );
      },
    );
}
