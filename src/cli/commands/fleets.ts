import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { parseFleet } from '../../core/fleet/spec.js';
import { MAX_SPEC_BYTES } from '../../core/yaml-spec.js';
import { shortDigest, type Digest } from '../../domain/digest.js';
import { IngotError, UsageError } from '../../domain/errors.js';
import type { ObservedInstance } from '../../domain/instance.js';
import type { FleetRecord } from '../../core/fleet/record.js';
import { api } from '../client.js';
import { formatAge, json, outputOption, table } from '../format.js';
import type { OutputFormat } from '../io.js';
import type { Runner } from './runner.js';

/** A fleet as `GET /v1/fleets` returns it. */
type FleetView = FleetRecord & {
  /** Where the rollout stands, for people. */
  phase: string;
  /** A preview or canary step is ready and waits for `ingot promote`. */
  awaitingPromotion: boolean;
  /** Why the last reconcile pass could not do everything (budgets, admission). */
  reasons: string[];
  instances: ObservedInstance[];
};

export function registerFleets(program: Command, run: Runner): void {
  let format: OutputFormat = 'text';
  program
    .command('deploy')
    .summary('declare what a fleet runs: Ingot replaces instances until it does')
    .description(
      'Send FILE (fleet.yaml) to the running Ingot: the artifact (tag or digest) is pinned to a digest and\n' +
        "admitted, and a release is recorded. The controller then replaces instances by the fleet's strategy\n" +
        '(rolling by default: create before destroy) and rolls back by itself if the new release fails.\n' +
        'With --wait, return when the rollout has completed (exit 0) or was rolled back or refused (exit 1),\n' +
        'or when a step waits for `ingot promote` (exit 0).\n\n' +
        'Strategies (fleet.yaml `strategy`):\n' +
        '  rolling   {maxSurge, maxUnavailable}        replace as the budgets allow (default 25%/0)\n' +
        '  canary    {steps: [{instances|percent, pause}]}  run the new release on a part of the fleet,\n' +
        '            step by step, each held for its pause; a failing step rolls back\n' +
        '  blueGreen {previewReplicas, autoPromote}   run a preview beside the whole old release;\n' +
        '            replace the old release once promoted (autoPromote, or `ingot promote`)',
    )
    .argument('<file>', 'fleet.yaml')
    .option('--wait', 'wait for the rollout to finish')
    .option('--timeout <seconds>', 'with --wait: give up after this long', '300')
    .addOption(outputOption())
    .action(
      async (file: string, options: { wait?: boolean; timeout: string; output: OutputFormat }) => {
        format = options.output;
        await run(
          async (app, io) => {
            if (!/^\d{1,6}$/.test(options.timeout))
              throw new UsageError(
                `--timeout must be whole seconds, got ${JSON.stringify(options.timeout)}`,
              );
            let text: string;
            try {
              text = readFileSync(file, 'utf8');
            } catch {
              throw new IngotError('E_FLEET_NOT_FOUND', `${file}: cannot be read`);
            }
            if (Buffer.byteLength(text) > MAX_SPEC_BYTES)
              throw new IngotError(
                'E_FLEET_TOO_LARGE',
                `${file}: larger than ${MAX_SPEC_BYTES} bytes`,
              );
            parseFleet(text, file); // every problem, with its line, before anything is sent
            const record = await api<FleetRecord>(
              app.home,
              'POST',
              '/v1/fleets',
              parseYaml(text) as unknown,
            );
            let final: FleetView | undefined;
            if (options.wait) {
              const until = Date.now() + Number(options.timeout) * 1000;
              let last = '';
              for (;;) {
                const fleets = await api<FleetView[]>(app.home, 'GET', '/v1/fleets');
                final = fleets.find((f) => f.name === record.name);
                if (final) {
                  // Live progress on stderr, a line each time the picture changes.
                  const line = progressLine(final);
                  if (line !== last) io.err(`${line}\n`);
                  last = line;
                }
                if (final && (final.rollout !== 'progressing' || final.awaitingPromotion)) break;
                if (Date.now() > until)
                  throw new IngotError(
                    'E_TIMEOUT',
                    `the rollout of ${record.name} did not finish in time`,
                  );
                await new Promise((r) => setTimeout(r, 250));
              }
            }
            const shown = final ?? record;
            const waiting = final?.awaitingPromotion === true;
            if (format === 'json') io.out(json(shown));
            else
              io.out(
                `${record.name}: release ${shortDigest(record.release)} (artifact ${shortDigest(record.artifact)}) ${
                  waiting
                    ? `${final?.phase ?? ''}; run \`ingot promote ${record.name}\` to go on`
                    : `${shown.rollout}${shown.reason ? `: ${shown.reason}` : ''}`
                }\n`,
              );
            return options.wait && shown.rollout !== 'complete' && !waiting ? 1 : 0;
          },
          () => format,
        );
      },
    );

  program
    .command('rollback')
    .summary('point a fleet back at its previous release (or --to one of its releases)')
    .description(
      'Make FLEET run its previous release again (or RELEASE, a digest from `ingot history`). Nothing is\n' +
        "patched: the controller replaces the instances, within the fleet's budgets, as for any deploy.",
    )
    .argument('<fleet>', 'fleet name')
    .option('--to <release>', 'release digest to return to')
    .action(async (fleet: string, options: { to?: string }) => {
      await run(
        async (app, io) => {
          const record = await api<FleetRecord>(
            app.home,
            'POST',
            `/v1/fleets/${encodeURIComponent(fleet)}/rollback`,
            options.to !== undefined ? { to: options.to } : {},
          );
          io.out(
            `${record.name}: back to release ${shortDigest(record.release)} (${record.rollout})\n`,
          );
          return 0;
        },
        () => 'text',
      );
    });

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
    .action(async (fleet: string, options: { full?: boolean }) => {
      await run(
        async (app, io) => {
          const record = await api<FleetRecord>(
            app.home,
            'POST',
            `/v1/fleets/${encodeURIComponent(fleet)}/promote`,
            { full: options.full === true },
          );
          io.out(`${record.name}: release ${shortDigest(record.release)} promoted\n`);
          return 0;
        },
        () => 'text',
      );
    });

  program
    .command('fleets')
    .summary('the fleets and their current releases')
    .addOption(outputOption())
    .action(async (options: { output: OutputFormat }) => {
      format = options.output;
      await run(
        async (app, io) => {
          const fleets = await api<FleetView[]>(app.home, 'GET', '/v1/fleets');
          if (format === 'json') io.out(json(fleets.map(({ instances: _i, ...f }) => f)));
          else
            io.out(
              table(
                ['FLEET', 'REPLICAS', 'RELEASE', 'ARTIFACT', 'ROLLOUT'],
                fleets.map((f) => [
                  f.name,
                  String((f.spec as { replicas: number }).replicas),
                  shortDigest(f.release),
                  shortDigest(f.artifact),
                  f.rollout,
                ]),
              ),
            );
          return 0;
        },
        () => format,
      );
    });

  program
    .command('status')
    .summary('fleets, their rollouts and instances')
    .argument('[fleet]', 'only this fleet')
    .addOption(outputOption())
    .action(async (only: string | undefined, options: { output: OutputFormat }) => {
      format = options.output;
      await run(
        async (app, io) => {
          const fleets = (await api<FleetView[]>(app.home, 'GET', '/v1/fleets')).filter(
            (f) => only === undefined || f.name === only,
          );
          if (only !== undefined && fleets.length === 0)
            throw new IngotError('E_FLEET_NOT_FOUND', `no fleet ${JSON.stringify(only)}`);
          if (format === 'json') {
            io.out(json(fleets));
            return 0;
          }
          io.out(
            table(
              ['FLEET', 'RELEASE', 'ROLLOUT', 'HEALTHY', 'PHASE', 'REASON'],
              fleets.map((f) => [
                f.name,
                shortDigest(f.release),
                f.rollout,
                `${f.instances.filter((i) => i.state === 'healthy').length}/${(f.spec as { replicas: number }).replicas}`,
                f.phase,
                [f.reason ?? '', ...f.reasons].filter(Boolean).join('; '),
              ]),
            ),
          );
          const now = Date.now();
          const instances = fleets.flatMap((f) => f.instances);
          if (instances.length > 0)
            io.out(
              '\n' +
                table(
                  [
                    'INSTANCE',
                    'RELEASE',
                    'ARTIFACT',
                    'AGE',
                    'HEALTH',
                    'INTEGRITY',
                    'HOST',
                    'ADDRESS',
                  ],
                  instances.map((i) => [
                    i.id,
                    i.release ? shortDigest(i.release as Digest) : '-',
                    shortDigest(i.artifact),
                    i.startedAt ? formatAge(now - Date.parse(i.startedAt)) : '-',
                    i.state,
                    i.integrity ?? 'unchecked',
                    i.host ?? '-',
                    i.address ?? '-',
                  ]),
                ),
            );
          return 0;
        },
        () => format,
      );
    });
}

/** "hello: new 2/3 healthy, old 1 left (progressing)" */
function progressLine(f: FleetView): string {
  const current = f.instances.filter((i) => i.release === f.release);
  const old = f.instances.filter((i) => i.release !== f.release);
  const healthy = current.filter((i) => i.state === 'healthy').length;
  const replicas = (f.spec as { replicas: number }).replicas;
  return `${f.name}: new ${healthy}/${replicas} healthy${current.length > healthy ? `, ${current.length - healthy} starting` : ''}, old ${old.length} left; ${f.phase} (${f.rollout})`;
}
