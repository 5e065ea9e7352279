import { request } from 'node:http';
import { connect } from 'node:net';
import type { HealthProbe } from '../../domain/baseline.js';

/**
 * One probe of an instance's address: an HTTP GET answered with 2xx/3xx, or a TCP connect.
 * Only ever aimed at addresses of namespaces the agent made.
 */
export function probe(address: string, p: HealthProbe, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(ok);
    };
    const timer = setTimeout(() => {
      cleanup();
      done(false);
    }, timeoutMs);
    let cleanup = () => undefined as void;
    if (p.kind === 'tcp') {
      const socket = connect({ host: address, port: p.port });
      cleanup = () => socket.destroy();
      socket.once('connect', () => {
        socket.destroy();
        done(true);
      });
      socket.once('error', () => done(false));
    } else {
      let req: ReturnType<typeof request>;
      try {
        req = request(
          { host: address, port: p.port, path: p.path, method: 'GET', agent: false },
          (res) => {
            res.resume();
            const code = res.statusCode ?? 0;
            done(code >= 200 && code < 400);
          },
        );
      } catch {
        // A path Node refuses to send (the contract schema should have caught it): a failure.
        done(false);
        return;
      }
      cleanup = () => req.destroy();
      req.once('error', () => done(false));
      req.end();
    }
  });
}
