import type { Command } from 'commander';
import { formatDuration } from '../../../core/duration.js';
import { shortDigest } from '../../../domain/digest.js';
import { IngotError } from '../../../domain/errors.js';
import { formatAge, json, outputOption } from '../../format.js';
import type { OutputFormat } from '../../io.js';
import { watchFrames, type Frame } from '../../watch.js';
import type { Runner } from '../runner.js';
import { listFleets, waitingText, type FleetView } from './fleet-view.js';

/** `ingot rollout FLEET [--watch]` */
export function registerRollout(program: Command, run: Runner): void {
  program
    .command('rollout')
    .summary("where a fleet's rollout stands: its steps, weights, pause, health")
    .description(
      "Show FLEET's rollout as `kubectl argo rollouts get` does: the release and the one it\n" +
        'replaces, every step of the strategy with the current one marked, what the step waits for\n' +
        '(its pause and the time left, a promotion, a resume), the new and old instances and their\n' +
        'health, and the share of requests the new release answered through the edge. With --watch,\n' +
        'ask again every second (redrawn on a terminal, a new block on each change elsewhere) until\n' +
        'the rollout ends: exit 0 when it completed, 1 when it was rolled back, refused or failed.',
    )
    .argument('<fleet>', 'fleet name')
    .option('-w, --watch', 'follow it until the rollout ends (or Ctrl-C)')
    .addOption(outputOption())
    .action(async (name: string, options: { output: OutputFormat; watch?: boolean }) => {
      await run(
        async (_app, io, api) => {
          const look = async (): Promise<Frame> => {
            const f = (await listFleets(api)).find((x) => x.name === name);
            if (!f) throw new IngotError('E_FLEET_NOT_FOUND', `no fleet ${JSON.stringify(name)}`);
            return rolloutFrame(f, options.output, Date.now(), options.watch === true);
          };
          if (options.watch) return watchFrames(io, look);
          io.out((await look()).text);
          return 0;
        },
        () => options.output,
      );
    });
}

/** The rollout's picture; when `ending`, a finished rollout ends the watch with its verdict. */
export function rolloutFrame(
  f: FleetView,
  output: OutputFormat,
  now: number,
  ending: boolean,
): Frame {
  const live = f.instances.filter((i) => i.state !== 'stopping' && i.state !== 'stopped');
  const fresh = live.filter((i) => i.release === f.release);
  const old = live.filter((i) => i.release !== f.release);
  const healthy = (xs: typeof live) => xs.filter((i) => i.state === 'healthy').length;
  const stopping = f.instances.length - live.length;
  const waiting = waitingText(f);
  const lines = [
    `fleet:    ${f.name}`,
    `release:  ${shortDigest(f.release)} (artifact ${shortDigest(f.artifact)})${f.previous ? `, replacing ${shortDigest(f.previous)}` : ''}`,
    `rollout:  ${f.rollout}${f.pausedAt !== null ? ' (paused)' : ''}, started ${formatAge(now - Date.parse(f.rolloutStartedAt))} ago`,
    `step:     ${f.phase}`,
    ...(waiting !== null ? [`waiting:  ${waiting}`] : []),
    ...stepLines(f),
    `new:      ${healthy(fresh)}/${f.spec.replicas} healthy${fresh.length > healthy(fresh) ? `, ${fresh.length - healthy(fresh)} not (yet)` : ''}`,
    `old:      ${old.length} running (${healthy(old)} healthy)${stopping > 0 ? `, ${stopping} stopping` : ''}`,
    ...(f.traffic !== undefined && f.traffic.newShare !== null
      ? [
          `traffic:  new ${f.traffic.newShare.toFixed(1)}% of ${f.traffic.requests} requests this step, ${f.traffic.newErrors} errors`,
        ]
      : []),
    ...[f.reason, ...f.reasons].filter(Boolean).map((r) => `reason:   ${r}`),
  ];
  const key = JSON.stringify([
    f.release,
    f.rollout,
    f.phase,
    f.pausedAt,
    f.waiting?.for ?? null,
    f.reason,
    f.reasons,
    f.instances.map((i) => [i.id, i.state, i.release]),
  ]);
  const exit =
    ending && f.rollout !== 'progressing' ? (f.rollout === 'complete' ? 0 : 1) : undefined;
  return {
    text: output === 'json' ? json(f) : lines.join('\n') + '\n',
    key,
    ...(exit !== undefined && { exit }),
  };
}

/**
 * "steps:    > 1. 1 instance(s) (1 of 3), pause 30s" … "2. all instances": the strategy, the
 * current one marked. (Sized here rather than by core/fleet/spec.ts, which only the commands
 * that read fleet.yaml load.)
 */
function stepLines(f: FleetView): string[] {
  const strategy = f.spec.strategy;
  let steps: string[];
  if ('canary' in strategy)
    steps = [
      ...strategy.canary.steps.map(
        (s) =>
          `${'percent' in s ? `${s.percent}%` : `${s.instances} instance(s)`} (${'percent' in s ? Math.ceil((s.percent * f.spec.replicas) / 100) : s.instances} of ${f.spec.replicas})${s.pause ? `, pause ${formatDuration(s.pause)}` : ''}`,
      ),
      'all instances',
    ];
  else if ('blueGreen' in strategy)
    steps = [
      `preview of ${strategy.blueGreen.previewReplicas ?? f.spec.replicas}, ${strategy.blueGreen.autoPromote ? 'promoted when ready' : 'until promoted'}`,
      'all instances',
    ];
  else return [];
  const current = f.rollout === 'progressing' ? f.step : steps.length - 1;
  return steps.map(
    (s, n) => `${(n === 0 ? 'steps:' : '').padEnd(10)}${n === current ? '>' : ' '} ${n + 1}. ${s}`,
  );
}
