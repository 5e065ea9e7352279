import type { Command } from 'commander';
import { routes } from '../../../core/api/routes.js';
import { call } from '../../client.js';
import { json, outputOption, table } from '../../format.js';
import type { OutputFormat } from '../../io.js';
import type { Runner } from '../runner.js';

/** `ingot verify-instances` */
export function registerVerifyInstances(program: Command, run: Runner): void {
  program
    .command('verify-instances')
    .summary('verify every running rootfs in full, now')
    .description(
      'Hash every file of every rootfs in use and compare it with its measurement, now rather than\n' +
        'at the next periodic check. Drift taints the instances, which are then replaced. Exit 1 if\n' +
        'any drift was found.',
    )
    .addOption(outputOption())
    .action(async (options: { output: OutputFormat }) => {
      await run(
        async (_app, io, api) => {
          const report = await call(api, routes.verifyInstances);
          if (options.output === 'json') io.out(json(report));
          else
            io.out(
              table(
                ['ARTIFACT', 'INSTANCES', 'DRIFT'],
                report.map((r) => [
                  r.artifact,
                  r.instances.join(' ') || '-',
                  r.drift.length === 0 ? 'none' : `${r.drift.length} path(s)`,
                ]),
              ),
            );
          return report.some((r) => r.drift.length > 0) ? 1 : 0;
        },
        () => options.output,
      );
    });
}
