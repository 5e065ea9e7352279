import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A tiny HTTP backend on 127.0.0.1 that answers every request with its own name. */
export interface NamedBackend {
  readonly name: string;
  readonly port: number;
  /** Requests it answered. */
  readonly hits: () => number;
  close(): Promise<void>;
}

export async function namedBackend(name: string): Promise<NamedBackend> {
  let hits = 0;
  const server: Server = createServer((_req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(name) });
    res.end(name);
  });
  // Longer than HAProxy keeps an idle connection to it: the backend never closes one under
  // a request HAProxy is about to send on it.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    name,
    port,
    hits: () => hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface LoadOptions {
  readonly url: string;
  /** Requests in flight at once. */
  readonly concurrency: number;
  /** Stop after this many requests (the load is bounded by count)… */
  readonly total?: number;
  /** …and after this long at most, whatever the count (default 60 s). */
  readonly maxMs?: number;
  /** Reuse connections (HTTP/1.1 keep-alive), or open one per request. */
  readonly keepAlive: boolean;
  /** Per request (default 5 s). */
  readonly timeoutMs?: number;
}

/** What a load run saw: answers by body, and every failure by its reason. */
export interface LoadResult {
  readonly ok: number;
  readonly failed: number;
  readonly byBody: ReadonlyMap<string, number>;
  readonly failures: ReadonlyMap<string, number>;
  readonly ms: number;
}

/**
 * A bounded load generator: `concurrency` loops issuing GETs until `total` requests were
 * made, `maxMs` passed, or `stop()` was called. Loopback only: tests never send traffic
 * anywhere else. A request fails on any socket error, timeout or status other than 200.
 */
export function startLoad(options: LoadOptions): { stop: () => void; done: Promise<LoadResult> } {
  const url = new URL(options.url);
  if (url.hostname !== '127.0.0.1') throw new Error(`load only on loopback, not ${url.hostname}`);
  const agent = new Agent({ keepAlive: options.keepAlive, maxSockets: options.concurrency });
  const byBody = new Map<string, number>();
  const failures = new Map<string, number>();
  let issued = 0;
  let ok = 0;
  let failed = 0;
  let stopped = false;
  const t0 = performance.now();
  const deadline = t0 + (options.maxMs ?? 60_000);
  const more = () =>
    !stopped &&
    performance.now() < deadline &&
    (options.total === undefined || issued < options.total);
  const loop = async () => {
    while (more()) {
      issued++;
      const outcome = await get(url, agent, options.timeoutMs ?? 5_000);
      if (outcome.ok) {
        ok++;
        byBody.set(outcome.body, (byBody.get(outcome.body) ?? 0) + 1);
      } else {
        failed++;
        failures.set(outcome.reason, (failures.get(outcome.reason) ?? 0) + 1);
      }
    }
  };
  const done = Promise.all(Array.from({ length: options.concurrency }, loop)).then(() => {
    agent.destroy();
    return { ok, failed, byBody, failures, ms: performance.now() - t0 };
  });
  return { stop: () => (stopped = true), done };
}

/** One load run to its end. */
export function load(options: LoadOptions): Promise<LoadResult> {
  return startLoad(options).done;
}

type Outcome = { ok: true; body: string } | { ok: false; reason: string };

function get(url: URL, agent: Agent, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request(url, { agent, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve(
          res.statusCode === 200
            ? { ok: true, body }
            : { ok: false, reason: `HTTP ${res.statusCode}` },
        );
      });
      res.on('error', (err) => resolve({ ok: false, reason: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) =>
      resolve({ ok: false, reason: err.code ?? err.message }),
    );
    req.end();
  });
}

/** One GET; its body, or null if it failed. */
export async function getOnce(url: string, timeoutMs = 1_000): Promise<string | null> {
  const agent = new Agent({ keepAlive: false });
  const outcome = await get(new URL(url), agent, timeoutMs);
  agent.destroy();
  return outcome.ok ? outcome.body : null;
}

/** Each body's share of the answers, in percent. */
export function shares(result: LoadResult): Map<string, number> {
  const total = [...result.byBody.values()].reduce((a, b) => a + b, 0);
  return new Map([...result.byBody].map(([body, n]) => [body, (100 * n) / total]));
}
