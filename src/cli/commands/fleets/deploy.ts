import type { Command } from 'commander';
import { isRegistryReference } from '../../../core/registry/reference.js';
import { shortDigest } from '../../../domain/digest.js';
import { DAY_MS } from '../../../core/duration.js';
import { IngotError } from '../../../domain/errors.js';
import { durationFlag } from '../../duration-flag.js';
import { routes } from '../../../core/api/routes.js';
import { call } from '../../client.js';
import type { ApiSettings } from '../../target.js';
import { json, outputOption } from '../../format.js';
import type { Io, OutputFormat } from '../../io.js';
import type { Runner } from '../runner.js';
import { reasonOption, reasonQuery } from '../../reason-option.js';
import { listFleets, replicasOf, waitingText, type FleetView } from './fleet-view.js';
import { planFile } from './plan.js';

/** How long a deploy that pulls its artifact from a registry may take to answer. */
const PULL_TIMEOUT_MS = 15 * 60_000;

interface DeployOptions {
  dryRun?: boolean;
  wait?: boolean;
  timeout: string;
  reason?: string;
  output: OutputFormat;
}

/** `ingot deploy FILE` */
export function registerDeploy(program: Command, run: Runner): void {
  program
    .command('deploy')
    .summary('declare what a fleet runs: Ingot replaces instances until it does')
    .description(
      'Send FILE (fleet.yaml) to the running Ingot: the artifact (tag or digest) is pinned to a digest and\n' +
        'admitted, and a release is recorded. An artifact named HOST[:PORT]/REPO:TAG (or @sha256:…) is\n' +
        'pulled from that registry first, admitted before any layer (`ingot up --insecure-registry` for\n' +
        'plain HTTP); a host that lacks it pulls it by digest.\n' +
        "The controller then replaces instances by the fleet's strategy\n" +
        '(rolling by default: create before destroy) and rolls back by itself if the new release fails.\n' +
        'With --wait, return when the rollout has completed (exit 0) or was rolled back, refused or failed\n' +
        '(exit 1; failed: its instances could not start, 3 rounds of attempts backed off 2 s, 4 s,\n' +
        'or crashed 3 times, restarts backed off 10 s, 20 s: the reason says how they exited),\n' +
        'or when a step waits: for its pause, for `ingot promote`, or, paused, for `ingot resume`\n' +
        '(exit 0, with a line that says what it waits for).\n\n' +
        'Strategies (fleet.yaml `strategy`):\n' +
        '  rolling   {maxSurge, maxUnavailable}        replace as the budgets allow (default 25%/0)\n' +
        '  canary    {steps: [{instances|percent, pause}]}  run the new release on a part of the fleet,\n' +
        '            step by step, each held for its pause; a failing step rolls back\n' +
        '  blueGreen {previewReplicas, autoPromote}   run a preview beside the whole old release;\n' +
        '            replace the old release once promoted (autoPromote, or `ingot promote`)',
    )
    .argument('<file>', 'fleet.yaml')
    .option('--dry-run', 'change nothing: show what the deploy would do (as `ingot plan FILE`)')
    .option('--wait', 'wait for the rollout to finish')
    .option('--timeout <duration>', 'with --wait: give up after this long (90s, 5m, 1h30m)', '5m')
    .addOption(reasonOption())
    .addOption(outputOption())
    .action(async (file: string, options: DeployOptions) => {
      await run(
        async (_app, io, api) => {
          if (options.dryRun) return planFile(api, file, options.output, io);
          const timeoutMs = durationFlag('--timeout', options.timeout, {
            minMs: 1000,
            maxMs: 7 * DAY_MS,
          });
          // YAML and the fleet's schema are loaded by this command only.
          const { readFleetFile } = await import('./fleet-file.js');
          const body = readFleetFile(file);
          const record = await call(api, routes.deploy, {
            body,
            query: reasonQuery(options.reason),
            // The server pulls a registry artifact before it answers: layers take their time.
            ...(typeof body.artifact === 'string' &&
              isRegistryReference(body.artifact) && { timeoutMs: PULL_TIMEOUT_MS }),
          });
          const final = options.wait
            ? await waitForRollout(api, record.name, timeoutMs, io)
            : undefined;
          const shown = final ?? record;
          // A step that waits for time or a person is where --wait ends (the README's promise).
          const waiting = final === undefined ? null : waitingText(final);
          if (options.output === 'json') io.out(json(shown));
          else
            io.out(
              `${record.name}: release ${shortDigest(record.release)} (artifact ${shortDigest(record.artifact)}) ${
                waiting !== null && final !== undefined
                  ? `${final.phase}; ${waiting}`
                  : `${shown.rollout}${shown.reason ? `: ${shown.reason}` : ''}`
              }\n`,
            );
          return options.wait && shown.rollout !== 'complete' && waiting === null ? 1 : 0;
        },
        () => options.output,
      );
    });
}

/**
 * Poll the fleet until its rollout ends or waits (for `ingot promote`, a step's pause, or
 * `ingot resume`), printing a line on stderr each time the picture changes.
 */
async function waitForRollout(
  api: ApiSettings,
  name: string,
  timeoutMs: number,
  io: Io,
): Promise<FleetView> {
  const until = Date.now() + timeoutMs;
  let last = '';
  let final: FleetView | undefined;
  for (;;) {
    final = (await listFleets(api)).find((f) => f.name === name);
    if (final) {
      const line = progressLine(final);
      if (line !== last) io.err(`${line}\n`);
      last = line;
    }
    if (final && (final.rollout !== 'progressing' || waitingText(final) !== null)) return final;
    if (Date.now() > until)
      throw new IngotError('E_TIMEOUT', `the rollout of ${name} did not finish in time`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** "hello: new 2/3 healthy, old 1 left (progressing)" */
function progressLine(f: FleetView): string {
  // Being stopped: neither new nor left to replace (they take their grace in the background).
  const live = f.instances.filter((i) => i.state !== 'stopping');
  const stopping = f.instances.length - live.length;
  const current = live.filter((i) => i.release === f.release);
  const old = live.filter((i) => i.release !== f.release);
  const healthy = current.filter((i) => i.state === 'healthy').length;
  const replicas = replicasOf(f);
  return `${f.name}: new ${healthy}/${replicas} healthy${current.length > healthy ? `, ${current.length - healthy} starting` : ''}, old ${old.length} left${stopping > 0 ? `, ${stopping} stopping` : ''}; ${f.phase} (${f.rollout})`;
}
