import { lstatSync } from 'node:fs';
import { request } from 'node:http';

/** Where the API answers: its TCP address, and its Unix socket when it has one. */
export interface Endpoint {
  /** `http://host:port`, also what messages name. */
  readonly base: string;
  readonly host: string;
  readonly port: number;
  /** The server's 0600 socket; preferred, as no other local user can crowd it out. */
  readonly socket?: string;
}

export interface Answer {
  readonly status: number;
  /** The body as JSON, or {} when it is not JSON. */
  readonly json: unknown;
}

/** An answer larger than this is not the API's: refused rather than held in memory. */
const MAX_ANSWER_BYTES = 512 * 1024 * 1024;

/** The socket if it still is one (a server that died may have left server.json behind). */
export function usableSocket(path: string | undefined): string | undefined {
  try {
    return path !== undefined && lstatSync(path).isSocket() ? path : undefined;
  } catch {
    return undefined;
  }
}

/** One HTTP request to the API, over its Unix socket when there is one, else TCP. */
export function send(
  to: Endpoint,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string; timeoutMs: number },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const where = to.socket ? { socketPath: to.socket } : { host: to.host, port: to.port };
    const req = request(
      { ...where, method, path, headers: options.headers ?? {}, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_ANSWER_BYTES) req.destroy(new Error('the answer is too large'));
          else chunks.push(c);
        });
        res.on('error', reject);
        res.on('end', () => {
          let json: unknown = {};
          try {
            json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            // not JSON: the caller reports the status
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
      },
    );
    req.setTimeout(options.timeoutMs, () =>
      req.destroy(new Error(`no answer within ${options.timeoutMs / 1000} s`)),
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
