import { changedPathDrifts, changedPathFindings } from '../../core/integrity/changed-paths.js';
import type { Drift } from '../../core/integrity/diff.js';
import { describeDrift, type Finding } from '../../core/integrity/evidence.js';
import type { Digest } from '../../domain/digest.js';
import type { Evidence } from '../../domain/instance.js';
import { BusyMeter } from './busy-meter.js';
import type { IntegrityDeps, MonitoredInstance, RootfsOf } from './contracts.js';
import { IntegrityError } from './error.js';
import { evidenceAt, type EvidenceOf } from './evidence.js';
import { verifyInFull } from './full-verification.js';
import { ProcessChecks } from './process-checks.js';
import { ProcessEventChecks } from './process-events.js';
import { RootfsRegistry, type WatchedRootfs } from './rootfs-registry.js';

/**
 * Measures running instances against their artifact and their runtime config, and reports
 * any difference as evidence (it never repairs anything: a drifted instance is replaced).
 *
 * - Files, by event: every rootfs in use is watched; each changed path is checked against
 *   the measurement at once.
 * - Files, in full: `verifyAll` re-hashes every rootfs in use; it catches what events
 *   cannot (changes made while the agent was down, a lost event).
 * - Processes, by event: every fork and exec in an instance's namespaces, as it happens
 *   (`deps.processEvents`); one that entered from outside taints at once, however short.
 * - Processes, mounts and executables, by `checkProcesses` (called on the agent's tick):
 *   a process that entered from outside, a program or mapped file that is not the measured
 *   file at its path, a mount table that differs from the config.
 */
export class IntegrityMonitor {
  private readonly instances = new Map<string, MonitoredInstance>();
  private readonly watched: RootfsRegistry;
  private readonly processChecks: ProcessChecks;
  private readonly processEvents: ProcessEventChecks;
  private readonly subscription: { close(): void };
  private readonly meter = new BusyMeter();
  private readonly evidence: EvidenceOf;

  constructor(private readonly deps: IntegrityDeps) {
    this.watched = new RootfsRegistry((...args) => deps.watch(...args), {
      onPaths: (root, paths) => this.meter.time(() => this.checkPaths(root, paths)),
      onLost: (root) => void this.verifyRootfs(root).catch(() => undefined),
    });
    this.processChecks = new ProcessChecks(deps, (artifact) => this.watched.measuredOf(artifact));
    this.evidence = evidenceAt(() => deps.now());
    this.processEvents = new ProcessEventChecks(deps);
    this.subscription = deps.processEvents.subscribe({
      onProcess: (e) => this.meter.time(() => this.processEvents.onProcess(e)),
      // Something may have entered unseen: the scan looks now, not a second from now.
      onLost: () => {
        try {
          this.checkProcesses();
        } catch {
          // A /proc read that failed is checked again on the next tick.
        }
      },
    });
  }

  /**
   * Watch a rootfs before anything runs from it, and verify it in full first unless it was
   * verified just now: a rootfs taken from an earlier start was not watched meanwhile.
   * Throws if it drifted (it is then discarded through `onDrift`).
   */
  async ready(r: RootfsOf, options: { verified: boolean }): Promise<void> {
    this.watched.claim(r.rootfs);
    const w = this.watched.watch(r, options.verified);
    if (!w.verified) await this.verifyRootfs(r.rootfs);
    if (w.discarded || !w.verified)
      throw new IntegrityError(
        'E_ROOTFS_DRIFT',
        `the rootfs of ${r.artifact} differs from its measurement: it is discarded, and made again from verified blobs`,
      );
  }

  /** A rootfs that `ready` watched for a start that did not happen, unless in use. */
  forget(rootfs: string): void {
    const claims = this.watched.release(rootfs);
    if (claims > 0 || this.onRootfs(rootfs).length > 0) return;
    this.watched.unwatch(rootfs);
  }

  /**
   * Start checking an instance (its rootfs normally watched already by `ready`). One
   * adopted after a restart is verified in full, since nothing watched it meanwhile.
   */
  track(instance: MonitoredInstance, options: { verified: boolean }): void {
    this.watched.release(instance.rootfs);
    // Its rootfs changed while it was starting: it runs from the discarded folder.
    const moved = this.watched.movedAside(instance.rootfs);
    const i = moved === undefined ? instance : { ...instance, rootfs: moved };
    this.instances.set(i.id, i);
    this.processChecks.started(i);
    this.processEvents.started(i);
    if (moved !== undefined) {
      this.deps.onDrift({
        ids: [i.id],
        evidence: this.evidence('files', [
          {
            path: '/',
            expected: 'no change on disk',
            actual: 'its rootfs changed while it started',
          },
        ]),
      });
      return;
    }
    // A watch that `ready` set up and nobody lost meanwhile keeps its verdict; otherwise
    // (adopted after a restart) the rootfs is verified in full, since nothing watched it.
    const known = this.watched.get(i.rootfs);
    const w = this.watched.watch(i, known !== undefined && options.verified);
    if (!w.verified) void this.verifyRootfs(i.rootfs).catch(() => undefined);
  }

  /** verified: its rootfs was verified and has not changed since; else unchecked. */
  integrityOf(id: string): 'verified' | 'unchecked' {
    const i = this.instances.get(id);
    const w = i && this.watched.get(i.rootfs);
    return w?.verified && !w.discarded ? 'verified' : 'unchecked';
  }

  untrack(id: string): void {
    const i = this.instances.get(id);
    if (!i) return;
    this.instances.delete(id);
    this.processChecks.forget(id);
    // Its process events are still matched: until `gone`, it runs, and can be entered.
    const others = [...this.instances.values()];
    if (!others.some((o) => o.artifact === i.artifact)) this.watched.forgetMeasured(i.artifact);
    if (!others.some((o) => o.rootfs === i.rootfs)) this.watched.unwatch(i.rootfs);
  }

  /** Its container is gone (after `untrack`): nothing can enter it any more. */
  gone(id: string): void {
    this.processEvents.forget(id);
  }

  /** The rootfs folder was moved aside (discarded): instances on it keep running from there. */
  moved(from: string, to: string): void {
    this.watched.moved(from, to);
    for (const [id, i] of this.instances)
      if (i.rootfs === from) this.instances.set(id, { ...i, rootfs: to });
  }

  close(): void {
    this.subscription.close();
    this.watched.close();
    this.instances.clear();
    this.processChecks.clear();
    this.processEvents.clear();
  }

  /** Time spent checking, in seconds, since the monitor started. */
  busySeconds(): number {
    return this.meter.seconds();
  }

  /** Full verification of every rootfs in use; returns the drift found per artifact. */
  async verifyAll(): Promise<{ artifact: Digest; instances: string[]; drift: Drift[] }[]> {
    const out = [];
    for (const w of this.watched.all()) {
      const instances = this.onRootfs(w.root);
      out.push({ artifact: w.artifact, instances, drift: await this.verifyRootfs(w.root) });
    }
    return out;
  }

  /** Processes, executables and mounts of every instance; one scan of /proc for all. */
  checkProcesses(): void {
    if (this.instances.size > 0)
      this.meter.time(() => this.processChecks.checkAll(this.instances.values()));
  }

  /**
   * One more look at one instance's processes, executables and mounts (before a tainted
   * instance is stopped). Access is seen at its first exec, before the intruder did anything:
   * a remount a moment later would otherwise go with the instance unrecorded, the stop
   * coming before the next tick's scan.
   */
  lookOnceMore(id: string): void {
    const i = this.instances.get(id);
    if (i) this.meter.time(() => this.processChecks.checkAll([i]));
  }

  private onRootfs(root: string): string[] {
    return [...this.instances.values()].filter((i) => i.rootfs === root).map((i) => i.id);
  }

  /** Changed paths of one rootfs, checked against the measurement. */
  private checkPaths(root: string, paths: readonly string[]): void {
    const w = this.watched.get(root);
    if (!w || w.discarded) return;
    const observe = (path: string) => this.deps.observe(root, path);
    const drifts = changedPathDrifts(paths, w.byPath, w.allowed, observe);
    this.reportRootfs(w, 'files', changedPathFindings(paths, drifts));
  }

  private async verifyRootfs(root: string): Promise<Drift[]> {
    const w = this.watched.get(root);
    if (!w) return [];
    const drifts = await this.meter.timeAsync(() => verifyInFull(this.deps, w));
    if (drifts === null) return [];
    // Moved aside, forgotten or closed meanwhile: this result is about a past watch.
    if (this.watched.get(root) !== w) return drifts;
    if (drifts.length === 0) w.verified = true;
    this.reportRootfs(w, 'files-full', drifts.map(describeDrift));
    return drifts;
  }

  /** A shared rootfs changed: every instance on it is tainted, once, and it is discarded. */
  private reportRootfs(
    w: WatchedRootfs,
    detector: Evidence['detector'],
    findings: readonly Finding[],
  ): void {
    if (findings.length === 0 || w.discarded) return;
    w.discarded = true;
    this.deps.onDrift({
      ids: this.onRootfs(w.root),
      evidence: this.evidence(detector, findings),
      rootfs: { artifact: w.artifact, folder: w.root },
    });
  }
}
