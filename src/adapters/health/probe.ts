import { request } from 'node:http';
import { connect } from 'node:net';
import type { ProbeOutcome } from '../../core/runtime/health.js';
import type { HealthProbe } from '../../domain/baseline.js';

/**
 * Errors that come from the agent's own side of the probe: out of file descriptors (its own
 * or the system's), of memory or socket buffers, of local ports. A local user holding
 * thousands of connections to the API drove the agent to EMFILE, every probe failed and
 * every healthy instance was replaced at once (issue 15): these say nothing about the
 * instance and must never count against it.
 */
const AGENT_SIDE = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM', 'EAGAIN', 'EADDRNOTAVAIL']);

function outcomeOf(err: unknown): ProbeOutcome {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code !== undefined && AGENT_SIDE.has(code) ? 'unprobed' : 'failed';
}

/**
 * One probe of an instance's address: an HTTP GET answered with 2xx/3xx, or a TCP connect.
 * 'unprobed' when the agent could not make the probe at all. Only ever aimed at addresses
 * of namespaces the agent made.
 */
export function probe(address: string, p: HealthProbe, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (outcome: ProbeOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    // A timer that fires late (the agent's event loop was held up) fires before the answer
    // waiting in the socket is read: give that answer one turn of the loop first.
    const timer = setTimeout(
      () =>
        setImmediate(() => {
          if (settled) return;
          cleanup();
          done('failed');
        }),
      timeoutMs,
    );
    let cleanup = () => undefined as void;
    if (p.kind === 'tcp') {
      const socket = connect({ host: address, port: p.port });
      cleanup = () => socket.destroy();
      socket.once('connect', () => {
        socket.destroy();
        done('passed');
      });
      socket.once('error', (err) => done(outcomeOf(err)));
    } else {
      let req: ReturnType<typeof request>;
      try {
        req = request(
          { host: address, port: p.port, path: p.path, method: 'GET', agent: false },
          (res) => {
            res.resume();
            const code = res.statusCode ?? 0;
            done(code >= 200 && code < 400 ? 'passed' : 'failed');
          },
        );
      } catch {
        // A path Node refuses to send (the contract schema should have caught it): a failure.
        done('failed');
        return;
      }
      cleanup = () => req.destroy();
      req.once('error', (err) => done(outcomeOf(err)));
      req.end();
    }
  });
}
