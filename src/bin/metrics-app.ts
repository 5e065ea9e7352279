import type { Logger } from 'pino';
import { ensureMetricsToken } from '../adapters/home/token.js';
import { listenMetrics, type MetricsListener } from '../adapters/metrics/metrics-listener.js';
import type { ServerMetrics } from '../adapters/metrics/prometheus.js';
import type { LedgerEntryDraft } from '../core/ledger/index.js';
import { digestOf } from '../domain/digest.js';

/** server.log's levels (`--log-level`). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * GET /metrics on its own address (`--metrics-listen`), with the metrics token: made on this
 * first use (0600, beside the admin token) and recorded, as the admin token is.
 */
export async function serveMetrics(options: {
  readonly home: string;
  readonly at: { readonly host: string; readonly port: number };
  readonly metrics: ServerMetrics;
  readonly record: (event: LedgerEntryDraft) => void;
  readonly actor: string;
  readonly logger: Logger;
}): Promise<MetricsListener> {
  const { logger } = options;
  const token = ensureMetricsToken(options.home);
  if (token.created)
    options.record({
      time: Date.now(),
      actor: options.actor,
      kind: 'token',
      subjects: [],
      detail: { action: 'created', role: 'metrics', token: digestOf(token.token) },
    });
  const listener = await listenMetrics({
    ...options.at,
    token: token.token,
    render: () => options.metrics.render(),
    onError: (err) => logger.error({ err }, 'metrics listener'),
  });
  logger.info({ host: listener.host, port: listener.port }, 'metrics listening');
  return listener;
}

/**
 * The metrics listener if one is asked for (null if not). A server asked to serve metrics
 * that cannot is stopped and not started silently: no one could monitor it.
 */
export async function metricsIfAsked(
  at: { readonly host: string; readonly port: number } | undefined,
  options: Omit<Parameters<typeof serveMetrics>[0], 'at'>,
  stop: () => Promise<void>,
): Promise<MetricsListener | null> {
  if (at === undefined) return null;
  try {
    return await serveMetrics({ ...options, at });
  } catch (err) {
    await stop();
    throw err;
  }
}
