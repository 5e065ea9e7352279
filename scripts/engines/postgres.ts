import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';

/**
 * How to run a PostgreSQL 15 of one's own from Debian's binaries (never the packaged 15/main
 * cluster), shared by the tests' throwaway servers (test/helpers/postgres.ts) and the local
 * cluster (scripts/local-cluster): as whom, initdb, the server's command line, and waiting
 * until it takes a login.
 */

/** Debian's PostgreSQL 15 server binaries (package postgresql-15). */
export const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';

/** How the server's programs are run, and as whom (null: as we are, not being root). */
export interface RunAs {
  /** The command line's prefix. */
  readonly prefix: readonly string[];
  readonly owner: { readonly uid: number; readonly gid: number } | null;
}

/**
 * What runs initdb and postgres, or a failure with what is missing and how to get it (never a
 * skip). `dieWithParent`: the kernel sends the server SIGQUIT (immediate shutdown) when the
 * process that started it dies, so that a test killed mid-way leaves no server behind; a
 * server that must outlive its starter (the local cluster's) goes without.
 */
export function postgresRunAs(options: { readonly dieWithParent: boolean }): RunAs {
  const missing = ['initdb', 'postgres'].filter((b) => !existsSync(join(POSTGRES_BIN, b)));
  if (missing.length > 0)
    throw new Error(
      `PostgreSQL 15 is not installed: ${missing.map((b) => join(POSTGRES_BIN, b)).join(', ')} missing. Run ./scripts/setup (it installs the Debian package postgresql-15)`,
    );
  if (!existsSync('/usr/bin/setpriv'))
    throw new Error('setpriv is missing: run ./scripts/setup (Debian package util-linux)');
  // setpriv execs (no fork, unlike runuser), so the child's pid is the postmaster's.
  const setpriv = [
    '/usr/bin/setpriv',
    ...(options.dieWithParent ? ['--pdeathsig', 'SIGQUIT'] : []),
  ];
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

/** initdb into DIR/data: UTF-8, no locale, SCRAM passwords for TCP and the socket alike. */
export function initPostgres(dir: string, superPassword: string, runAs: RunAs): void {
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

/**
 * The server's command line for the cluster in DIR/data, its socket in DIR: listening on
 * 127.0.0.1:`port`, with `more` settings (`-c KEY=VALUE`).
 */
export function postgresCommand(
  dir: string,
  port: number,
  runAs: RunAs,
  more: Readonly<Record<string, string>> = {},
): string[] {
  const settings = {
    listen_addresses: '127.0.0.1',
    port: String(port),
    unix_socket_directories: dir,
    max_connections: '40',
    shared_buffers: '32MB',
    ...more,
  };
  return [
    ...runAs.prefix,
    join(POSTGRES_BIN, 'postgres'),
    '-D',
    join(dir, 'data'),
    ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
  ];
}

/** The settings that trade durability for speed (throwaway servers). */
export const FAST_SETTINGS = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' };

/**
 * Until the server takes a password login at `url`, or `exited()` says how it ended, or 30 s
 * pass; `log()` for the message.
 */
export async function waitPostgresReady(
  url: string,
  exited: () => string | null,
  log: () => string,
): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const how = exited();
    if (how !== null) throw new Error(`postgres ${how}:\n${log()}`);
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
