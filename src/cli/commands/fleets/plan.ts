import type { Command } from 'commander';
import type { FleetPlanAnswer } from '../../../core/api/fleets.js';
import { routes } from '../../../core/api/routes.js';
import { formatDuration } from '../../../core/duration.js';
import { shortDigest } from '../../../domain/digest.js';
import { call } from '../../client.js';
import { formatBytes, json, outputOption } from '../../format.js';
import type { ApiSettings } from '../../target.js';
import type { Io, OutputFormat } from '../../io.js';
import type { Runner } from '../runner.js';

/** `ingot plan FILE` */
export function registerPlan(program: Command, run: Runner): void {
  program
    .command('plan')
    .summary('what `ingot deploy FILE` would change and do, changing nothing')
    .description(
      'Ask the running Ingot what a deploy of FILE (fleet.yaml) would do, as `nomad job plan` does:\n' +
        "the same checks as the deploy (schema, capacity, admission, the runtime's and the edge's\n" +
        'refusals), with the same error codes, then the release diff against the fleet as it is now\n' +
        '(artifact, env names added, removed and changed — never their values —, resources, strategy,\n' +
        "replicas, the rest) and the rollout's starts, stops and stays, decided by the controller's own\n" +
        'planner: its next pass, then every step to the end as if each new instance turned ready.\n' +
        'Nothing is written: no release, no ledger entry, nothing pulled (a registry artifact must be\n' +
        'in the store: `ingot pull` it). Same as `ingot deploy --dry-run FILE`.',
    )
    .argument('<file>', 'fleet.yaml')
    .addOption(outputOption())
    .action(async (file: string, options: { output: OutputFormat }) => {
      await run(
        (_app, io, api) => planFile(api, file, options.output, io),
        () => options.output,
      );
    });
}

/** Plan FILE on the server and print it: `ingot plan` and `ingot deploy --dry-run`. */
export async function planFile(
  api: ApiSettings,
  file: string,
  output: OutputFormat,
  io: Io,
): Promise<number> {
  // YAML and the fleet's schema are loaded by this command only.
  const { readFleetFile } = await import('./fleet-file.js');
  const plan = await call(api, routes.plan, { body: readFleetFile(file) });
  io.out(output === 'json' ? json(plan) : planText(plan));
  return 0;
}

/** The plan for people: the diff, then the instances, each line marked + - = as diff does. */
export function planText(plan: FleetPlanAnswer): string {
  const { diff, instances } = plan;
  const lines: string[] = [];
  const release = shortDigest(diff.release.to);
  lines.push(
    diff.created
      ? `fleet ${diff.fleet}: new, release ${release}`
      : diff.newRelease
        ? `fleet ${diff.fleet}: new release ${release} (now ${shortDigest(diff.release.from!)}): its instances are replaced`
        : `fleet ${diff.fleet}: same release ${release}: no instance is replaced for the release`,
  );
  const artifactChanged = diff.artifact.from !== diff.artifact.to;
  lines.push(
    `  artifact  ${diff.artifact.toName} ${shortDigest(diff.artifact.to)}${
      diff.created
        ? ''
        : artifactChanged
          ? ` (was ${diff.artifact.fromName ?? '?'} ${diff.artifact.from ? shortDigest(diff.artifact.from) : '?'})`
          : ' (unchanged)'
    }`,
  );
  const env = [
    ...diff.env.added.map((k) => `${k} added`),
    ...diff.env.changed.map((k) => `${k} changed`),
    ...diff.env.removed.map((k) => `${k} removed`),
  ];
  if (env.length > 0) lines.push(`  env       ${env.join(', ')}`);
  // A new fleet: what it sets, not the empty defaults ({} volumes, [] constraints).
  const said = diff.settings.filter((s) => !(diff.created && isEmpty(s.to)));
  for (const s of said)
    lines.push(
      `  ${s.field}  ${diff.created ? '' : `${shown(s.field, s.from)} → `}${shown(s.field, s.to)}${s.release ? ' (release)' : ''}`,
    );
  lines.push('');
  lines.push(`rollout: ${plan.rollout}; ${instances.steps.join(' → ')}`);
  for (const i of instances.start) lines.push(`  + ${i.id}  start`);
  for (const i of instances.stop) lines.push(`  - ${i.id}  stop: ${i.reason}`);
  for (const id of instances.stay) lines.push(`  = ${id}  stays`);
  const next = instances.next;
  lines.push(
    `next pass: ${next.start.length} to start, ${next.stop.filter((s) => s.reason !== 'gone').length} to stop, ${next.keep.length} kept (${instances.phase})${
      next.reasons.length > 0 ? `; ${next.reasons.join('; ')}` : ''
    }`,
  );
  lines.push('nothing was changed: `ingot deploy FILE` does it');
  return lines.join('\n') + '\n';
}

const DURATIONS: ReadonlySet<string> = new Set(['progressDeadline', 'maxInstanceAge', 'stopGrace']);

/** A setting's value as fleet.yaml would say it: durations and sizes in units, "-" if unset. */
function shown(field: string, value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'number' && DURATIONS.has(field)) return formatDuration(value);
  if (typeof value === 'number' && field === 'resources.memory') return formatBytes(value);
  return JSON.stringify(value);
}

const isEmpty = (v: unknown): boolean =>
  v === null || (typeof v === 'object' && Object.keys(v).length === 0);
