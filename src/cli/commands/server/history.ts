import type { Command } from 'commander';
import { api } from '../../client.js';
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
        async (app, io) => {
          const rows = await api<
            { seq: number; time: number; fleet: string; kind: string; detail: string }[]
          >(app.home, 'GET', `/v1/history${fleet ? `?fleet=${encodeURIComponent(fleet)}` : ''}`);
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
