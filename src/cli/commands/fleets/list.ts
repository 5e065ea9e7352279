import type { Command } from 'commander';
import { shortDigest } from '../../../domain/digest.js';
import { columns, formatAge, json, outputOption } from '../../format.js';
import type { OutputFormat } from '../../io.js';
import type { Runner } from '../runner.js';
import { listFleets, replicasOf, type FleetView } from './fleet-view.js';

/** `ingot fleets` */
export function registerFleetList(program: Command, run: Runner): void {
  program
    .command('fleets')
    .summary('the fleets and their current releases')
    .addOption(outputOption({ wide: true }))
    .action(async (options: { output: OutputFormat }) => {
      await run(
        async (_app, io, api) => {
          const fleets = await listFleets(api);
          const now = Date.now();
          if (options.output === 'json') io.out(json(fleets.map(({ instances: _i, ...f }) => f)));
          else
            io.out(
              columns<FleetView>(
                [
                  { header: 'FLEET', cell: (f) => f.name },
                  { header: 'REPLICAS', cell: (f) => String(replicasOf(f)) },
                  { header: 'RELEASE', cell: (f) => shortDigest(f.release) },
                  { header: 'ARTIFACT', cell: (f) => shortDigest(f.artifact) },
                  {
                    header: 'PREVIOUS',
                    cell: (f) => (f.previous ? shortDigest(f.previous) : '-'),
                    wide: true,
                  },
                  {
                    header: 'STRATEGY',
                    cell: (f) => Object.keys(f.spec.strategy)[0] ?? 'rolling',
                    wide: true,
                  },
                  {
                    header: 'ROLLOUT',
                    cell: (f) => (f.pausedAt !== null ? `${f.rollout} (paused)` : f.rollout),
                  },
                  {
                    header: 'STARTED',
                    cell: (f) => `${formatAge(now - Date.parse(f.rolloutStartedAt))} ago`,
                    wide: true,
                  },
                ],
                fleets,
                options.output === 'wide',
              ),
            );
          return 0;
        },
        () => options.output,
      );
    });
}
