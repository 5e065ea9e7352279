import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sleep } from './helpers/agent.js';
import { ingot } from './helpers/cli.js';
import { HELLO, useServer, type InstanceJson } from './helpers/server.js';

interface Entry {
  kind: string;
  instance?: string;
  detail: { who?: string; authenticated?: unknown };
}

/**
 * Break-glass names who really opened a session: the client's `who` is only a claim; the
 * record keeps beside it the credential that authenticated the request and the local user
 * the kernel says owns the client's end of the connection.
 */
describe('break-glass records the authenticated identity beside the claimed one', () => {
  const server = useServer('debug');
  const { cli } = server;
  const instances = (): InstanceJson[] => server.status()[0]!.instances;
  const healthyOne = async (not?: string): Promise<InstanceJson> => {
    for (let n = 0; n < 300; n++) {
      const i = instances().find((x) => x.state === 'healthy' && x.id !== not);
      if (i && instances().length === 1) return i;
      await sleep(100);
    }
    throw new Error(`no healthy instance: ${JSON.stringify(instances())}`);
  };
  const opened = (id: string): Entry => {
    const log = JSON.parse(
      cli('ledger', 'log', '--kind', 'break-glass-open', '--instance', id, '-o', 'json').stdout,
    ) as Entry[];
    expect(log).toHaveLength(1);
    return log[0]!;
  };

  it('names the token and the local user, whatever the client claims', async () => {
    const { home, env } = server;
    server.up();
    expect(cli('build', '-q', HELLO).code).toBe(0);
    const deployed = cli('deploy', server.helloFleet(1), '--wait');
    expect(deployed.code, deployed.stderr).toBe(0);

    // Through the CLI, claiming to be someone else (SUDO_USER is the client's word).
    const first = await healthyOne();
    const session = ingot(['debug', first.id, '--reason', 'look', '--', '/bin/busybox', 'true'], {
      env: { ...env, SUDO_USER: 'mallory' },
    });
    expect(session.code, session.stderr).toBe(0);
    const a = opened(first.id);
    expect(a.detail.who).toMatch(/^mallory/);
    expect(a.detail.authenticated).toEqual({ credential: 'admin token', uid: 0, user: 'root' });
    expect(cli('history', 'hello').stdout).toMatch(
      new RegExp(
        `break-glass-open +${first.id} by ${(a.detail.who ?? '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(authenticated: admin token, uid 0 \\(root\\)\\)`,
      ),
    );

    // Straight to the API, as another local user who got hold of the token, claiming root.
    const second = await healthyOne(first.id);
    const { port } = JSON.parse(readFileSync(join(home, 'server.json'), 'utf8')) as {
      port: number;
    };
    const token = readFileSync(join(home, 'token'), 'utf8').trim();
    const body = JSON.stringify({
      reason: 'look',
      who: 'root',
      command: ['/bin/busybox', 'true'],
      ttlSeconds: 1,
    });
    const status = execFileSync(
      'setpriv',
      [
        ...['--reuid=65534', '--regid=65534', '--clear-groups', 'curl', '-s', '-o', '/dev/null'],
        ...['-w', '%{http_code}', '-X', 'POST', '-H', `authorization: Bearer ${token}`],
        ...['-H', 'content-type: application/json', '-d', body],
        `http://127.0.0.1:${port}/v1/instances/${second.id}/debug`,
      ],
      { encoding: 'utf8' },
    );
    expect(status).toBe('200');
    const b = opened(second.id);
    expect(b.detail.who).toBe('root');
    expect(b.detail.authenticated).toEqual({
      credential: 'admin token',
      uid: 65534,
      user: 'nobody',
    });
    // The taint's evidence says the same.
    const drift = JSON.parse(
      cli('ledger', 'log', '--kind', 'drift', '--instance', second.id, '-o', 'json').stdout,
    ) as { detail: { evidence?: { detector: string; actual: string }[] } }[];
    const evidence = drift.flatMap((e) => e.detail.evidence ?? []);
    expect(evidence).toContainEqual(
      expect.objectContaining({
        detector: 'break-glass',
        actual: 'root (authenticated: admin token, uid 65534 (nobody)): look',
      }),
    );
  }, 120_000);
});
