import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chownSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../../scripts/engines/ports.js';
import {
  FAST_SETTINGS,
  initPostgres,
  postgresCommand,
  postgresRunAs,
  waitPostgresReady,
} from '../../scripts/engines/postgres.js';

export { POSTGRES_BIN } from '../../scripts/engines/postgres.js';

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

/** Start a fresh cluster; everything it made is removed again if starting fails. */
export async function startPostgres(options: PostgresOptions = {}): Promise<TestPostgres> {
  // If the test process dies without stopping it (SIGKILL, a crash), the kernel takes the
  // server down with it (SIGQUIT: immediate shutdown) instead of leaving it running.
  const runAs = postgresRunAs({ dieWithParent: true });
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
    initPostgres(dir, superPassword, runAs);
    const port = await freePort();
    const logFd = openSync(logPath, 'a');
    const [cmd, ...args] = postgresCommand(dir, port, runAs, options.fast ? FAST_SETTINGS : {});
    // A file, not a pipe: nobody reads a pipe while the tests run, and a full one would stall it.
    child = spawn(cmd!, args, { cwd: dir, stdio: ['ignore', logFd, logFd] });
    closeSync(logFd);
    process.once('exit', onExit);
    const superUrl = `postgres://postgres:${superPassword}@127.0.0.1:${port}/postgres`;
    const exited: { how: string | null } = { how: null };
    child.once('exit', (code, signal) => (exited.how = `exited (${code ?? signal})`));
    await waitPostgresReady(superUrl, () => exited.how, log);
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
