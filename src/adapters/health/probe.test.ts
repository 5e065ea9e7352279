import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthProbe } from '../../domain/baseline.js';
import { probe } from './probe.js';

/** This process's RLIMIT_NOFILE, soft and hard, as the kernel reports it. */
function noFile(): { soft: string; hard: string } {
  const line = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return { soft: line![1]!, hard: line![2]! };
}

/**
 * Run `body` with every file descriptor this process may have in use, for real: the soft
 * limit is lowered near what is open now (prlimit from outside, as Node cannot) and the few
 * left are taken, so that the next socket() fails with EMFILE, as it did under a flood of
 * idle API connections. Restored afterwards.
 */
async function starved<T>(body: () => Promise<T>): Promise<T> {
  const { soft, hard } = noFile();
  const taken: number[] = [];
  execFileSync('prlimit', [
    '--pid',
    String(process.pid),
    `--nofile=${readdirSync('/proc/self/fd').length + 64}:${hard}`,
  ]);
  try {
    for (;;) taken.push(openSync('/dev/null', 'r'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EMFILE') throw err;
  }
  try {
    return await body();
  } finally {
    for (const fd of taken) closeSync(fd);
    execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${soft}:${hard}`]);
  }
}

describe('probe', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const probes = (): HealthProbe[] => [
    { kind: 'tcp', port },
    { kind: 'http', port, path: '/' },
  ];

  it('passes an instance that answers', async () => {
    for (const p of probes()) expect(await probe('127.0.0.1', p, 2000)).toBe('passed');
  });

  it('fails an instance that refuses', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const gone = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    expect(await probe('127.0.0.1', { kind: 'tcp', port: gone }, 2000)).toBe('failed');
    expect(await probe('127.0.0.1', { kind: 'http', port: gone, path: '/' }, 2000)).toBe('failed');
  });

  it('says "unprobed", never "failed", when the agent itself is out of descriptors', async () => {
    // The instance answers; only the agent cannot ask (issue 15: EMFILE replaced a fleet).
    const outcomes = await starved(() =>
      Promise.all(probes().map((p) => probe('127.0.0.1', p, 2000))),
    );
    expect(outcomes).toEqual(['unprobed', 'unprobed']);
    for (const p of probes()) expect(await probe('127.0.0.1', p, 2000)).toBe('passed');
  });
});
