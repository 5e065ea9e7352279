import type { Command } from 'commander';
import { routes } from '../../../core/api/routes.js';
import { call } from '../../client.js';
import { json, outputOption } from '../../format.js';
import type { OutputFormat } from '../../io.js';
import type { Runner } from '../runner.js';

/** `ingot history [FLEET]` */
export function registerHistory(program: Command, run: Runner): void {
  program
    .command('history')
    .summary('what happened to fleets: deploys, completions, rollbacks')
    .argument('[fleet]', 'only this fleet')
    .addOption(outputOption())
    .action(async (fleet: string | undefined, options: { output: OutputFormat }) => {
      await run(
        async (_app, io, api) => {
          const rows = await call(api, routes.history, { query: { fleet } });
          if (options.output === 'json') io.out(json(rows));
          else
            for (const r of rows)
              io.out(`${new Date(r.time).toISOString()}  ${r.fleet}  ${r.kind}  ${r.detail}\n`);
          return 0;
        },
        () => options.output,
      );
    });
}
