import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostResidue, runcIn, sleep, upArgs } from './helpers/agent.js';
import { HELLO, useServer } from './helpers/server.js';

describe('a server that died leaves nothing stuck', () => {
  const server = useServer('down');
  const { cli, serverPid } = server;

  it('down --stop-instances with no server stops what runs, from the record and runc alone', async () => {
    const { home, net } = server;
    server.up();
    expect(cli('build', '-q', HELLO).code).toBe(0);
    const deployed = cli('deploy', server.helloFleet(2), '--wait');
    expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0);
    const ids = runcIn(home, 'list', '-q').out.split('\n').filter(Boolean).sort();
    expect(ids).toHaveLength(2);

    // The server dies without a word; its server.json and lock stay behind.
    process.kill(serverPid(), 'SIGKILL');
    await sleep(300);
    expect(existsSync(join(home, 'server.json'))).toBe(true);
    expect(runcIn(home, 'list', '-q').out.split('\n').filter(Boolean).sort()).toEqual(ids);

    const down = cli('down', '--stop-instances');
    expect(down.code, down.stderr).toBe(0);
    expect(down.stderr).toContain('stopped 2 instances without it');
    expect(hostResidue(home, net, ids)).toMatchObject({
      containers: [],
      netns: [],
      veths: [],
      addresses: [],
      mounts: [],
      userns: [],
      cgroups: [],
    });
    expect(existsSync(join('/sys/class/net', net.bridge))).toBe(false);
    // What was done is recorded, and the record still verifies.
    const log = server.ledger();
    const stops = log.filter((e) => e.kind === 'instance-stopped' && ids.includes(e.instance!));
    expect(stops.map((e) => e.instance).sort()).toEqual(ids);
    for (const s of stops) expect(s.detail['cause']).toMatch(/no server running/);
    const verified = cli('ledger', 'verify');
    expect(verified.code, verified.stderr).toBe(0);
    // Nothing is left to adopt or remove: a second run finds nothing.
    expect(cli('down', '--stop-instances').stderr).toContain('stopped 0 instances');
  }, 120_000);

  it('up starts although server.json and the lock name a pid that is now another process', async () => {
    // A live process that is not Ingot, as a reused pid would be.
    const { home, net } = server;
    const stranger = spawn('sleep', ['60'], { stdio: 'ignore' });
    mkdirSync(home, { recursive: true, mode: 0o700 });
    try {
      await sleep(50);
      const pid = stranger.pid!;
      for (const started of [`${'0'.repeat(8)}-stale:1`, undefined]) {
        // First as this version writes it (with the dead server's start), then as older ones.
        writeFileSync(
          join(home, 'server.json'),
          JSON.stringify({ pid, port: 1, host: '127.0.0.1', ...(started && { started }) }),
        );
        writeFileSync(join(home, 'server.lock'), `${pid} ${started ?? ''}\n`);
        const up = cli(...upArgs(net));
        expect(up.code, up.stderr + readFileSync(join(home, 'server.out'), 'utf8')).toBe(0);
        expect(up.stderr).toMatch(/Ingot is up/);
        expect(serverPid()).not.toBe(pid);
        expect(cli('status').code).toBe(0);
        expect(cli('down').code).toBe(0);
        expect(stranger.exitCode).toBeNull();
      }
    } finally {
      stranger.kill();
    }
  }, 60_000);
});
