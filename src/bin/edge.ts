import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import type { Logger } from 'pino';
import { HaproxyEdge } from '../adapters/haproxy/edge.js';
import { bindProblem } from '../adapters/haproxy/listen-check.js';
import { resolveUser } from '../core/runtime/user.js';
import { EdgeError } from '../core/traffic/errors.js';
import type { Edge } from '../core/traffic/edge.js';
import type { ServerCounters } from '../core/traffic/stat.js';
import type { EdgePort } from '../ports/edge.js';

export interface LocalEdgeOptions {
  /** End HAProxy with this process, even a SIGKILLed one (a cluster leader's edge). */
  readonly exitWithParent?: boolean;
}

/**
 * The edge of a server on this machine: HAProxy (adapters/haproxy), started the first time a
 * fleet has a service, so that a home without services needs no HAProxy at all, and stopped
 * with the server (or, in a cluster, with the leader's term). Its run folder is `dir` (the
 * home's `edge/`). Its workers, which parse every client's request, run as `nobody`: a flaw
 * in HTTP parsing reached from the network must not hand out root.
 */
export class LocalEdge implements EdgePort {
  private edge: HaproxyEdge | null = null;
  private starting: Promise<HaproxyEdge> | null = null;

  constructor(
    private readonly dir: string,
    private readonly logger: Logger,
    private readonly options: LocalEdgeOptions = {},
  ) {}

  async apply(desired: Edge): Promise<void> {
    if (this.edge === null) {
      if (desired.fleets.length === 0) return;
      this.starting ??= HaproxyEdge.start(desired, {
        dir: this.dir,
        // Only root can drop to nobody; a server that is not root runs HAProxy as itself.
        render: process.getuid?.() === 0 ? { runAs: unprivileged() } : {},
        exitWithParent: this.options.exitWithParent ?? false,
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

/** The ids of `nobody` on this machine, which HAProxy's workers drop to. */
function unprivileged(): { uid: number; gid: number } {
  const read = (path: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return '';
    }
  };
  const user = resolveUser('nobody', read('/etc/passwd'), read('/etc/group'));
  if (!user.ok || user.uid === 0)
    throw new EdgeError(
      'E_EDGE_START',
      'this machine has no unprivileged user "nobody" for the edge\'s workers: add one (adduser --system nobody)',
    );
  return { uid: user.uid, gid: user.gid };
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
