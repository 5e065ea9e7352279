import type { Command } from 'commander';
import type { Evidence } from '../../../domain/instance.js';
import { routes } from '../../../core/api/routes.js';
import { call } from '../../client.js';
import { json, outputOption, table } from '../../format.js';
import type { OutputFormat } from '../../io.js';
import type { Runner } from '../runner.js';

/** `ingot drift [FLEET]` */
export function registerDrift(program: Command, run: Runner): void {
  program
    .command('drift')
    .summary('evidence of drift and access: why instances are tainted')
    .description(
      'List the evidence against tainted instances: which check saw what (a file that differs from\n' +
        'the measurement, a process or mount that differs from the runtime config, a break-glass\n' +
        'session), what was expected, what was found, and when. Tainted instances are replaced.',
    )
    .argument('[fleet]', 'only this fleet')
    .addOption(outputOption())
    .action(async (fleet: string | undefined, options: { output: OutputFormat }) => {
      await run(
        async (_app, io, api) => {
          const tainted = await call(api, routes.drift, { query: { fleet } });
          if (options.output === 'json') io.out(json(tainted));
          else if (tainted.length === 0) io.err('no drift: every instance is as built\n');
          else
            io.out(
              table(
                ['INSTANCE', 'DETECTOR', 'PATH', 'EXPECTED', 'ACTUAL', 'TIME'],
                tainted.flatMap((i) =>
                  (i.evidence ?? []).map((e: Evidence) => [
                    i.id,
                    e.detector,
                    e.path,
                    e.expected,
                    e.actual,
                    e.time,
                  ]),
                ),
              ),
            );
          return 0;
        },
        () => options.output,
      );
    });
}
