import { spawnSync } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sleep, upArgs } from './helpers/agent.js';
import { HELLO, useServer } from './helpers/server.js';

const BIN = fileURLToPath(new URL('../dist/bin/ingot.js', import.meta.url));

/**
 * Idle connections to the API from a local user without the token: `count` of them held
 * open, each one the server drops opened again a moment later, until stop().
 */
function flood(port: number, count: number): { stop(): void; dropped(): number } {
  const open = new Set<Socket>();
  let dropped = 0;
  let stopped = false;
  const one = () => {
    if (stopped) return;
    const s = connect({ host: '127.0.0.1', port });
    open.add(s);
    s.on('error', () => undefined);
    s.on('close', () => {
      open.delete(s);
      if (stopped) return;
      dropped++;
      setTimeout(one, 5);
    });
  };
  for (let i = 0; i < count; i++) one();
  return {
    stop: () => {
      stopped = true;
      for (const s of open) s.destroy();
    },
    dropped: () => dropped,
  };
}

const ms = (since: number) => Math.round(performance.now() - since);

/**
 * An authenticated GET over TCP: its status, or how it failed: the error's code, how long after
 * it was sent, and whether the connection had been made (its local port), so that a failure in
 * CI tells a connection accepted then closed (the guard's doing) from one never accepted.
 */
function getTcp(port: number, path: string, token: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        headers: { authorization: `Bearer ${token}` },
        agent: false,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    const sent = performance.now();
    let connected = '';
    req.on('socket', (s) =>
      s.once('connect', () => {
        connected = `connected from port ${s.localPort} after ${ms(sent)} ms`;
      }),
    );
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) =>
      resolve(
        `${err.code ?? err.message} after ${ms(sent)} ms (${connected || 'never connected'})`,
      ),
    );
    req.end();
  });
}

/**
 * The owner's GET over TCP as an HTTP client makes it (RFC 9110 §9.2.2: an idempotent request
 * may be sent again when its connection fails): up to 3 attempts when the connection is reset
 * before any answer. Why a reset can happen at all: the flood comes from the owner's own
 * address (a local user), and when more than the guard's 511 other connections are accepted
 * between the owner's connect and the moment Node reads its request, the guard, which closes
 * the oldest connection that has sent nothing to make room, cannot tell the owner's from the
 * flood's (seen once in CI, reproduced outside it). The guarantee is that a flood cannot lock
 * the owner out, not that no connection of the owner's is ever closed.
 */
async function ownerGet(
  port: number,
  token: string,
): Promise<{ status: number | string; resets: number }> {
  let resets = 0;
  for (;;) {
    const answer = await getTcp(port, '/v1/fleets', token);
    if (typeof answer === 'number' || !answer.startsWith('ECONNRESET') || resets === 2)
      return { status: answer, resets };
    resets++;
  }
}

/**
 * Issue 15, item 3: ~20,000 idle connections from an unprivileged user took the server's
 * file descriptors; `spawn runc` failed with EMFILE, health probes failed, and every healthy
 * instance was replaced at once. Here the server runs with the usual limit of 1024
 * descriptors, and 1,500 idle connections are held against it, renewed as it drops them.
 */
describe('the API under a flood of idle connections', () => {
  const server = useServer('flood');
  const { cli, status } = server;

  it('keeps answering the owner, probing, and every healthy instance', async () => {
    const { home, net, env } = server;
    // The server and its agent get 1024 descriptors, soft and hard, as on a stock host.
    const up = spawnSync('prlimit', ['--nofile=1024:1024', process.execPath, BIN, ...upArgs(net)], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(up.status, up.stderr).toBe(0);
    expect(cli('build', '-q', HELLO).code).toBe(0);
    const deployed = cli('deploy', server.helloFleet(2), '--wait');
    expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0);
    const before = status()[0]!;
    const ids = before.instances.map((i) => i.id).sort();
    expect(before.instances.every((i) => i.state === 'healthy')).toBe(true);
    const { pid, port } = JSON.parse(readFileSync(join(home, 'server.json'), 'utf8')) as {
      pid: number;
      port: number;
    };
    const descriptors = () => readdirSync(`/proc/${pid}/fd`).length;
    const token = readFileSync(join(home, 'token'), 'utf8').trim();
    // The CLI's own way in: a socket only this user can open.
    const info = JSON.parse(readFileSync(join(home, 'server.json'), 'utf8')) as { socket: string };
    expect(lstatSync(info.socket).isSocket()).toBe(true);
    expect(lstatSync(info.socket).mode & 0o777).toBe(0o600);

    const attack = flood(port, 1500);
    try {
      // hello's check: every 2 s, unhealthy after 3 retries: 12 s is past any verdict.
      let most = 0;
      let resets = 0;
      for (const until = Date.now() + 12_000; Date.now() < until; await sleep(500)) {
        most = Math.max(most, descriptors());
        // The owner's requests: by TCP, where the flood is, and by the CLI (its socket).
        const answer = await ownerGet(port, token);
        expect(answer.status, `${attack.dropped()} flood connections dropped so far`).toBe(200);
        resets += answer.resets;
        const now = status()[0]!;
        expect(now.instances.map((i) => i.id).sort()).toEqual(ids);
        expect(
          now.instances.every((i) => i.state === 'healthy'),
          JSON.stringify(now),
        ).toBe(true);
      }
      // The server held no more than its share: the agent kept its reserve.
      expect(most).toBeLessThan(1024 - 256);
      // Idle connections were dropped, not kept.
      expect(attack.dropped()).toBeGreaterThan(0);
      // Of the owner's ~24 requests, a reset was the exception, not the rule.
      expect(resets).toBeLessThanOrEqual(3);
    } finally {
      attack.stop();
    }
    const idsNow = () =>
      status()[0]!
        .instances.map((i) => i.id)
        .sort();
    expect(idsNow()).toEqual(ids);

    // The CLI goes by the socket: with server.json's port made useless, it still answers.
    const file = join(home, 'server.json');
    const saved = readFileSync(file, 'utf8');
    try {
      writeFileSync(file, JSON.stringify({ ...JSON.parse(saved), port: 1 }));
      expect(idsNow()).toEqual(ids);
    } finally {
      writeFileSync(file, saved);
    }
  });
});
