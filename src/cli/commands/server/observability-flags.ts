import { UsageError } from '../../../domain/errors.js';

/** server.log's levels, lowest volume first. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevelFlag = (typeof LOG_LEVELS)[number];

/** `HOST:PORT` or `[V6]:PORT` → host and port; `flag` names the option in the error. Pure. */
export function parseListen(listen: string, flag = '--listen'): { host: string; port: number } {
  const m = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/i.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535)
    throw new UsageError(`${flag} takes HOST:PORT, got ${JSON.stringify(listen.slice(0, 100))}`);
  return { host: m[1] ?? m[2]!, port };
}

/** `--log-level`, checked. Pure. */
export function parseLogLevel(level: string): LogLevelFlag {
  if (!(LOG_LEVELS as readonly string[]).includes(level))
    throw new UsageError(
      `--log-level takes one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level.slice(0, 100))}`,
    );
  return level as LogLevelFlag;
}

/** What `--metrics-listen` and `--log-level` say, for the server's options. Pure. */
export function observabilityOptions(flags: { metricsListen?: string; logLevel?: string }): {
  metricsListen?: { host: string; port: number };
  logLevel?: LogLevelFlag;
} {
  return {
    ...(flags.metricsListen !== undefined && {
      metricsListen: parseListen(flags.metricsListen, '--metrics-listen'),
    }),
    ...(flags.logLevel !== undefined && { logLevel: parseLogLevel(flags.logLevel) }),
  };
}

export const METRICS_LISTEN_HELP =
  'serve GET /metrics (Prometheus) on this address, with the read-only token $INGOT_HOME/metrics-token (made on first use; the admin token is refused there). Default: off';
export const LOG_LEVEL_HELP = `server.log's level: ${LOG_LEVELS.join(', ')} (default info: the ledger's events; debug adds one line per API request)`;
