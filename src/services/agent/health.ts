import { INITIAL_HEALTH, nextHealth } from '../../core/runtime/health.js';
import type { HealthCheck } from '../../domain/baseline.js';
import type { Digest } from '../../domain/digest.js';
import { openArtifact } from '../artifact.js';
import type { AgentContext } from './context.js';
import { isRunning, type InstanceTable, type TrackedInstance } from './instance-table.js';

/**
 * Health, by the artifact's own check (its runtime contract): an instance becomes healthy
 * when a probe passes, and unhealthy after too many failures past its start grace. An
 * artifact without a check is healthy once it runs.
 */
export class HealthProber {
  /** Each artifact's check, read once: an artifact never changes. */
  private readonly checks = new Map<Digest, HealthCheck | null>();

  constructor(
    private readonly ctx: AgentContext,
    private readonly table: InstanceTable,
  ) {}

  /** Probe `t` if its interval has passed; record a change of state. */
  async probe(t: TrackedInstance, now: number): Promise<void> {
    const check = await this.checkOf(t.artifact);
    if (!check) {
      if (t.state === 'starting') {
        t.state = 'healthy';
        t.healthySince = this.ctx.deps.now().toISOString();
        this.table.save();
      }
      return;
    }
    if (t.lastProbe !== undefined && now - t.lastProbe < check.intervalMs) return;
    t.lastProbe = now;
    const outcome = await this.ctx.deps.probe(t.address!, check.probe, check.timeoutMs);
    const since = now - Date.parse(t.startedAt ?? new Date(now).toISOString());
    const next = nextHealth(t.health ?? INITIAL_HEALTH, outcome, since, check);
    t.health = next;
    if (next.phase !== t.state && isRunning(t)) {
      t.state = next.phase;
      if (next.phase === 'healthy') {
        this.ctx.emit('instance-healthy', t);
        t.healthySince = this.ctx.deps.now().toISOString();
      } else delete t.healthySince;
      this.table.save();
    }
  }

  private async checkOf(artifact: Digest): Promise<HealthCheck | null> {
    if (!this.checks.has(artifact))
      this.checks.set(
        artifact,
        (await openArtifact(this.ctx.deps.store, artifact)).runtime.health ?? null,
      );
    return this.checks.get(artifact) ?? null;
  }
}
