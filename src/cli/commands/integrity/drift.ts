import type { Command } from 'commander';
import type { Evidence, ObservedInstance } from '../../../domain/instance.js';
import { shortDigest } from '../../../domain/digest.js';
import { routes } from '../../../core/api/routes.js';
import { call } from '../../client.js';
import { columns, json, outputOption } from '../../format.js';
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
    .addOption(outputOption({ wide: true }))
    .action(async (fleet: string | undefined, options: { output: OutputFormat }) => {
      await run(
        async (_app, io, api) => {
          const tainted = await call(api, routes.drift, { query: { fleet } });
          if (options.output === 'json') io.out(json(tainted));
          else if (tainted.length === 0) io.err('no drift: every instance is as built\n');
          else io.out(driftTable(tainted, options.output === 'wide'));
          return 0;
        },
        () => options.output,
      );
    });
}

/** One row per piece of evidence; wide: the instance's fleet, host and artifact too. */
export function driftTable(tainted: readonly ObservedInstance[], wide: boolean): string {
  type Row = { readonly i: ObservedInstance; readonly e: Evidence };
  return columns<Row>(
    [
      { header: 'INSTANCE', cell: (r) => r.i.id },
      { header: 'FLEET', cell: (r) => r.i.fleet, wide: true },
      { header: 'HOST', cell: (r) => r.i.host ?? '-', wide: true },
      { header: 'ARTIFACT', cell: (r) => shortDigest(r.i.artifact), wide: true },
      { header: 'DETECTOR', cell: (r) => r.e.detector },
      { header: 'PATH', cell: (r) => r.e.path },
      { header: 'EXPECTED', cell: (r) => r.e.expected },
      { header: 'ACTUAL', cell: (r) => r.e.actual },
      { header: 'TIME', cell: (r) => r.e.time },
    ],
    tainted.flatMap((i) => (i.evidence ?? []).map((e) => ({ i, e }))),
    wide,
  );
}
