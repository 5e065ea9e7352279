import type { Command } from 'commander';
import { shortDigest, type Digest } from '../../../domain/digest.js';
import { IngotError } from '../../../domain/errors.js';
import type { ObservedInstance } from '../../../domain/instance.js';
import { formatDuration } from '../../../core/duration.js';
import { columns, formatAge, json, outputOption, type Column } from '../../format.js';
import { routes, type ResponseOf } from '../../../core/api/routes.js';
import { call } from '../../client.js';
import type { Io, OutputFormat } from '../../io.js';
import { watchFrames, type Frame } from '../../watch.js';
import type { Runner } from '../runner.js';
import { listFleets, replicasOf, type FleetView } from './fleet-view.js';

/** `ingot status [FLEET]` */
export function registerStatus(program: Command, run: Runner): void {
  program
    .command('status')
    .summary('fleets, their rollouts and instances')
    .argument('[fleet]', 'only this fleet')
    .option('-w, --watch', 'ask again every second and show what changed, until Ctrl-C')
    .addOption(outputOption({ wide: true }))
    .action(
      async (only: string | undefined, options: { output: OutputFormat; watch?: boolean }) => {
        await run(
          async (_app, io, api) => {
            warnIfUnsigned(await call(api, routes.health), io);
            const look = async (): Promise<Frame> => {
              const fleets = (await listFleets(api)).filter(
                (f) => only === undefined || f.name === only,
              );
              if (only !== undefined && fleets.length === 0)
                throw new IngotError('E_FLEET_NOT_FOUND', `no fleet ${JSON.stringify(only)}`);
              return statusFrame(fleets, options.output, Date.now());
            };
            if (options.watch) return watchFrames(io, look);
            io.out((await look()).text);
            return 0;
          },
          () => options.output,
        );
      },
    );
}

/** The fleets and their instances; the key leaves out ages and time left, which always move. */
export function statusFrame(
  fleets: readonly FleetView[],
  output: OutputFormat,
  now: number,
): Frame {
  const key = JSON.stringify(
    fleets.map((f) => [
      f.name,
      f.release,
      f.rollout,
      f.phase,
      f.pausedAt,
      f.waiting?.for ?? null,
      f.reason,
      f.reasons,
      f.instances.map((i) => [i.id, i.state, i.integrity, i.release, i.address]),
    ]),
  );
  if (output === 'json') return { text: json(fleets), key };
  const instances = fleets.flatMap((f) => f.instances);
  const wide = output === 'wide';
  return {
    text:
      fleetTable(fleets, now, wide) +
      (instances.length > 0 ? '\n' + instanceTable(instances, now, wide) : ''),
    key,
  };
}

/** Said on stderr, whatever the output format: the ledger has stopped vouching for itself. */
function warnIfUnsigned(health: ResponseOf<typeof routes.health>, io: Io): void {
  const ledger = health.ledger;
  if (ledger?.checkpoints !== 'failing') return;
  const since = ledger.since !== undefined ? ` since ${ledger.since}` : '';
  io.err(
    `ingot: WARNING: ledger checkpoints cannot be signed${since} (${ledger.error?.code ?? 'unknown'}): ${ledger.error?.message ?? 'see server.log'}\n`,
  );
}

/** "3m" since an RFC 3339 time; "-" for none (or one that is not a time). */
const age = (iso: string | null | undefined, now: number): string => {
  const at = iso === null || iso === undefined ? NaN : Date.parse(iso);
  return Number.isFinite(at) ? formatAge(now - at) : '-';
};
const short = (d: string | null | undefined): string =>
  d === null || d === undefined ? '-' : shortDigest(d as Digest);

function fleetTable(fleets: readonly FleetView[], now: number, wide: boolean): string {
  // Only where a fleet routes traffic: the share its new release answered this step.
  const routed = fleets.some((f) => f.traffic !== undefined);
  const cols: Column<FleetView>[] = [
    { header: 'FLEET', cell: (f) => f.name },
    { header: 'RELEASE', cell: (f) => shortDigest(f.release) },
    { header: 'ARTIFACT', cell: (f) => shortDigest(f.artifact), wide: true },
    { header: 'STABLE', cell: (f) => short(f.stable), wide: true },
    { header: 'ROLLOUT', cell: (f) => (f.pausedAt !== null ? `${f.rollout} (paused)` : f.rollout) },
    { header: 'STARTED', cell: (f) => age(f.rolloutStartedAt, now), wide: true },
    { header: 'HEALTHY', cell: healthyText },
    { header: 'PHASE', cell: phaseText },
    ...(routed ? [{ header: 'TRAFFIC', cell: trafficText }] : []),
    { header: 'REASON', cell: reasonText },
  ];
  return columns(cols, fleets, wide);
}

/**
 * Healthy instances of the fleet's release against its replicas, and apart those of other
 * releases (a rollout's old ones, a surge): "2/3 +2 old", never "4/3".
 */
export function healthyText(f: FleetView): string {
  const healthy = f.instances.filter((i) => i.state === 'healthy');
  const current = healthy.filter((i) => i.release === f.release).length;
  const others = healthy.length - current;
  return `${current}/${replicasOf(f)}${others > 0 ? ` +${others} old` : ''}`;
}

/**
 * Why the fleet is not where it should be. The record's reason (a rollback's, a refusal's)
 * is shown while it still explains something: a refused or failed rollout, or a rollback
 * not yet converged. Once the rolled-back release runs whole and healthy it is history
 * (`ingot history` keeps it), not a live reason.
 */
export function reasonText(f: FleetView): string {
  const settled =
    f.rollout === 'complete' ||
    (f.rollout === 'rolled-back' &&
      f.instances.length === replicasOf(f) &&
      f.instances.every((i) => i.state === 'healthy' && i.release === f.release));
  return [settled ? '' : (f.reason ?? ''), ...f.reasons].filter(Boolean).join('; ');
}

/** "10.88.0.2:8080" (each exposed port), the bare address when the image exposes none. */
export function addressText(i: Pick<ObservedInstance, 'address' | 'ports'>): string {
  if (i.address === undefined) return '-';
  const ports = i.ports ?? [];
  if (ports.length === 0) return i.address;
  return ports.map((p) => `${i.address}:${p}`).join(',');
}

/** The phase, and what it waits for: "canary step 1/2: 1 of 3 on the new release (25s left)". */
function phaseText(f: FleetView): string {
  const w = f.waiting;
  if (w === undefined) return f.awaitingPromotion ? `${f.phase} (awaiting promote)` : f.phase;
  if (w.for === 'pause')
    return `${f.phase} (${formatDuration(Math.ceil(w.remainingMs / 1000) * 1000)} left)`;
  return `${f.phase} (${w.for === 'promotion' ? 'awaiting promote' : 'paused by hand'})`;
}

/** "new 9.8% of 2,013" since the step began; "-" without a service or a request yet. */
function trafficText(f: FleetView): string {
  const t = f.traffic;
  if (t === undefined || t.newShare === null) return '-';
  return `new ${t.newShare.toFixed(1)}% of ${t.requests.toLocaleString('en-US')}`;
}

function instanceTable(instances: readonly ObservedInstance[], now: number, wide: boolean): string {
  const cols: Column<ObservedInstance>[] = [
    { header: 'INSTANCE', cell: (i) => i.id },
    { header: 'RELEASE', cell: (i) => short(i.release) },
    { header: 'ARTIFACT', cell: (i) => shortDigest(i.artifact) },
    { header: 'AGE', cell: (i) => age(i.startedAt, now) },
    { header: 'HEALTH', cell: (i) => i.state },
    { header: 'HEALTHY-FOR', cell: (i) => age(i.healthySince, now), wide: true },
    { header: 'INTEGRITY', cell: (i) => i.integrity ?? 'unchecked' },
    { header: 'HOST', cell: (i) => i.host ?? '-' },
    { header: 'ADDRESS', cell: addressText },
    { header: 'PID', cell: (i) => (i.pid !== undefined ? String(i.pid) : '-'), wide: true },
    { header: 'REASON', cell: (i) => i.reason ?? '-', wide: true },
  ];
  return columns(cols, instances, wide);
}
