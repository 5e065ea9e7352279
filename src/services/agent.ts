import { readLogs } from './instance-logs.js';
import {
  chownSync,
  closeSync,
  copyFileSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { INITIAL_HEALTH, nextHealth, type HealthState } from '../core/runtime/health.js';
import {
  buildRuntimeSpec,
  STANDARD_MOUNT_POINTS,
  type RuntimeSpec,
} from '../core/runtime/oci-spec.js';
import { resolveUser } from '../core/runtime/user.js';
import type { HealthProbe } from '../domain/baseline.js';
import { digestHex, digestOf, type Digest } from '../domain/digest.js';
import { IngotError, isIngotError } from '../domain/errors.js';
import {
  isInstanceId,
  type DesiredInstance,
  type Evidence,
  type InstanceState,
  type Integrity,
  type ObservedInstance,
} from '../domain/instance.js';
import type { Network } from '../ports/network.js';
import type { Runtime } from '../ports/runtime.js';
import type { Store } from '../ports/store.js';
import { openArtifact, type Artifact } from './artifact.js';
import type { LoadedPolicy } from './policy.js';
import { readSpecFile } from '../adapters/shared/spec-file.js';
import type { LedgerEntryDraft } from '../core/ledger/index.js';
import { IntegrityMonitor, type DriftFinding, type IntegrityDeps } from './integrity.js';
import { refusalReasons, verifyArtifact } from './verify.js';

export interface AgentDeps {
  /** `$INGOT_HOME`: instances/, volumes/, agent/state.json live here. */
  readonly home: string;
  readonly store: Store;
  readonly runtime: Runtime;
  readonly network: Network;
  /** The policy and keys every start is admitted against, read fresh each time. */
  readonly trust: () => Promise<LoadedPolicy>;
  /** Unpack and verify an artifact's rootfs (cached per digest). */
  readonly materialise: (
    artifact: Artifact,
    mountPoints: readonly string[],
  ) => Promise<{
    readonly rootfs: string;
    /** Taken from an earlier start rather than made and verified now. */
    readonly reused?: boolean;
    /** Mount points the host added (empty folders the measurement lacks). */
    readonly mountPoints?: readonly string[];
  }>;
  readonly probe: (address: string, probe: HealthProbe, timeoutMs: number) => Promise<boolean>;
  readonly now: () => Date;
  /** SIGTERM, then this long, then SIGKILL (default 10 s). */
  readonly stopGraceMs?: number;
  /** Each instance's log is rotated past this size, one old file kept (default 10 MiB). */
  readonly logMaxBytes?: number;
  /** cgroup under which instances are placed, one child each (default "/ingot"). */
  readonly cgroupParent?: string;
  /**
   * How instances are measured while they run (files, processes, mounts, executables);
   * without it nothing is checked and every instance reports integrity "unchecked".
   */
  readonly integrity?: Omit<IntegrityDeps, 'onDrift' | 'now'>;
  /**
   * Move a changed rootfs aside so that it is never used again (the next start of the
   * artifact materialises it afresh from verified blobs); returns its new folder.
   */
  readonly discardRootfs?: (artifact: Digest, rootfs: string) => string;
  /** Check processes, mounts and executables this often (default 1 s). */
  readonly processCheckMs?: number;
  /** Verify every rootfs in use in full this often (default 10 min; 0: never). */
  readonly fullVerifyMs?: number;
  /**
   * Told of every event the ledger records (admission on the host, instances started,
   * healthy and stopped, drift); it must not throw.
   */
  readonly onEvent?: (event: LedgerEntryDraft) => void;
  /** This host's name, reported with every instance. */
  readonly hostName?: string;
  /** Remove cached rootfs of every artifact not in use (called after instances stop). */
  readonly collectRootfs?: (inUse: ReadonlySet<Digest>, foldersInUse: ReadonlySet<string>) => void;
}

interface Tracked {
  id: string;
  fleet: string;
  artifact: Digest;
  state: InstanceState;
  reason?: string;
  address?: string;
  pid?: number;
  startedAt?: string;
  release?: string;
  healthySince?: string;
  health?: HealthState;
  lastProbe?: number;
  /** The rootfs folder it runs from. */
  rootfs?: string;
  /** Mount points the host added to that rootfs. */
  addedMountPoints?: string[];
  evidence?: Evidence[];
  heldUntil?: string;
}

const STATE_VERSION = 1;
const VOLUME_NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
/** Evidence kept per instance: the first findings say the most. */
const MAX_EVIDENCE = 20;

/**
 * The host side of Ingot: turns admitted artifacts into running instances and reports
 * them. Its whole surface is apply, observe, logs (and recover after a restart): it has no
 * operation that changes a running instance. Every input and output is plain data, so the
 * same interface can be served over HTTP.
 */
export class Agent {
  private readonly tracked = new Map<string, Tracked>();
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private applying: Promise<unknown> = Promise.resolve();

  /** One cgroup per $INGOT_HOME by default: instance ids are unique only within one. */
  private readonly cgroupParent: string;

  private readonly monitor: IntegrityMonitor | null;
  private lastProcessCheck = 0;
  private lastFullVerify = 0;
  private verifying: Promise<unknown> | null = null;

  constructor(private readonly deps: AgentDeps) {
    this.cgroupParent = deps.cgroupParent ?? `/ingot/${digestHex(digestOf(deps.home)).slice(0, 8)}`;
    this.monitor = deps.integrity
      ? new IntegrityMonitor({
          ...deps.integrity,
          now: deps.now,
          onDrift: (finding) => this.taint(finding),
        })
      : null;
  }

  private emit(
    kind: string,
    t: { id: string; fleet: string; artifact: Digest; release?: string },
    detail: Record<string, unknown> = {},
  ): void {
    this.deps.onEvent?.({
      time: this.deps.now().getTime(),
      actor: this.deps.hostName ? `agent@${this.deps.hostName}` : 'agent',
      kind,
      subjects: [t.artifact, ...(t.release?.startsWith('sha256:') ? [t.release] : [])].sort(),
      fleet: t.fleet,
      instance: t.id,
      detail: { ...(t.release !== undefined && { release: t.release }), ...detail },
    });
  }

  /**
   * Drift or access: the instances are tainted (the controller replaces them; nothing is
   * repaired in place), and a changed shared rootfs is moved aside for good.
   */
  private taint(finding: DriftFinding): void {
    let changed = false;
    for (const id of finding.ids) {
      const t = this.tracked.get(id);
      if (!t) continue;
      const known = t.evidence ?? [];
      const fresh = finding.evidence.filter(
        (e) =>
          !known.some(
            (k) => k.detector === e.detector && k.path === e.path && k.actual === e.actual,
          ),
      );
      if (fresh.length === 0) continue;
      t.evidence = [...known, ...fresh].slice(0, MAX_EVIDENCE);
      changed = true;
      this.emit('drift', t, {
        evidence: fresh.slice(0, 5),
        ...(finding.rootfs !== undefined && { rootfsDiscarded: true }),
      });
    }
    if (finding.rootfs !== undefined && this.deps.discardRootfs) {
      const from = finding.rootfs.folder;
      try {
        const to = this.deps.discardRootfs(finding.rootfs.artifact, from);
        this.monitor?.moved(from, to);
        for (const t of this.tracked.values()) if (t.rootfs === from) t.rootfs = to;
        changed = true;
      } catch {
        // Not moved: its instances are tainted all the same, and replaced.
      }
    }
    if (changed) this.persist();
  }

  private get stateFile(): string {
    return join(this.deps.home, 'agent', 'state.json');
  }

  private instanceDir(id: string): string {
    return join(this.deps.home, 'instances', id);
  }

  private persist(): void {
    const dir = join(this.deps.home, 'agent');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.stateFile}.tmp-${process.pid}`;
    const instances = [...this.tracked.values()].map(
      ({ health: _h, lastProbe: _l, ...rest }) => rest,
    );
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify({ version: STATE_VERSION, instances }) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.stateFile);
  }

  /**
   * Make what runs match `desired`: start what is missing, stop what is not wanted. A
   * desired instance that already runs is left alone, whatever else changed: replacing it
   * is the controller's decision, made by naming a new instance.
   */
  apply(desired: readonly DesiredInstance[]): Promise<ObservedInstance[]> {
    const next = this.applying.then(async () => {
      const seen = new Set<string>();
      for (const d of desired) {
        // Ids name containers and folders; fleet names name volume folders under $INGOT_HOME.
        if (!isInstanceId(d.id) || seen.has(d.id))
          throw new IngotError(
            'E_INSTANCE_ID',
            `${JSON.stringify(d.id)} is not a valid instance id, or appears twice`,
          );
        if (!isInstanceId(d.fleet))
          throw new IngotError(
            'E_FLEET_NAME',
            `${JSON.stringify(d.fleet)} is not a valid fleet name`,
          );
        // Volume sources name folders under $INGOT_HOME: nothing that could climb out.
        for (const [name, source] of d.volumes ?? [])
          if (!VOLUME_NAME.test(name) || !VOLUME_NAME.test(source))
            throw new IngotError(
              'E_VOLUME_NAME',
              `${JSON.stringify(name)} → ${JSON.stringify(source)} is not a valid volume mapping`,
            );
        seen.add(d.id);
      }
      const wanted = new Set(desired.map((d) => d.id));
      const unwanted = [...this.tracked.values()].filter((t) => !wanted.has(t.id));
      const stops = await Promise.allSettled(unwanted.map((t) => this.stop(t.id)));
      const failed = stops.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      if (unwanted.length > 0)
        this.deps.collectRootfs?.(
          new Set([
            ...desired.map((d) => d.artifact),
            ...[...this.tracked.values()].map((t) => t.artifact),
          ]),
          // A discarded rootfs stays while a tainted instance still runs from it.
          new Set([...this.tracked.values()].flatMap((t) => (t.rootfs ? [t.rootfs] : []))),
        );
      await Promise.all(
        desired
          .filter((d) => {
            const t = this.tracked.get(d.id);
            return !t || t.state === 'stopped';
          })
          .map((d) => this.start(d)),
      );
      return this.snapshot();
    });
    this.applying = next.catch(() => undefined);
    return next;
  }

  /** Every instance the agent knows, with the runtime's view of whether it still runs. */
  async observe(): Promise<ObservedInstance[]> {
    await this.refresh();
    return this.snapshot();
  }

  private integrityOf(t: Pick<Tracked, 'id' | 'evidence'>): Integrity {
    if (t.evidence?.length) return 'tainted';
    return this.monitor?.integrityOf(t.id) ?? 'unchecked';
  }

  private snapshot(): ObservedInstance[] {
    return [...this.tracked.values()]
      .map(({ health: _h, lastProbe: _l, rootfs: _r, addedMountPoints: _a, ...rest }) => ({
        ...rest,
        integrity: this.integrityOf(rest),
        ...(this.deps.hostName !== undefined && { host: this.deps.hostName }),
      }))
      .sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** The instance's stdout and stderr (the rotated part first). */
  logs(id: string): string {
    if (!this.tracked.has(id))
      throw new IngotError('E_INSTANCE_NOT_FOUND', `no instance ${JSON.stringify(id)}`);
    return readLogs(this.deps.home, id);
  }

  private async start(d: DesiredInstance): Promise<void> {
    const t: Tracked = {
      id: d.id,
      fleet: d.fleet,
      artifact: d.artifact,
      state: 'pending',
      ...(d.release !== undefined && { release: d.release }),
    };
    this.tracked.set(d.id, t);
    this.persist();

    // The namespace is made while admission runs; it is empty until admission said yes,
    // and taken down again if admission says no.
    const preparing = this.deps.network.prepare(d.id).then(
      (netns) => ({ netns }),
      (error: unknown) => ({ error }),
    );
    const release = async () => {
      await preparing;
      await this.deps.network.detach(d.id).catch(() => undefined);
    };

    // Admission, again, on the host: signatures, provenance, policy and every blob. An
    // artifact that cannot even be checked (missing, unreadable policy) is refused too.
    let report: Awaited<ReturnType<typeof verifyArtifact>>;
    try {
      const trust = await this.deps.trust();
      report = await verifyArtifact(this.deps.store, {
        ref: d.artifact,
        policy: trust.policy,
        keys: trust.keys,
        rehash: true,
      });
    } catch (err) {
      t.state = 'refused';
      t.reason = isIngotError(err) ? `${err.message} (${err.code})` : String(err);
      this.emit('admission', t, { where: 'host', allowed: false, reasons: [t.reason] });
      await release();
      this.persist();
      return;
    }
    const reasons = refusalReasons(report);
    this.emit('admission', t, {
      where: 'host',
      allowed: report.ok,
      reasons,
      ...(report.provenance !== null && { provenance: report.provenance }),
    });
    if (!report.ok) {
      t.state = 'refused';
      t.reason = reasons.join('; ');
      await release();
      this.persist();
      return;
    }

    let watched: string | null = null;
    try {
      const artifact = await openArtifact(this.deps.store, d.artifact);
      const mountPoints = [
        ...STANDARD_MOUNT_POINTS,
        ...artifact.runtime.tmpfs.map((m) => m.path),
        ...artifact.runtime.volumes.map((m) => m.path),
      ];
      const materialised = await this.deps.materialise(artifact, mountPoints);
      const { rootfs } = materialised;
      watched = rootfs;
      // Watched before anything runs from it; verified first if it was made earlier.
      await this.monitor?.ready(
        {
          artifact: d.artifact,
          rootfs,
          measurement: artifact.measurement.entries,
          allowed: new Set(materialised.mountPoints ?? []),
        },
        { verified: materialised.reused !== true },
      );
      const image = artifact.config.config ?? {};
      const user = resolveUser(
        image.User,
        readSmall(join(rootfs, 'etc', 'passwd')),
        readSmall(join(rootfs, 'etc', 'group')),
      );
      if (!user.ok) throw new IngotError('E_INSTANCE_USER', user.problem);

      const volumes: Record<string, string> = {};
      const shared = new Map(d.volumes ?? []);
      for (const name of shared.keys())
        if (!artifact.runtime.volumes.some((v) => v.name === name))
          throw new IngotError(
            'E_VOLUME_UNKNOWN',
            `the artifact declares no volume ${JSON.stringify(name)}`,
          );
      for (const v of artifact.runtime.volumes) {
        const source = shared.get(v.name);
        // Names are checked by the fleet schema; "_shared" cannot be a fleet name.
        const dir =
          source === undefined
            ? join(this.deps.home, 'volumes', d.fleet, v.name)
            : join(this.deps.home, 'volumes', '_shared', source);
        if (!existsSync(dir)) {
          mkdirSync(dir, { recursive: true, mode: 0o700 });
          chownSync(dir, user.uid, user.gid);
        }
        volumes[v.name] = dir;
      }

      const prepared = await preparing;
      if ('error' in prepared) throw prepared.error;
      const env = new Map<string, string>();
      for (const kv of image.Env ?? []) {
        const i = kv.indexOf('=');
        if (i > 0) env.set(kv.slice(0, i), kv.slice(i + 1));
      }
      for (const [k, v] of d.env ?? []) env.set(k, v);
      const spec = buildRuntimeSpec({
        id: d.id,
        rootfs,
        process: {
          args: [...(image.Entrypoint ?? []), ...(image.Cmd ?? [])],
          env: [...env].map(([k, v]) => `${k}=${v}`),
          cwd: image.WorkingDir || '/',
          uid: user.uid,
          gid: user.gid,
        },
        runtime: artifact.runtime,
        volumes,
        resources: d.resources ?? {},
        netns: prepared.netns,
        cgroupsPath: `${this.cgroupParent}/${d.id}`,
      });
      const dir = this.instanceDir(d.id);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 2));
      const log = openSync(join(dir, 'log'), 'a', 0o600);
      // As containerd does: the container is created in its namespace while CNI configures
      // that namespace, and its process starts only once both are done.
      const [created, attached] = await Promise.allSettled([
        this.deps.runtime.create(d.id, dir, { stdout: log, stderr: log }),
        this.deps.network.attach(d.id),
      ]).finally(() => closeSync(log));
      if (created.status === 'rejected') throw created.reason;
      if (attached.status === 'rejected') throw attached.reason;
      t.pid = created.value;
      t.address = attached.value.address;
      await this.deps.runtime.start(d.id);
      t.startedAt = this.deps.now().toISOString();
      t.state = 'starting';
      t.health = INITIAL_HEALTH;
      t.rootfs = rootfs;
      t.addedMountPoints = [...(materialised.mountPoints ?? [])];
      this.emit('instance-started', t, { address: t.address, pid: t.pid });
      this.monitor?.track(
        {
          id: d.id,
          pid: t.pid,
          artifact: d.artifact,
          rootfs,
          measurement: artifact.measurement.entries,
          allowed: new Set(t.addedMountPoints),
          config: spec,
        },
        { verified: true },
      );
      this.persist();
    } catch (err) {
      if (watched !== null) this.monitor?.forget(watched);
      await this.deps.runtime.delete(d.id, true).catch(() => undefined);
      await release();
      t.state = 'failed';
      t.reason = isIngotError(err)
        ? `${err.message} (${err.code})`
        : `${err instanceof Error ? err.message : 'unknown error'} (E_INSTANCE_START)`;
      delete t.address;
      this.persist();
    }
  }

  private async stop(id: string): Promise<void> {
    this.monitor?.untrack(id);
    const grace = this.deps.stopGraceMs ?? 10_000;
    const state = await this.deps.runtime.state(id);
    if (state && state.status !== 'stopped') {
      await this.deps.runtime.kill(id, 'TERM').catch(() => undefined);
      if (!(await this.waitStopped(id, grace))) {
        await this.deps.runtime.kill(id, 'KILL').catch(() => undefined);
        await this.waitStopped(id, 5_000);
      }
    }
    if (state) await this.deps.runtime.delete(id, true);
    // The container is gone: whatever the network says now, the instance is stopped.
    const released = await this.deps.network.detach(id).then(
      () => null,
      (err: unknown) => err,
    );
    rmSync(this.instanceDir(id), { recursive: true, force: true });
    const t = this.tracked.get(id);
    this.tracked.delete(id);
    this.persist();
    if (t?.startedAt !== undefined)
      this.emit('instance-stopped', t, { wasTainted: (t.evidence?.length ?? 0) > 0 });
    if (released !== null)
      throw new IngotError(
        'E_NETWORK',
        `instance ${id} stopped, but its network was not fully released: ${released instanceof Error ? released.message : 'unknown error'}`,
      );
  }

  private async waitStopped(id: string, ms: number): Promise<boolean> {
    const until = Date.now() + ms;
    for (;;) {
      const s = await this.deps.runtime.state(id);
      if (!s || s.status === 'stopped') return true;
      if (Date.now() >= until) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Mark instances whose process has gone as failed. */
  private async refresh(): Promise<void> {
    const running = new Map((await this.deps.runtime.list()).map((c) => [c.id, c]));
    for (const t of this.tracked.values()) {
      if (t.state !== 'starting' && t.state !== 'healthy' && t.state !== 'unhealthy') continue;
      const c = running.get(t.id);
      if (!c || c.status === 'stopped') {
        t.state = 'failed';
        t.reason = 'its process exited';
        this.persist();
      }
    }
  }

  /**
   * After a restart: adopt the containers this agent started (its state file and runc's
   * state agree), and remove what it does not own. Nothing that runs is restarted.
   */
  async recover(): Promise<{ adopted: string[]; removed: string[] }> {
    let saved: Tracked[] = [];
    try {
      if (existsSync(this.stateFile))
        saved =
          (JSON.parse(readFileSync(this.stateFile, 'utf8')) as { instances?: Tracked[] })
            .instances ?? [];
    } catch {
      // A damaged state file: keep it for inspection; every container becomes an orphan.
      renameSync(this.stateFile, `${this.stateFile}.damaged-${Date.now()}`);
    }
    const known = new Map(
      saved.filter((s) => isInstanceId(s.id) && isInstanceId(s.fleet)).map((s) => [s.id, s]),
    );
    const adopted: string[] = [];
    const removed: string[] = [];
    for (const c of await this.deps.runtime.list()) {
      const s = known.get(c.id);
      // Adopted only if it runs from the bundle this agent wrote for that id.
      if (s && c.status === 'running' && c.bundle === this.instanceDir(c.id)) {
        const attachment = await this.deps.network.find(c.id);
        this.tracked.set(c.id, {
          ...s,
          state: s.state === 'healthy' ? 'healthy' : 'starting',
          pid: c.pid,
          ...(attachment && { address: attachment.address }),
          health: s.state === 'healthy' ? { phase: 'healthy', failures: 0 } : INITIAL_HEALTH,
        });
        adopted.push(c.id);
      } else {
        await this.deps.runtime.delete(c.id, true).catch(() => undefined);
        await this.deps.network.detach(c.id).catch(() => undefined);
        rmSync(this.instanceDir(c.id), { recursive: true, force: true });
        removed.push(c.id);
        // The record says when it stopped running: what ran when must not list it forever.
        if (s?.startedAt !== undefined)
          this.emit('instance-stopped', s, { cause: 'not adoptable after a restart' });
      }
    }
    // Saved instances with no container (a crash while starting, or they exited): release
    // whatever they may still hold. Refusals and failures stay visible with their reasons.
    for (const s of known.values()) {
      if (this.tracked.has(s.id) || removed.includes(s.id)) continue;
      await this.deps.network.detach(s.id).catch(() => undefined);
      rmSync(this.instanceDir(s.id), { recursive: true, force: true });
      if (s.state === 'refused' || s.state === 'failed') this.tracked.set(s.id, s);
      else {
        removed.push(s.id);
        if (s.startedAt !== undefined)
          this.emit('instance-stopped', s, { cause: 'gone while the agent was down' });
      }
    }
    this.persist();
    // Measured again from scratch: nothing watched them while the agent was down.
    for (const id of adopted) await this.watchAdopted(id);
    return { adopted, removed };
  }

  private async watchAdopted(id: string): Promise<void> {
    const t = this.tracked.get(id);
    if (!this.monitor || !t || t.pid === undefined || t.rootfs === undefined) return;
    try {
      const artifact = await openArtifact(this.deps.store, t.artifact);
      const config = JSON.parse(
        readFileSync(join(this.instanceDir(id), 'config.json'), 'utf8'),
      ) as RuntimeSpec;
      this.monitor.track(
        {
          id,
          pid: t.pid,
          artifact: t.artifact,
          rootfs: t.rootfs,
          measurement: artifact.measurement.entries,
          allowed: new Set(t.addedMountPoints ?? []),
          config,
        },
        { verified: false },
      );
    } catch (err) {
      // What cannot be measured cannot be trusted: it is replaced.
      this.taint({
        ids: [id],
        evidence: [
          {
            detector: 'files-full',
            path: t.rootfs,
            expected: 'a measurable instance',
            actual: err instanceof Error ? err.message : 'unreadable',
            time: this.deps.now().toISOString(),
          },
        ],
      });
    }
  }

  /** One round of health probes and log rotation. */
  tick(): Promise<void> {
    this.ticking ??= this.runTick().finally(() => {
      this.ticking = null;
    });
    return this.ticking;
  }

  private async runTick(): Promise<void> {
    const now = this.deps.now().getTime();
    if (this.monitor && now - this.lastProcessCheck >= (this.deps.processCheckMs ?? 1000)) {
      this.lastProcessCheck = now;
      try {
        this.monitor.checkProcesses();
      } catch {
        // A /proc read that failed is checked again next time.
      }
    }
    const every = this.deps.fullVerifyMs ?? 600_000;
    if (this.monitor && every > 0 && this.verifying === null) {
      if (this.lastFullVerify === 0) this.lastFullVerify = now;
      else if (now - this.lastFullVerify >= every) {
        this.lastFullVerify = now;
        // In the background: hashing a large tree must not hold up health probes.
        this.verifying = this.monitor
          .verifyAll()
          .catch(() => undefined)
          .finally(() => (this.verifying = null));
      }
    }
    const due: Promise<void>[] = [];
    for (const t of this.tracked.values()) {
      if (t.state !== 'starting' && t.state !== 'healthy' && t.state !== 'unhealthy') continue;
      this.rotate(t.id);
      if (!t.address) continue;
      // One instance's probe must never take the agent down with it.
      due.push(this.probeOne(t, now).catch(() => undefined));
    }
    await Promise.all(due);
  }

  private readonly checks = new Map<Digest, Artifact['runtime']['health'] | null>();

  private async probeOne(t: Tracked, now: number): Promise<void> {
    if (!this.checks.has(t.artifact))
      this.checks.set(
        t.artifact,
        (await openArtifact(this.deps.store, t.artifact)).runtime.health ?? null,
      );
    const check = this.checks.get(t.artifact);
    if (!check) {
      if (t.state === 'starting') {
        t.state = 'healthy';
        t.healthySince = this.deps.now().toISOString();
        this.persist();
      }
      return;
    }
    if (t.lastProbe !== undefined && now - t.lastProbe < check.intervalMs) return;
    t.lastProbe = now;
    const passed = await this.deps.probe(t.address!, check.probe, check.timeoutMs);
    const since = now - Date.parse(t.startedAt ?? new Date(now).toISOString());
    const next = nextHealth(t.health ?? INITIAL_HEALTH, passed, since, check);
    t.health = next;
    if (
      next.phase !== t.state &&
      (t.state === 'starting' || t.state === 'healthy' || t.state === 'unhealthy')
    ) {
      t.state = next.phase;
      if (next.phase === 'healthy') this.emit('instance-healthy', t);
      if (next.phase === 'healthy') t.healthySince = this.deps.now().toISOString();
      else delete t.healthySince;
      this.persist();
    }
  }

  private rotate(id: string): void {
    const max = this.deps.logMaxBytes ?? 10 * 1024 * 1024;
    const log = join(this.instanceDir(id), 'log');
    try {
      if (statSync(log).size <= max) return;
      // Copy, then truncate: the container keeps writing (O_APPEND) to the same file.
      copyFileSync(log, `${log}.1`);
      truncateSync(log, 0);
    } catch {
      // no log yet
    }
  }

  /** Probe health every `everyMs` until close(). */
  run(everyMs = 100): void {
    this.timer ??= setInterval(() => void this.tick(), everyMs);
  }

  /** Release the host network the instances shared; call once every instance stopped. */
  async releaseNetwork(): Promise<void> {
    await this.deps.network.release();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.ticking;
    await this.applying;
    await this.verifying;
    this.monitor?.close();
    await this.deps.integrity?.close?.();
  }

  /**
   * Full verification of every rootfs in use, now (`ingot verify-instances`); drift taints
   * as any other finding does.
   */
  async verifyInstances(): Promise<
    { artifact: Digest; instances: string[]; drift: readonly unknown[] }[]
  > {
    if (!this.monitor)
      throw new IngotError('E_INTEGRITY_OFF', 'this agent does not measure instances');
    return this.monitor.verifyAll();
  }

  /** Seconds spent measuring instances since the agent started (0 if it does not). */
  integritySeconds(): number {
    return this.monitor?.busySeconds() ?? 0;
  }

  /**
   * Break-glass: the instance is tainted now, whatever happens next, and held (kept
   * running) until the session closes or `ttlMs` passes; then the controller replaces it.
   * This records the access; it runs nothing itself.
   */
  openDebug(
    id: string,
    access: { who: string; reason: string; command: string; ttlMs: number },
  ): ObservedInstance {
    const t = this.tracked.get(id);
    if (!t || (t.state !== 'starting' && t.state !== 'healthy' && t.state !== 'unhealthy'))
      throw new IngotError('E_INSTANCE_NOT_FOUND', `no running instance ${JSON.stringify(id)}`);
    const now = this.deps.now();
    // One session per instance, never extended: the TTL bounds how long it is held.
    if (t.heldUntil !== undefined)
      throw new IngotError(
        'E_DEBUG_HELD',
        `a session on ${id} is open until ${t.heldUntil}; it is replaced after that`,
      );
    this.taint({
      ids: [id],
      evidence: [
        {
          detector: 'break-glass',
          path: access.command,
          expected: 'no access',
          actual: `${access.who}: ${access.reason}`,
          time: now.toISOString(),
        },
      ],
    });
    t.heldUntil = new Date(now.getTime() + access.ttlMs).toISOString();
    this.persist();
    return this.snapshot().find((i) => i.id === id)!;
  }

  /** The session ended: the instance is no longer held, and goes. */
  closeDebug(id: string): void {
    const t = this.tracked.get(id);
    if (!t) return;
    delete t.heldUntil;
    this.persist();
  }
}

/**
 * A small regular file of a verified rootfs (its folders were made by the materialiser):
 * not followed if it is a symlink, never a FIFO or a device, at most 1 MiB.
 */
function readSmall(path: string): string {
  try {
    return readSpecFile(
      path,
      path,
      1 << 20,
      { notFound: 'E_INSTANCE_USER', tooLarge: 'E_INSTANCE_USER' },
      { noFollow: true },
    ).toString('utf8');
  } catch {
    return ''; // not a small regular file: no names to resolve from it
  }
}
