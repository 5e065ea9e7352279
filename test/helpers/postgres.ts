import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chownSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './registry.js';

/** Debian's PostgreSQL 15 server binaries (package postgresql-15). */
export const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';

/**
 * A throwaway PostgreSQL 15 for one test file: its own cluster in a temp folder, on a free
 * port of 127.0.0.1 (and a unix socket in that folder), with password (SCRAM-SHA-256)
 * authentication for everyone. Tests connect as `role`, an ordinary role that owns the
 * databases it is given (not a superuser: what the migrations need must work without one).
 * Debian's packaged cluster (15/main) is never used or started.
 */
export interface TestPostgres {
  readonly port: number;
  /** The folder of the unix socket (`host=` for libpq). */
  readonly socketDir: string;
  readonly role: string;
  readonly password: string;
  /** `postgres://role:password@127.0.0.1:port/database`. */
  url(database: string): string;
  /** A new, empty database owned by `role`; returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** The server's log (for failure messages). */
  log(): string;
  /** Stop the server (fast shutdown) and remove its folder; stopping again does nothing. */
  stop(): Promise<void>;
}

export interface PostgresOptions {
  /**
   * Trade durability for speed (fsync, synchronous_commit and full_page_writes off). Off by
   * default: timings then compare with SQLite at synchronous=FULL on equal terms.
   */
  readonly fast?: boolean;
}

/** How the server's programs are run, and as whom (null: as we are, not being root). */
interface RunAs {
  /** The command line's prefix. */
  readonly prefix: readonly string[];
  readonly owner: { readonly uid: number; readonly gid: number } | null;
}

/** Fail with what is missing and how to get it: a test never skips for lack of PostgreSQL. */
function requirePostgres(): RunAs {
  const missing = ['initdb', 'postgres'].filter((b) => !existsSync(join(POSTGRES_BIN, b)));
  if (missing.length > 0)
    throw new Error(
      `PostgreSQL 15 is not installed: ${missing.map((b) => join(POSTGRES_BIN, b)).join(', ')} missing. Run ./scripts/setup (it installs the Debian package postgresql-15)`,
    );
  if (!existsSync('/usr/bin/setpriv'))
    throw new Error('setpriv is missing: run ./scripts/setup (Debian package util-linux)');
  // setpriv execs (no fork, unlike runuser), so the child's pid is the postmaster's; and if
  // the test process dies without stopping it (SIGKILL, a crash), the kernel sends the server
  // SIGQUIT (immediate shutdown) instead of leaving it running.
  const setpriv = ['/usr/bin/setpriv', '--pdeathsig', 'SIGQUIT'];
  if (process.getuid?.() !== 0) return { prefix: setpriv, owner: null };
  // initdb and postgres refuse to run as root: they run as Debian's `postgres` user.
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const [uid, gid] = [id('-u'), id('-g')];
  if (uid.status !== 0 || gid.status !== 0)
    throw new Error(
      'PostgreSQL must run as a user other than root, and this machine has no `postgres` user: run ./scripts/setup (the postgresql-15 package creates it)',
    );
  return {
    prefix: [...setpriv, '--reuid=postgres', '--regid=postgres', '--init-groups'],
    owner: { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) },
  };
}

/** Start a fresh cluster; everything it made is removed again if starting fails. */
export async function startPostgres(options: PostgresOptions = {}): Promise<TestPostgres> {
  const runAs = requirePostgres();
  const dir = mkdtempSync(join(tmpdir(), 'ingot-pg-'));
  let child: ChildProcess | null = null;
  let admin: pg.Pool | null = null;
  const logPath = join(dir, 'postgres.log');
  const log = () => (existsSync(logPath) ? readFileSync(logPath, 'utf8') : '');
  const cleanUp = async () => {
    await admin?.end().catch(() => undefined);
    if (child) await stopServer(child);
    rmSync(dir, { recursive: true, force: true });
  };
  const onExit = () => {
    // The test process is going away without stop(): take the server down with it.
    child?.kill('SIGQUIT');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (runAs.owner) chownSync(dir, runAs.owner.uid, runAs.owner.gid);
    const superPassword = randomBytes(24).toString('base64url');
    const password = randomBytes(24).toString('base64url');
    initCluster(dir, superPassword, runAs);
    const port = await freePort();
    const logFd = openSync(logPath, 'a');
    const settings = {
      listen_addresses: '127.0.0.1',
      port: String(port),
      unix_socket_directories: dir,
      max_connections: '40',
      shared_buffers: '32MB',
      ...(options.fast && { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' }),
    };
    const [cmd, ...args] = [
      ...runAs.prefix,
      join(POSTGRES_BIN, 'postgres'),
      '-D',
      join(dir, 'data'),
      ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    ];
    // A file, not a pipe: nobody reads a pipe while the tests run, and a full one would stall it.
    child = spawn(cmd!, args, { cwd: dir, stdio: ['ignore', logFd, logFd] });
    closeSync(logFd);
    process.once('exit', onExit);
    const superUrl = `postgres://postgres:${superPassword}@127.0.0.1:${port}/postgres`;
    await waitReady(child, superUrl, log);
    admin = new pg.Pool({ connectionString: superUrl, max: 2 });
    // Its idle connections hear the shutdown as an error: expected, not a crash.
    admin.on('error', () => undefined);
    const role = 'ingot_test';
    await admin.query(
      `create role ${role} login password ${pg.escapeLiteral(password)} connection limit 30`,
    );
    const url = (database: string) =>
      `postgres://${role}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
    let made = 0;
    let stopping: Promise<void> | null = null;
    const pool = admin;
    return {
      port,
      socketDir: dir,
      role,
      password,
      url,
      createDatabase: async (name = `t${++made}_${randomBytes(3).toString('hex')}`) => {
        await pool.query(`create database ${pg.escapeIdentifier(name)} owner ${role}`);
        return url(name);
      },
      log,
      stop: () => {
        stopping ??= cleanUp().finally(() => process.off('exit', onExit));
        return stopping;
      },
    };
  } catch (err) {
    const said = log();
    await cleanUp();
    process.off('exit', onExit);
    if (err instanceof Error && said) err.message += `\n--- postgres log ---\n${said}`;
    throw err;
  }
}

/** initdb into DIR/data: UTF-8, no locale, SCRAM passwords for TCP and the socket alike. */
function initCluster(dir: string, superPassword: string, runAs: RunAs): void {
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, `${superPassword}\n`, { mode: 0o600 });
  if (runAs.owner) chownSync(pwfile, runAs.owner.uid, runAs.owner.gid);
  const [cmd, ...args] = [
    ...runAs.prefix,
    join(POSTGRES_BIN, 'initdb'),
    '-D',
    join(dir, 'data'),
    '-U',
    'postgres',
    `--pwfile=${pwfile}`,
    '--auth=scram-sha-256',
    '--encoding=UTF8',
    '--no-locale',
    '--no-instructions',
  ];
  const r = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8' });
  rmSync(pwfile, { force: true });
  if (r.status !== 0)
    throw new Error(`initdb failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`);
}

/** Until the server takes a password login, or it exits, or 30 s pass. */
async function waitReady(child: ChildProcess, url: string, log: () => string): Promise<void> {
  const exited: { how: string | null } = { how: null };
  child.once('exit', (code, signal) => (exited.how = `exited (${code ?? signal})`));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited.how !== null) throw new Error(`postgres ${exited.how}:\n${log()}`);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    try {
      await client.connect();
      await client.end();
      return;
    } catch {
      await client.end().catch(() => undefined);
    }
    if (Date.now() > deadline) throw new Error(`postgres did not accept a login within 30 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** SIGINT is PostgreSQL's fast shutdown (roll back sessions, checkpoint, exit). */
async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT');
  // Then immediate shutdown, then the hard way.
  const quit = setTimeout(() => child.kill('SIGQUIT'), 10_000);
  const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await gone;
  clearTimeout(quit);
  clearTimeout(kill);
}
