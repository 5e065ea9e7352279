import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { hostname, totalmem } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeVkey } from '../src/core/ledger/index.js';
import { nodeNameOf } from '../src/domain/cluster.js';
import { ingot } from './helpers/cli.js';
import { HELLO, useServer } from './helpers/server.js';

/** `ingot hosts -o json` (the fields the test reads). */
interface HostsJson {
  hosts: {
    name: string;
    state: string;
    labels: Record<string, string>;
    capacity: { memoryBytes: number; cpus: number; pids: number };
    used: { memoryBytes: number; cpus: number; pids: number; instances: number };
    lastHeartbeat: string | null;
    agent: string | null;
    startedAt: string | null;
  }[];
  leader: unknown;
}

const MIB = 1024 * 1024;

/** A loopback port nothing listens on (just freed). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * Issue 18: the CLI reaches a server by URL, not only its home's. A server runs (`ingot up`)
 * with its home; the CLI runs from another folder with another INGOT_HOME, where no server
 * runs, and is given --server/INGOT_SERVER and a token file.
 */
describe('the CLI against a server named by URL', () => {
  const server = useServer('remote');

  it('lists hosts, deploys and shows status from elsewhere; refuses open and wrong tokens', async () => {
    server.up();
    expect(server.cli('build', '-q', HELLO).code).toBe(0);
    const { port } = JSON.parse(readFileSync(join(server.home, 'server.json'), 'utf8')) as {
      port: number;
    };
    const url = `http://127.0.0.1:${port}`;
    const elsewhere = join(server.root, 'elsewhere');
    mkdirSync(elsewhere);
    const otherHome = join(elsewhere, 'home');
    const tokenFile = join(elsewhere, 'token');
    writeFileSync(tokenFile, readFileSync(join(server.home, 'token')), { mode: 0o600 });
    const there = (args: string[], env: Record<string, string> = {}) =>
      ingot(args, { cwd: elsewhere, env: { INGOT_HOME: otherHome, ...env } });

    // The flags: one host, this machine, live, heard from now, no leader.
    let r = there(['--server', url, '--token-file', tokenFile, 'hosts', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const idle = JSON.parse(r.stdout) as HostsJson;
    expect(idle.leader).toBeNull();
    expect(idle.hosts).toHaveLength(1);
    const [host] = idle.hosts;
    expect(host).toMatchObject({
      name: nodeNameOf(hostname()),
      state: 'live',
      labels: {},
      capacity: { memoryBytes: totalmem() },
      used: { memoryBytes: 0, cpus: 0, pids: 0, instances: 0 },
    });
    expect(Date.now() - Date.parse(host!.lastHeartbeat!)).toBeLessThan(30_000);
    expect(Date.parse(host!.startedAt!)).toBeLessThanOrEqual(Date.parse(host!.lastHeartbeat!));

    // The environment, for every command: a deploy, then status and the hosts' table.
    const env = { INGOT_SERVER: url, INGOT_TOKEN_FILE: tokenFile };
    r = there(['deploy', '--wait', server.helloFleet(2)], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    r = there(['status', '-o', 'json'], env);
    expect(r.code, r.stderr).toBe(0);
    const [hello] = JSON.parse(r.stdout) as { name: string; instances: { state: string }[] }[];
    expect(hello?.name).toBe('hello');
    expect(hello?.instances.filter((i) => i.state === 'healthy')).toHaveLength(2);
    r = there(['hosts', '-o', 'json'], env);
    expect(r.code, r.stderr).toBe(0);
    // hello's limits: 64 MiB, half a core and 64 processes each.
    expect((JSON.parse(r.stdout) as HostsJson).hosts[0]!.used).toEqual({
      memoryBytes: 128 * MIB,
      cpus: 1,
      pids: 128,
      instances: 2,
    });
    r = there(['hosts'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `^NAME +STATE +LABELS +CPUS +MEMORY +INSTANCES +LAST-HEARTBEAT\\n${nodeNameOf(hostname())} +live +- +1/\\d+ +128 MiB/\\S+ GiB +2 +\\d+s ago\\n$`,
      ),
    );
    // The same commands, unchanged, through the home (its server.json).
    expect(server.cli('hosts', '-o', 'json').code).toBe(0);
    // Nothing was made where the CLI ran: its home is not needed to talk to a server.
    expect(existsSync(otherHome)).toBe(false);

    // A token file others can read is refused before anything is sent, as ssh refuses keys.
    const open = join(elsewhere, 'open-token');
    writeFileSync(open, readFileSync(tokenFile));
    chmodSync(open, 0o644);
    r = there(['--server', url, '--token-file', open, 'status', '-o', 'json']);
    expect(r.code).toBe(1);
    expect((JSON.parse(r.stdout) as { error: { code: string } }).error.code).toBe(
      'E_TOKEN_FILE_INSECURE',
    );
    expect(r.stderr).toContain(`chmod 600 ${open}`);

    // A wrong token: the server's refusal, with its code, naming the file.
    const wrong = join(elsewhere, 'wrong-token');
    writeFileSync(wrong, 'f'.repeat(64) + '\n', { mode: 0o600 });
    r = there(['hosts'], { INGOT_SERVER: url, INGOT_TOKEN_FILE: wrong });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('(E_UNAUTHORIZED)');
    expect(r.stderr).toContain(`refused the token from ${wrong} (INGOT_TOKEN_FILE)`);

    // Nothing listening there.
    const gone = `http://127.0.0.1:${await closedPort()}`;
    r = there(['--server', gone, '--token-file', tokenFile, 'hosts']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ECONNREFUSED.*is the server running, and is --server right\?/);
    expect(r.stderr).toContain('(E_NOT_RUNNING)');

    // No server here and none named: the three ways to one.
    r = there(['status']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ingot up --detach');
    expect(r.stderr).toContain('--server URL or INGOT_SERVER');

    // A malformed INGOT_SERVER is a usage error where a server is needed, and none elsewhere.
    r = there(['hosts'], { INGOT_SERVER: 'localhost:7070', INGOT_TOKEN_FILE: tokenFile });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/INGOT_SERVER must be http:\/\/HOST\[:PORT\]/);
    r = there(['key', 'generate', '--out', elsewhere, '--name', 'k'], {
      INGOT_SERVER: 'localhost:7070',
    });
    expect(r.code, r.stderr).toBe(0);
  }, 300_000);

  /**
   * The server of the first test, with hello's two instances (a fresh one if a test runs
   * alone), and a folder `name` elsewhere whose CLI reaches it by URL with a copy of its token.
   */
  const withHello = (name: string) => {
    if (!existsSync(join(server.home, 'server.json'))) {
      server.up();
      expect(server.cli('build', '-q', HELLO).code).toBe(0);
      expect(server.cli('deploy', '--wait', server.helloFleet(2)).code).toBe(0);
    }
    const { port } = JSON.parse(readFileSync(join(server.home, 'server.json'), 'utf8')) as {
      port: number;
    };
    const elsewhere = join(server.root, name);
    mkdirSync(elsewhere, { recursive: true });
    const tokenFile = join(elsewhere, 'token');
    writeFileSync(tokenFile, readFileSync(join(server.home, 'token')), { mode: 0o600 });
    const env = {
      INGOT_HOME: join(elsewhere, 'home'),
      INGOT_SERVER: `http://127.0.0.1:${port}`,
      INGOT_TOKEN_FILE: tokenFile,
    };
    return { elsewhere, env, port, tokenFile };
  };

  it('reads, proves and verifies the ledger from elsewhere, checking it on the client', () => {
    const { elsewhere, env } = withHello('auditor');
    const there = (...args: string[]) => ingot(args, { cwd: elsewhere, env });
    const heldKey = join(server.home, 'keys', 'ledger.vkey');
    expect(there('ledger', 'checkpoint').code).toBe(0);

    // The log is the home's, as the home reads it (the server may have added to it since).
    let r = there('ledger', 'log', '--limit', '99999', '-o', 'json');
    expect(r.code, r.stderr).toBe(0);
    const remote = JSON.parse(r.stdout) as { seq: number; kind: string; fleet?: string }[];
    const local = JSON.parse(
      server.cli('ledger', 'log', '--limit', '99999', '-o', 'json').stdout,
    ) as typeof remote;
    expect(remote.length).toBeGreaterThan(0);
    expect(local.slice(0, remote.length)).toEqual(remote.slice(0, local.length));
    r = there('ledger', 'log', '--fleet', 'hello', '--kind', 'deploy', '-o', 'json');
    expect((JSON.parse(r.stdout) as typeof remote).map((e) => e.kind)).toEqual(['deploy']);

    // Verified here: against the key the server sent (said so), or one the auditor holds.
    r = there('ledger', 'verify');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ok: \d+ entries/);
    expect(r.stderr).toContain('note: checked against the verifier key');
    r = there('ledger', 'verify', '--vkey', heldKey);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('note:');
    // A key the log was not signed with: the client, not the server, says no.
    const [origin] = readFileSync(heldKey, 'utf8').trim().split('+');
    const otherKey = join(elsewhere, 'other.vkey');
    writeFileSync(otherKey, encodeVkey(origin!, generateKeyPairSync('ed25519').publicKey));
    r = there('ledger', 'verify', '--vkey', otherKey);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^FAILED \(E_LEDGER_/);

    // An inclusion proof made here from the entries, against the signed checkpoint.
    r = there('ledger', 'prove', '0', '--vkey', heldKey, '-o', 'json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ entry: { seq: 0 }, verified: true });

    // What ran now: hello's two instances, each start proven.
    r = there('what-ran', '--at', new Date().toISOString(), '--fleet', 'hello', '-o', 'json');
    expect(r.code, r.stderr).toBe(0);
    const ran = JSON.parse(r.stdout) as { proofs: { verified: boolean }[] }[];
    expect(ran).toHaveLength(2);
    for (const one of ran) expect(one.proofs.map((p) => p.verified)).toContain(true);

    // An export written from elsewhere verifies offline, with nothing but the two files.
    const out = join(elsewhere, 'ledger.jsonl');
    expect(there('ledger', 'export', '--out', out).code).toBe(0);
    r = ingot(['ledger', 'verify', '--export', out, '--vkey', heldKey], { cwd: elsewhere });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ok: /);
  }, 300_000);

  it('opens a break-glass session from elsewhere, through the server, only as recorded', async () => {
    const { elsewhere, env, port, tokenFile } = withHello('operator');
    const healthy = () =>
      (server.fleet('hello')?.instances ?? [])
        .filter((i) => i.state === 'healthy')
        .map((i) => i.id);
    const ids = healthy();
    expect(ids.length).toBeGreaterThanOrEqual(2);
    const [first, second] = ids as [string, string];

    // No runtime here runs it: the session is the instance's host's, through the server.
    let r = ingot(
      [
        'debug',
        first,
        '--reason',
        'read the page',
        '--',
        '/bin/busybox',
        'cat',
        '/srv/www/index.html',
      ],
      { cwd: elsewhere, env },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('<');
    expect(r.stderr).toContain(`${first} is tainted`);
    // The command's own status, and its stderr apart from its stdout.
    r = ingot(
      [
        'debug',
        second,
        '--reason',
        'fail',
        '--',
        '/bin/busybox',
        'sh',
        '-c',
        'echo oops >&2; exit 3',
      ],
      { cwd: elsewhere, env },
    );
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('oops');
    expect(r.stdout).not.toContain('oops');
    const history = server.cli('history', 'hello').stdout;
    expect(history).toMatch(new RegExp(`break-glass-open +${first} by \\S+.*: read the page`));
    expect(history).toMatch(new RegExp(`break-glass-close +${second}`));

    // A session nobody recorded is refused: no opening, or one for another command.
    const token = readFileSync(tokenFile, 'utf8').trim();
    const third = healthy().find((id) => id !== first && id !== second);
    expect(await sessionRefusal(port, token, third ?? first, ['/bin/sh'])).toMatchObject({
      status: 409,
      code: 'E_DEBUG_NOT_OPEN',
    });
    expect(await sessionRefusal(port, 'f'.repeat(64), first, ['/bin/sh'])).toMatchObject({
      status: 401,
      code: 'E_UNAUTHORIZED',
    });
  }, 300_000);
});

/** What the server answers a session request that it refuses (the session's own is a bug). */
function sessionRefusal(
  port: number,
  token: string,
  id: string,
  command: string[],
): Promise<{ status: number; code?: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path: `/v1/instances/${id}/debug/session?command=${encodeURIComponent(JSON.stringify(command))}`,
      headers: {
        authorization: `Bearer ${token}`,
        connection: 'Upgrade',
        upgrade: 'ingot-session',
      },
    });
    req.on('upgrade', (_res, socket: Socket) => {
      socket.destroy();
      reject(new Error(`a session opened on ${id} without a record`));
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          code: (JSON.parse(body) as { error?: { code?: string } }).error?.code,
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}
