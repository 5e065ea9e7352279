import { INITIAL_HEALTH } from '../../core/runtime/health.js';
import { instanceEnv } from '../../core/runtime/env.js';
import {
  buildRuntimeSpec,
  STANDARD_MOUNT_POINTS,
  type RuntimeSpec,
} from '../../core/runtime/oci-spec.js';
import { INIT_MOUNT_POINT, INIT_PATH } from '../../core/runtime/init.js';
import type { IdMap } from '../../core/runtime/id-map.js';
import { resolveUser } from '../../core/runtime/user.js';
import { volumeSources } from '../../core/runtime/volumes.js';
import { IngotError, isIngotError } from '../../domain/errors.js';
import type { DesiredInstance } from '../../domain/instance.js';
import { openArtifact, type Artifact } from '../artifact.js';
import { refusalReasons, verifyArtifact } from '../verify.js';
import type { AgentContext } from './context.js';
import { DEFAULT_LOG_MAX_BYTES, type InitBinary } from './deps.js';
import { hostOwner, measurementFor } from './id-mapping.js';
import type { InstanceTable, TrackedInstance } from './instance-table.js';

/**
 * Start one desired instance, as named steps: admit on host → materialise → watch → resolve
 * user → volumes → runtime spec → create and attach → track. Whatever fails leaves the instance
 * refused or failed with its reason (never half-started): the controller replaces it.
 */
export async function startInstance(
  ctx: AgentContext,
  table: InstanceTable,
  d: DesiredInstance,
): Promise<void> {
  const t: TrackedInstance = {
    id: d.id,
    fleet: d.fleet,
    artifact: d.artifact,
    state: 'pending',
    ...(d.release !== undefined && { release: d.release }),
    ...(d.stopGraceMs !== undefined && { stopGraceMs: d.stopGraceMs }),
  };
  table.set(t);
  table.save(t.id);
  // A host that lacks the artifact pulls it by digest first (admitted before any layer).
  const fetched = await ctx.fetchArtifact(d.artifact, d.source);
  if (!fetched.ok) {
    t.state = fetched.state;
    t.reason = fetched.reason;
    const admission = { where: 'host', allowed: false, reasons: [fetched.reason] };
    ctx.records.failed(t, admission);
    table.save(t.id);
    return;
  }
  if (fetched.pulled) ctx.emit('artifact-pulled', t, { source: d.source });
  // Nothing of the instance is made before admission said yes: a refused or unwanted start
  // must cost the host no namespace.
  const admission = await admitOnHost(ctx, t, d.resources ?? {});
  if (!admission.allowed) {
    ctx.records.failed(t, admission);
    table.save(t.id);
    return;
  }
  let network: ReturnType<typeof prepareNetwork> | null = null;
  let watched: string | null = null;
  try {
    // The fleet's user namespace: root inside is an unprivileged id range outside.
    const idMap = ctx.deps.idRange?.(d.fleet) ?? null;
    network = prepareNetwork(ctx, d.id, idMap);
    const artifact = await openArtifact(ctx.deps.store, d.artifact);
    const ports = tcpPorts(artifact.config.config?.ExposedPorts);
    if (ports.length > 0) t.ports = ports;
    const rootfs = await materialise(ctx, artifact, idMap);
    // Claimed from here on: whatever fails next (the watch itself included) gives it back.
    watched = rootfs.folder;
    await watchBeforeRun(ctx, artifact, rootfs);
    const user = resolveInstanceUser(ctx, artifact, rootfs.folder);
    const volumes = await prepareVolumes(ctx, d, artifact, user, idMap);
    const init = artifact.runtime.init ? hostInit(ctx) : undefined;
    const namespaces = await network.namespaces();
    const spec = runtimeSpecFor(ctx, d, artifact, {
      rootfs: rootfs.folder,
      user,
      volumes,
      ...namespaces,
      idMap,
      ...(init && { init: init.folder }),
    });
    await createAndAttach(ctx, t, spec);
    ctx.records.started(t, admission);
    track(ctx, t, spec, rootfs, init);
    table.save(t.id);
  } catch (err) {
    if (watched !== null) ctx.monitor?.forget(watched);
    await ctx.deps.runtime.delete(d.id, true).catch(() => undefined);
    await network?.release();
    t.state = 'failed';
    t.reason = isIngotError(err)
      ? `${err.message} (${err.code})`
      : `${err instanceof Error ? err.message : 'unknown error'} (E_INSTANCE_START)`;
    delete t.address;
    delete t.ports;
    table.save(t.id);
    ctx.records.failed(t, admission);
  }
}

/** "8080/tcp" and "8080" are TCP port 8080; UDP ports and nonsense are not listed. */
export function tcpPorts(exposed: Readonly<Record<string, unknown>> | undefined): number[] {
  const ports = Object.keys(exposed ?? {}).flatMap((key) => {
    const m = /^(\d{1,5})(?:\/tcp)?$/.exec(key);
    const port = m ? Number(m[1]) : 0;
    return port >= 1 && port <= 65535 ? [port] : [];
  });
  return [...new Set(ports)].sort((a, b) => a - b).slice(0, 64);
}

/**
 * The instance's network namespace, made once admission said yes, while the rootfs is
 * materialised; taken down again if anything fails.
 */
function prepareNetwork(ctx: AgentContext, id: string, idMap: IdMap | null) {
  const preparing = ctx.deps.network.prepare(id, idMap).then(
    (made) => ({ made }),
    (error: unknown) => ({ error }),
  );
  return {
    async namespaces(): Promise<{ netns: string; userns: string | null }> {
      const prepared = await preparing;
      if ('error' in prepared) throw prepared.error;
      return prepared.made;
    },
    async release(): Promise<void> {
      await preparing;
      await ctx.deps.network.detach(id).catch(() => undefined);
    },
  };
}

/**
 * Admission, again, on the host: signatures, provenance, policy (its runtime rules against
 * this instance's limits too) and every blob. An artifact that cannot even be checked
 * (missing, unreadable policy) is refused too. Returns the decision as the ledger records
 * it (once the start's outcome is known: start-records.ts).
 */
async function admitOnHost(
  ctx: AgentContext,
  t: TrackedInstance,
  resources: NonNullable<DesiredInstance['resources']>,
): Promise<{ allowed: boolean } & Record<string, unknown>> {
  let report: Awaited<ReturnType<typeof verifyArtifact>>;
  try {
    const trust = await ctx.deps.trust();
    report = await verifyArtifact(ctx.deps.store, {
      ref: t.artifact,
      policy: trust.policy,
      keys: trust.keys,
      rehash: true,
      // The host holds its own policy: it may be stricter than the server's at deploy.
      resources,
    });
  } catch (err) {
    t.state = 'refused';
    t.reason = isIngotError(err) ? `${err.message} (${err.code})` : String(err);
    return { where: 'host', allowed: false, reasons: [t.reason] };
  }
  const reasons = refusalReasons(report);
  if (!report.ok) {
    t.state = 'refused';
    t.reason = reasons.join('; ');
  }
  return {
    where: 'host',
    allowed: report.ok,
    reasons,
    ...(report.provenance !== null && { provenance: report.provenance }),
  };
}

interface Materialised {
  readonly folder: string;
  /** What it is checked against: the measurement, owners shifted into its id range. */
  readonly measurement: ReturnType<typeof measurementFor>;
  /** Mount points the host added to it (empty folders the measurement lacks). */
  readonly added: readonly string[];
  /** Made by an earlier start, not verified now. */
  readonly reused: boolean;
}

/** The artifact's verified rootfs (made now, or by an earlier start). */
async function materialise(
  ctx: AgentContext,
  artifact: Artifact,
  idMap: IdMap | null,
): Promise<Materialised> {
  const mountPoints = [
    ...STANDARD_MOUNT_POINTS,
    ...artifact.runtime.tmpfs.map((m) => m.path),
    ...artifact.runtime.volumes.map((m) => m.path),
    ...(artifact.runtime.init ? [INIT_MOUNT_POINT] : []),
  ];
  const measurement = measurementFor(artifact, idMap);
  const made = await ctx.deps.materialise(artifact, mountPoints, idMap);
  return {
    folder: made.rootfs,
    measurement,
    added: made.mountPoints ?? [],
    reused: made.reused === true,
  };
}

/**
 * Watch the rootfs before anything runs from it, verified in full first if an earlier start
 * made it (nothing watched it meanwhile). The monitor counts this start as a claim on the
 * folder from the first line, even when it throws: the caller must `forget` it on failure.
 */
async function watchBeforeRun(
  ctx: AgentContext,
  artifact: Artifact,
  rootfs: Materialised,
): Promise<void> {
  await ctx.monitor?.ready(
    {
      artifact: artifact.digest,
      rootfs: rootfs.folder,
      measurement: rootfs.measurement,
      allowed: new Set(rootfs.added),
    },
    { verified: !rootfs.reused },
  );
}

/** The host's init, for an image that asks for one: a host without one cannot start it. */
function hostInit(ctx: AgentContext): InitBinary {
  if (!ctx.deps.init)
    throw new IngotError(
      'E_INIT',
      'this image asks for an init (runtime: init: true), and this host has none',
    );
  return ctx.deps.init();
}

/** The image's `User`, resolved against the rootfs's own passwd and group. */
function resolveInstanceUser(
  ctx: AgentContext,
  artifact: Artifact,
  rootfs: string,
): { uid: number; gid: number } {
  const db = ctx.deps.readUserDb(rootfs);
  const user = resolveUser(artifact.config.config?.User, db.passwd, db.group);
  if (!user.ok) throw new IngotError('E_INSTANCE_USER', user.problem);
  return { uid: user.uid, gid: user.gid };
}

/**
 * The host folder behind each volume the artifact declares, owned by the instance's user as
 * the host sees it (in its id range): what root inside writes there is not host root's.
 */
async function prepareVolumes(
  ctx: AgentContext,
  d: DesiredInstance,
  artifact: Artifact,
  user: { uid: number; gid: number },
  idMap: IdMap | null,
): Promise<Record<string, string>> {
  const volumes: Record<string, string> = {};
  const owner = hostOwner(user, idMap);
  for (const { name, source } of volumeSources(artifact.runtime.volumes, d.fleet, d.volumes))
    volumes[name] = await ctx.deps.volumes.ensure(source, owner, idMap);
  return volumes;
}

/** The OCI runtime config: the image's process and the fleet's settings, read-only root. */
function runtimeSpecFor(
  ctx: AgentContext,
  d: DesiredInstance,
  artifact: Artifact,
  host: {
    rootfs: string;
    user: { uid: number; gid: number };
    volumes: Record<string, string>;
    netns: string;
    init?: string;
    userns: string | null;
    idMap: IdMap | null;
  },
): RuntimeSpec {
  const image = artifact.config.config ?? {};
  return buildRuntimeSpec({
    id: d.id,
    rootfs: host.rootfs,
    process: {
      args: [...(image.Entrypoint ?? []), ...(image.Cmd ?? [])],
      env: instanceEnv(image.Env, d.env),
      cwd: image.WorkingDir || '/',
      uid: host.user.uid,
      gid: host.user.gid,
    },
    runtime: artifact.runtime,
    volumes: host.volumes,
    resources: d.resources ?? {},
    netns: host.netns,
    cgroupsPath: `${ctx.deps.cgroupParent}/${d.id}`,
    ...(host.init !== undefined && { init: host.init }),
    idMap: host.idMap,
    usernsPath: host.userns,
  });
}

/**
 * As containerd does it: the container is created in its namespace while CNI configures
 * that namespace, and its process starts only once both are done.
 */
async function createAndAttach(
  ctx: AgentContext,
  t: TrackedInstance,
  spec: RuntimeSpec,
): Promise<void> {
  const { runtime, network, files } = ctx.deps;
  files.writeConfig(t.id, spec);
  const log = files.openLog(t.id, ctx.deps.logMaxBytes ?? DEFAULT_LOG_MAX_BYTES);
  const [created, attached] = await Promise.allSettled([
    runtime.create(t.id, files.bundle(t.id), { stdout: log.fd, stderr: log.fd }),
    network.attach(t.id),
  ]).finally(() => log.close());
  if (created.status === 'rejected') throw created.reason;
  if (attached.status === 'rejected') throw attached.reason;
  t.pid = created.value;
  t.address = attached.value.address;
  await runtime.start(t.id);
}

/** It runs: recorded, health checks from now, measured by the monitor from now. */
function track(
  ctx: AgentContext,
  t: TrackedInstance,
  spec: RuntimeSpec,
  rootfs: Materialised,
  init: InitBinary | undefined,
): void {
  t.startedAt = ctx.deps.now().toISOString();
  t.state = 'starting';
  t.health = INITIAL_HEALTH;
  t.rootfs = rootfs.folder;
  t.addedMountPoints = [...rootfs.added];
  if (init) t.init = { digest: init.digest, ...init.file };
  // What runs as PID 1 is evidence too: the init comes from the host, not the artifact.
  ctx.emit('instance-started', t, {
    address: t.address,
    pid: t.pid,
    ...(init && { init: { path: INIT_PATH, digest: init.digest } }),
  });
  ctx.monitor?.track(
    {
      id: t.id,
      pid: t.pid!,
      artifact: t.artifact,
      rootfs: rootfs.folder,
      measurement: rootfs.measurement,
      allowed: new Set(rootfs.added),
      config: spec,
      ...(init && { init: { path: INIT_PATH, file: init.file } }),
    },
    { verified: true },
  );
}
