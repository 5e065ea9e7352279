import { decideCapacity, type HostCapacity } from '../../core/capacity/host-capacity.js';
import type { FleetRecord, ReleaseRecord } from '../../core/fleet/record.js';
import { runtimeProblems } from '../../core/fleet/runtime-limits.js';
import { fleetSchema, releaseDigest, type FleetSpec } from '../../core/fleet/spec.js';
import { because, deployed } from '../../core/fleet/transitions.js';
import type { LedgerEntryDraft } from '../../core/ledger/index.js';
import { fleetLimits } from '../../core/policy/runtime.js';
import { registryReferenceOf } from '../../core/registry/reference.js';
import { serviceProblems } from '../../core/traffic/service-checks.js';
import { IngotError } from '../../domain/errors.js';
import type { Digest } from '../../domain/digest.js';
import type { Descriptor } from '../../domain/oci.js';
import type { FleetStore } from '../../ports/fleet-store.js';
import type { Store } from '../../ports/store.js';
import type { LoadedPolicy } from '../policy.js';
import { openArtifact } from '../artifact.js';
import type { PullReport } from '../registry/pull.js';
import { refusalReasons, verifyArtifact } from '../verify.js';
import { changeFleet } from './change-fleet.js';

export interface DeployDeps {
  readonly store: Store;
  readonly fleets: FleetStore;
  readonly trust: () => Promise<LoadedPolicy>;
  readonly now: () => number;
  /** The admission decision, for the ledger (refusals too: they change nothing else). */
  readonly record?: (event: LedgerEntryDraft) => void;
  /** What the host takes, read now; without it nothing is bounded but the schema. */
  readonly capacity?: () => HostCapacity;
  /**
   * Pull a registry reference into the store, admitted before any layer is fetched (as
   * `ingot pull`). Without it a registry reference is looked up in the store as a tag.
   */
  readonly pull?: (reference: string) => Promise<PullReport>;
  /**
   * Where instances are written down whole (a cluster's assignments, bounded in etcd): why an
   * instance of this release would not fit, or null. Without it nothing is checked.
   */
  /**
   * Where a fleet's service would be served: this machine's addresses besides loopback, and
   * whether a listen is taken by a process that is not this edge. Without it a service is
   * refused (nothing here could serve it).
   */
  readonly edge?: {
    readonly localAddresses: () => ReadonlySet<string>;
    readonly listenTaken: (listen: string) => Promise<boolean>;
  };
  readonly fits?: (
    fleet: string,
    artifact: Digest,
    release: string,
    spec: FleetSpec,
  ) => string | null;
}

/** What the deploy's checks established: the spec, its artifact pinned, and its release. */
export interface CheckedFleet {
  readonly spec: FleetSpec;
  readonly release: ReleaseRecord;
}

/**
 * `ingot deploy`: validate the fleet spec (the API body is untrusted), pin the artifact
 * to a digest, admit it, and record the release. Nothing runs from here: the controller
 * sees the new desired state and replaces instances.
 */
export async function deploy(deps: DeployDeps, body: unknown, why?: string): Promise<FleetRecord> {
  const { spec, release } = await checkFleet(deps, body, 'deploy');
  const written = await changeFleet(deps.fleets, spec.name, (existing) =>
    Promise.resolve({
      change: because(deployed(existing, release, release.createdAt, 'admin'), why),
      release,
    }),
  );
  return written!; // a deploy always has something to write
}

/**
 * Every check a deploy makes, in its order, with its error codes: the schema, the capacity,
 * the artifact pinned and admitted, what the runtime and the edge would refuse, the volumes,
 * the cluster's bound. `ingot plan` runs exactly these (so a plan fails where the deploy
 * would), in `plan` mode: it records no admission in the ledger and pulls nothing from a
 * registry (a registry artifact must be in the store already). Nothing is written either way.
 */
export async function checkFleet(
  deps: DeployDeps,
  body: unknown,
  mode: 'deploy' | 'plan',
): Promise<CheckedFleet> {
  const parsed = fleetSchema.safeParse(body);
  if (!parsed.success)
    throw new IngotError(
      'E_FLEET_INVALID',
      `the fleet spec is invalid: ${parsed.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ')}`,
    );
  const spec: FleetSpec = parsed.data;
  const recording = mode === 'deploy' ? deps.record : undefined;
  // Before anything costly: a fleet that cannot fit is refused on its numbers alone.
  await checkCapacity(deps, spec);
  const descriptor =
    mode === 'deploy' ? await resolveArtifact(deps, spec) : await resolveHeld(deps, spec);
  const trust = await deps.trust();
  const report = await verifyArtifact(deps.store, {
    ref: descriptor.digest,
    policy: trust.policy,
    keys: trust.keys,
    rehash: true,
    resources: fleetLimits(spec.resources),
  });
  const reasons = refusalReasons(report);
  recording?.({
    time: deps.now(),
    actor: 'admin',
    kind: 'admission',
    subjects: [descriptor.digest],
    fleet: spec.name,
    detail: {
      where: 'deploy',
      allowed: report.ok,
      reasons,
      ...(report.provenance !== null && { provenance: report.provenance }),
    },
  });
  if (!report.ok)
    throw new IngotError(
      'E_DEPLOY_REFUSED',
      `admission refuses ${spec.artifact} (${descriptor.digest}): ${reasons.join('; ')}`,
      { details: { problems: report.problems, reasons: report.decision.reasons } },
    );
  const artifact = await openArtifact(deps.store, descriptor.digest);
  const unrunnable = runtimeProblems(spec, artifact.config.config ?? {});
  if (unrunnable.length > 0)
    throw new IngotError(
      'E_FLEET_UNRUNNABLE',
      `no instance of this fleet could start (the runtime refuses it): ${unrunnable.join('; ')}`,
      { details: { problems: unrunnable } },
    );
  await checkService(deps, spec, Object.keys(artifact.config.config?.ExposedPorts ?? {}));
  const declared = artifact.runtime.volumes;
  for (const name of Object.keys(spec.volumes))
    if (!declared.some((v) => v.name === name))
      throw new IngotError(
        'E_FLEET_INVALID',
        `volumes.${name}: ${spec.artifact} declares no volume ${JSON.stringify(name)} (it has ${declared.map((v) => v.name).join(', ') || 'none'})`,
      );
  const digest = releaseDigest(descriptor.digest, spec);
  const misfit = deps.fits?.(spec.name, descriptor.digest, digest, spec) ?? null;
  if (misfit !== null)
    throw new IngotError(
      'E_FLEET_INVALID',
      `an instance of this fleet is too large to assign to a host (${misfit}): make env smaller`,
    );
  return {
    spec,
    release: {
      digest,
      fleet: spec.name,
      artifact: descriptor.digest,
      spec,
      createdAt: deps.now(),
    },
  };
}

/**
 * For a plan: the artifact as the store holds it now, never fetched. A registry reference the
 * store does not hold cannot be admitted without its manifest and signatures: say so.
 */
async function resolveHeld(deps: DeployDeps, spec: FleetSpec): Promise<Descriptor> {
  const registry = deps.pull ? registryReferenceOf(spec.artifact) : null;
  if (registry === null) return deps.store.resolve(spec.artifact);
  const { digest } = registry;
  if (digest !== null && (await deps.store.index()).manifests.some((m) => m.digest === digest))
    return deps.store.resolve(digest);
  try {
    return await deps.store.resolve(spec.artifact);
  } catch {
    throw new IngotError(
      'E_REF_NOT_FOUND',
      `${spec.artifact} is not in the store, and a plan fetches nothing: \`ingot pull ${spec.artifact}\` first (a deploy pulls it)`,
    );
  }
}

/**
 * The artifact's descriptor in the store. A registry reference is asked of the registry now
 * (a tag names what it names at this moment; the release pins that digest) and pulled, only
 * what the store lacks; a digest the store holds already needs no registry at all. A refusal
 * at the pull is the deploy's refusal, recorded as any other.
 */
async function resolveArtifact(deps: DeployDeps, spec: FleetSpec): Promise<Descriptor> {
  const registry = deps.pull ? registryReferenceOf(spec.artifact) : null;
  if (!deps.pull || registry === null) return deps.store.resolve(spec.artifact);
  const { digest } = registry;
  if (digest !== null && (await deps.store.index()).manifests.some((m) => m.digest === digest))
    return deps.store.resolve(digest);
  const pulled = await deps.pull(spec.artifact);
  if (!pulled.ok) {
    const reasons = refusalReasons(pulled.verify);
    deps.record?.({
      time: deps.now(),
      actor: 'admin',
      kind: 'admission',
      subjects: [pulled.digest],
      fleet: spec.name,
      detail: { where: 'deploy', allowed: false, reasons, source: pulled.source },
    });
    throw new IngotError(
      'E_DEPLOY_REFUSED',
      `admission refuses ${pulled.source}, nothing of it was fetched past its manifest: ${reasons.join('; ')}`,
      { details: { problems: pulled.verify.problems, reasons: pulled.verify.decision.reasons } },
    );
  }
  return deps.store.resolve(pulled.digest);
}

/**
 * The fleet must fit on the host beside every other fleet, at the peak of each one's rollout:
 * a schema-valid `replicas: 10000` once made the agent create namespaces by the thousand and
 * took the control plane down. Asking for no more than the fleet has (replicas 0, any
 * shrink) always gets through: that is how room is made.
 */
async function checkCapacity(deps: DeployDeps, spec: FleetSpec): Promise<void> {
  if (!deps.capacity) return;
  const fleets = await deps.fleets.fleets();
  const decision = decideCapacity(
    deps.capacity(),
    fleets.filter((f) => f.name !== spec.name).map((f) => f.spec),
    spec,
    fleets.find((f) => f.name === spec.name)?.spec ?? null,
  );
  if (decision.ok) return;
  throw new IngotError(
    'E_CAPACITY',
    `fleet ${spec.name} does not fit on this host: ${decision.reasons.join('; ')}. Deploy fewer replicas (or a smaller surge or preview), make room by shrinking another fleet, or start the server with a larger --max-instances or --subnet`,
    { details: { demand: decision.demand, limits: decision.limits } },
  );
}

/**
 * A fleet's service must be servable before the deploy changes anything: an exposed port, a
 * local listen no other fleet has, and not taken by another process (one this fleet already
 * listens on is the edge's own).
 */
async function checkService(deps: DeployDeps, spec: FleetSpec, exposed: string[]): Promise<void> {
  if (spec.service === undefined) return;
  if (!deps.edge)
    throw new IngotError(
      'E_FLEET_INVALID',
      'service: this server routes no traffic (it has no edge)',
    );
  const fleets = await deps.fleets.fleets();
  const problems = serviceProblems(spec, {
    exposed,
    others: fleets.map((f) => f.spec),
    local: deps.edge.localAddresses(),
  });
  const mine = fleets.find((f) => f.name === spec.name)?.spec.service;
  for (const listen of [spec.service.listen, spec.service.previewListen])
    if (
      listen !== undefined &&
      listen !== mine?.listen &&
      listen !== mine?.previewListen &&
      !fleets.some(
        (f) => f.spec.service?.listen === listen || f.spec.service?.previewListen === listen,
      ) &&
      (await deps.edge.listenTaken(listen))
    )
      problems.push(`${listen} is taken by another process on this machine`);
  if (problems.length > 0)
    throw new IngotError('E_FLEET_INVALID', `service: ${problems.join('; ')}`, {
      details: { problems },
    });
}
