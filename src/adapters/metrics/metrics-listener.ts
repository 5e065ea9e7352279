import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { IngotError } from '../../domain/errors.js';

/** Prometheus text, as ServerMetrics renders it. */
export type MetricsRender = () => Promise<{ contentType: string; body: string }>;

export interface MetricsListener {
  /** Where it listens (the port the system chose for port 0). */
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * A scraper's connections: a handful at once is plenty, and any number more is someone
 * holding sockets open. Slow requests are cut short for the same reason.
 */
const MAX_CONNECTIONS = 16;
const HEADERS_MS = 5_000;
const REQUEST_MS = 10_000;

/**
 * `GET /metrics` on an address of its own, with the metrics token and nothing else. It may
 * face a monitoring network, so what it offers is read-only and knows no other token: the
 * admin token is refused here (it must never travel to a scraper's network), and the metrics
 * token opens nothing on the API. Both sides are hashed before the constant-time comparison,
 * so neither the token's value nor its length leaks through timing.
 */
export async function listenMetrics(options: {
  readonly host: string;
  readonly port: number;
  readonly token: string;
  readonly render: MetricsRender;
  readonly onError: (err: unknown) => void;
}): Promise<MetricsListener> {
  const expected = digest(`Bearer ${options.token}`);
  const authorized = (req: IncomingMessage) =>
    timingSafeEqual(digest(req.headers.authorization ?? ''), expected);
  // Timeouts checked every second, not every 30 s (Node's default): a connection that has not
  // sent its request within HEADERS_MS goes, so idle ones cannot hold the slots a scraper needs.
  const server: Server = createServer({ connectionsCheckingInterval: 1000 }, (req, res) => {
    answer(req, res, authorized, options.render).catch((err: unknown) => {
      options.onError(err);
      if (!res.headersSent) send(res, 500, 'internal error (see server.log)\n');
      else res.destroy();
    });
  });
  server.maxConnections = MAX_CONNECTIONS;
  server.headersTimeout = HEADERS_MS;
  server.requestTimeout = REQUEST_MS;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.host, port: options.port }, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code;
    throw new IngotError(
      'E_METRICS_LISTEN',
      `cannot listen for metrics on ${options.host}:${options.port}: ${
        code === 'EADDRINUSE'
          ? 'the address is taken by another process; choose another port with --metrics-listen'
          : code === 'EADDRNOTAVAIL'
            ? 'no interface of this machine has that address'
            : err instanceof Error
              ? err.message
              : 'unknown error'
      }`,
      { details: { host: options.host, port: options.port, ...(code && { errno: code }) } },
    );
  });
  server.on('error', options.onError);
  const address = server.address();
  return {
    host: options.host,
    port: typeof address === 'object' && address ? address.port : options.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function answer(
  req: IncomingMessage,
  res: ServerResponse,
  authorized: (req: IncomingMessage) => boolean,
  render: MetricsRender,
): Promise<void> {
  // The token first, whatever the path: without it, nothing here is told apart.
  if (!authorized(req)) {
    res.setHeader('www-authenticate', 'Bearer realm="ingot-metrics"');
    return send(res, 401, 'a valid metrics token is required ($INGOT_HOME/metrics-token)\n');
  }
  const path = (req.url ?? '').split('?')[0];
  if (path !== '/metrics') return send(res, 404, 'only /metrics is served here\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return send(res, 405, 'GET /metrics\n');
  }
  const m = await render();
  res.writeHead(200, { 'content-type': m.contentType, 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : m.body);
}

function send(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
  res.end(text);
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
