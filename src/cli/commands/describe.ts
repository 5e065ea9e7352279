import { Argument, type Command } from 'commander';
import { routes } from '../../core/api/routes.js';
import type { HistoryAnswer as HistoryEntry } from '../../core/api/fleets.js';
import { IngotError } from '../../domain/errors.js';
import type { ObservedInstance } from '../../domain/instance.js';
import { call } from '../client.js';
import { formatAge, json, outputOption } from '../format.js';
import type { OutputFormat } from '../io.js';
import { listFleets, type FleetView } from './fleets/fleet-view.js';
import { rolloutFrame } from './fleets/rollout.js';
import { eventLines } from './describe-events.js';
import {
  describeRelease,
  parseReleaseRef,
  releaseDescription,
  releaseParam,
} from './describe-release.js';
import { addressText } from './fleets/status.js';
import type { Runner } from './runner.js';

/** How many of the fleet's history lines `describe` shows (all of them are in `history`). */
const EVENTS = 15;
/**
 * How many lines that name one release or instance `describe` reads, the newest: a release's
 * deploy, steps, completion, rollbacks and failures are far fewer in practice, and a page
 * bounds what one describe reads (`ingot history FLEET --subject` shows the rest).
 */
const EVENTS_OF_ONE = 100;

/** `ingot describe fleet NAME`, `ingot describe instance ID`, `ingot describe release FLEET[@N]` */
export function registerDescribe(program: Command, run: Runner): void {
  program
    .command('describe')
    .summary('one fleet, release or instance in full: settings, state, evidence, recent events')
    .description(
      'Show everything Ingot knows of one fleet or one instance, as `kubectl describe` does.\n' +
        "A fleet: its release and settings (env names only: values may be secrets), the rollout's\n" +
        'steps and what it waits for, its instances, why the last pass could not do everything, and\n' +
        'its last events with who did them and why. An instance: its fleet, release, artifact,\n' +
        'state, health and integrity, where it runs (host, address and ports), how it ended, the\n' +
        'drift evidence against it (expected against actual), and the events that name it.\n' +
        'A release (`FLEET@N`, the Nth release the fleet was given, counted from 1; `FLEET`: the\n' +
        'one it runs now): its artifact, who deployed it, when and why, what it changed from the\n' +
        'release before (artifact, env names only, settings), the instances running it, and the\n' +
        'events that name it.',
    )
    .addArgument(
      new Argument('<kind>', 'what to describe').choices(['fleet', 'instance', 'release']),
    )
    .argument('<name>', "the fleet's name, the instance's id, or FLEET[@N] for a release")
    .addOption(outputOption())
    .action(async (kind: string, name: string, options: { output: OutputFormat }) => {
      await run(
        async (_app, io, api) => {
          const fleets = await listFleets(api);
          const now = Date.now();
          if (kind === 'release') {
            const ref = parseReleaseRef(name);
            const f = fleets.find((x) => x.name === ref.fleet);
            if (!f)
              throw new IngotError('E_FLEET_NOT_FOUND', `no fleet ${JSON.stringify(ref.fleet)}`);
            // The release and the one before it, and no other: a fleet's releases are never
            // pruned, and this reads two of them however many it has.
            const found = await call(api, routes.release, {
              params: { name: f.name, release: releaseParam(f, ref.number) },
            });
            // The lines that name it, newest first from their own index (history-page.ts):
            // a page, however long the fleet's history, then oldest first as printed.
            const page = await call(api, routes.history, {
              query: { fleet: f.name, subject: found.release.digest, limit: String(EVENTS_OF_ONE) },
            });
            const d = releaseDescription(f, found, [...page.history].reverse());
            io.out(options.output === 'json' ? json(d) : describeRelease(d, now));
            return 0;
          }
          if (kind === 'fleet') {
            const f = fleets.find((x) => x.name === name);
            if (!f) throw new IngotError('E_FLEET_NOT_FOUND', `no fleet ${JSON.stringify(name)}`);
            // Its last EVENTS lines: one page of them, never the whole history.
            const page = await call(api, routes.history, {
              query: { fleet: name, limit: String(EVENTS) },
            });
            const history = [...page.history].reverse();
            io.out(
              options.output === 'json'
                ? json({ fleet: f, events: history })
                : describeFleet(f, history, now),
            );
            return 0;
          }
          const f = fleets.find((x) => x.instances.some((i) => i.id === name));
          const i = f?.instances.find((x) => x.id === name);
          if (!f || !i)
            throw new IngotError('E_INSTANCE_NOT_FOUND', `no instance ${JSON.stringify(name)}`);
          // The lines that name it (taint, break-glass, replacement), from their own index.
          const page = await call(api, routes.history, {
            query: { fleet: f.name, subject: name, limit: String(EVENTS_OF_ONE) },
          });
          const events = [...page.history].reverse();
          io.out(
            options.output === 'json'
              ? json({ instance: i, fleet: f.name, events })
              : describeInstance(i, f, events, now),
          );
          return 0;
        },
        () => options.output,
      );
    });
}

export function describeFleet(f: FleetView, history: readonly HistoryEntry[], now: number): string {
  const spec = f.spec;
  const strategy = Object.keys(spec.strategy)[0] ?? 'rolling';
  const env = Object.keys(spec.env).sort();
  const resources = Object.entries(spec.resources)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(', ');
  const settings = [
    'settings:',
    `  artifact:   ${spec.artifact}`,
    `  replicas:   ${spec.replicas}`,
    `  strategy:   ${strategy}`,
    `  env:        ${env.length > 0 ? env.join(', ') : '-'}`,
    `  resources:  ${resources || '-'}`,
    ...(spec.service
      ? [
          `  service:    port ${spec.service.port} at ${spec.service.listen}${spec.service.previewListen ? `, preview at ${spec.service.previewListen}` : ''}`,
        ]
      : []),
  ];
  const rollout = rolloutFrame(f, 'text', now, false).text.trimEnd();
  const reasons = [f.reason ?? '', ...f.reasons].filter(Boolean);
  return [
    rollout,
    '',
    ...settings,
    '',
    `reasons:    ${reasons.length > 0 ? reasons.join('; ') : '-'}`,
    '',
    ...eventLines(history.slice(-EVENTS), now),
  ].join('\n');
}

export function describeInstance(
  i: ObservedInstance,
  f: FleetView,
  events: readonly HistoryEntry[],
  now: number,
): string {
  const since = (iso: string | undefined) =>
    iso === undefined ? '-' : `${iso} (${formatAge(now - Date.parse(iso))} ago)`;
  const lines = [
    `instance:   ${i.id}`,
    `fleet:      ${f.name}${i.release === f.release ? ' (its current release)' : ' (an earlier release)'}`,
    `release:    ${i.release ?? '-'}`,
    `artifact:   ${i.artifact}`,
    `state:      ${i.state}${i.reason ? ` (${i.reason})` : ''}`,
    `healthy:    ${since(i.healthySince)}`,
    `integrity:  ${i.integrity ?? 'unchecked'}`,
    `host:       ${i.host ?? 'this machine'}`,
    `address:    ${addressText(i)}`,
    `pid:        ${i.pid ?? '-'}`,
    `started:    ${since(i.startedAt)}`,
  ];
  if (i.heldUntil !== undefined) lines.push(`held until: ${i.heldUntil} (break-glass)`);
  if (i.exit !== undefined)
    lines.push(
      `exited:     ${i.exit.at}: ${i.exit.code !== undefined ? `code ${i.exit.code}` : `signal ${i.exit.signal ?? '?'}`}${i.exit.oomKilled ? ', out of memory' : ''}${i.exit.lastLine ? ` — ${i.exit.lastLine}` : ''}`,
    );
  const evidence = i.evidence ?? [];
  lines.push('', `evidence:   ${evidence.length === 0 ? 'none' : ''}`.trimEnd());
  for (const e of evidence)
    lines.push(
      `  ${e.time}  ${e.detector}  ${e.path}`,
      `    expected ${e.expected}`,
      `    actual   ${e.actual}`,
    );
  return [...lines, '', ...eventLines(events, now)].join('\n') + '\n';
}
