import { networkInterfaces } from 'node:os';
import type { Logger } from 'pino';
import { HaproxyEdge } from '../adapters/haproxy/edge.js';
import { bindProblem } from '../adapters/haproxy/listen-check.js';
import type { Edge } from '../core/traffic/edge.js';
import type { ServerCounters } from '../core/traffic/stat.js';
import type { EdgePort } from '../ports/edge.js';

/**
 * The edge of `ingot up`: HAProxy (adapters/haproxy), started the first time a fleet has a
 * service, so that a home without services needs no HAProxy at all, and stopped with the
 * server. Its run folder is `dir` (the home's `edge/`).
 */
export class LocalEdge implements EdgePort {
  private edge: HaproxyEdge | null = null;
  private starting: Promise<HaproxyEdge> | null = null;

  constructor(
    private readonly dir: string,
    private readonly logger: Logger,
  ) {}

  async apply(desired: Edge): Promise<void> {
    if (this.edge === null) {
      if (desired.fleets.length === 0) return;
      this.starting ??= HaproxyEdge.start(desired, {
        dir: this.dir,
        onEvent: (event) => this.logger.info({ event }, 'edge'),
      }).finally(() => (this.starting = null));
      this.edge = await this.starting;
      return;
    }
    const report = await this.edge.apply(desired);
    if (report.reloaded) this.logger.info({ reasons: report.reasons }, 'edge reloaded');
    if (report.error !== undefined) throw report.error;
  }

  async counters(): Promise<readonly ServerCounters[]> {
    return this.edge === null ? [] : this.edge.client.stats();
  }

  async stop(): Promise<void> {
    const edge = this.edge ?? (await this.starting?.catch(() => null)) ?? null;
    this.edge = null;
    await edge?.stop();
  }
}

/** What a deploy checks a service against on this machine (services/fleets/deploy.ts). */
export const localListens = {
  localAddresses: (): ReadonlySet<string> =>
    new Set(
      Object.values(networkInterfaces())
        .flat()
        .flatMap((a) => (a && a.family === 'IPv4' && !a.internal ? [a.address] : [])),
    ),
  listenTaken: async (listen: string): Promise<boolean> => (await bindProblem(listen)) !== null,
};
