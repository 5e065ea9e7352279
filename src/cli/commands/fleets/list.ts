import type { Command } from 'commander';
import { shortDigest } from '../../../domain/digest.js';
import { json, outputOption, table } from '../../format.js';
import type { OutputFormat } from '../../io.js';
import type { Runner } from '../runner.js';
import { listFleets, replicasOf } from './fleet-view.js';

/** `ingot fleets` */
export function registerFleetList(program: Command, run: Runner): void {
  program
    .command('fleets')
    .summary('the fleets and their current releases')
    .addOption(outputOption())
    .action(async (options: { output: OutputFormat }) => {
      await run(
        async (_app, io, api) => {
          const fleets = await listFleets(api);
          if (options.output === 'json') io.out(json(fleets.map(({ instances: _i, ...f }) => f)));
          else
            io.out(
              table(
                ['FLEET', 'REPLICAS', 'RELEASE', 'ARTIFACT', 'ROLLOUT'],
                fleets.map((f) => [
                  f.name,
                  String(replicasOf(f)),
                  shortDigest(f.release),
                  shortDigest(f.artifact),
                  f.pausedAt !== null ? `${f.rollout} (paused)` : f.rollout,
                ]),
              ),
            );
          return 0;
        },
        () => options.output,
      );
    });
}
