import type { Command } from 'commander';
import { shortDigest } from '../../../domain/digest.js';
import { routes } from '../../../core/api/routes.js';
import type { FleetRecordAnswer } from '../../../core/api/fleets.js';
import { call } from '../../client.js';
import { json, outputOption } from '../../format.js';
import type { OutputFormat } from '../../io.js';
import type { Runner } from '../runner.js';
import { reasonOption, reasonQuery } from '../../reason-option.js';

/** One hand on a rollout: its route, and the line that says what it did. */
interface Control {
  readonly name: 'pause' | 'resume' | 'abort';
  readonly summary: string;
  readonly description: string;
  readonly said: (r: FleetRecordAnswer) => string;
}

const CONTROLS: readonly Control[] = [
  {
    name: 'pause',
    summary: 'hold a rollout in progress: it takes no further step until resumed',
    description:
      "Hold FLEET's rollout where it is: the controller keeps the current step's shape (it still\n" +
      'replaces failed or tainted instances, and a failing release still rolls back) but takes no\n' +
      'further step and does not complete; the step’s pause and its progress deadline stop counting.\n' +
      'Kept in the fleet record (a restarted server stays paused), shown by `ingot status`, recorded\n' +
      'in the history and the ledger. Refused (E_PAUSE_NONE) without a rollout in progress, or for a\n' +
      'rolling strategy, which has no step to hold (use `ingot abort`).',
    said: (r) =>
      `${r.name}: rollout of release ${shortDigest(r.release)} paused; \`ingot resume ${r.name}\` lets it go on`,
  },
  {
    name: 'resume',
    summary: 'let a paused rollout go on',
    description:
      "Let FLEET's paused rollout go on from where it stopped: the time it was paused is given\n" +
      'back to the step’s pause and to its progress deadline. Refused (E_RESUME_NONE) if it is not paused.',
    said: (r) => `${r.name}: rollout of release ${shortDigest(r.release)} resumed`,
  },
  {
    name: 'abort',
    summary: 'stop the rollout in progress and go back to the last stable release',
    description:
      "End FLEET's rollout in progress, paused or not, and go back to its last stable release by\n" +
      'replacement, as an automatic rollback does (the history says "aborted by hand"). Refused\n' +
      '(E_ABORT_NONE) when no rollout is in progress, or it is the fleet’s first release;\n' +
      '`ingot rollback` moves any fleet to any of its releases.',
    said: (r) =>
      `${r.name}: rollout aborted, back to release ${shortDigest(r.release)} (${r.rollout})`,
  },
];

/** `ingot pause FLEET`, `ingot resume FLEET`, `ingot abort FLEET` */
export function registerRolloutControls(program: Command, run: Runner): void {
  for (const c of CONTROLS)
    program
      .command(c.name)
      .summary(c.summary)
      .description(c.description)
      .argument('<fleet>', 'fleet name')
      .addOption(reasonOption())
      .addOption(outputOption())
      .action(async (fleet: string, options: { reason?: string; output: OutputFormat }) => {
        await run(
          async (_app, io, api) => {
            const record = await call(api, routes[c.name], {
              params: { name: fleet },
              query: reasonQuery(options.reason),
            });
            io.out(options.output === 'json' ? json(record) : `${c.said(record)}\n`);
            return 0;
          },
          () => options.output,
        );
      });
}
