import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import {
  enableEtcdAuth,
  ETCD,
  etcdHealthy,
  etcdMemberArgs,
  requireEtcd,
  runEtcdctl,
} from '../engines/etcd.js';
import { freePorts } from '../engines/ports.js';
import {
  initPostgres,
  postgresCommand,
  postgresRunAs,
  waitPostgresReady,
} from '../engines/postgres.js';
import { probeRegistry, registryConfig } from '../engines/registry.js';
import { launch, running, tail, waitFor } from './processes.js';
import type { ClusterState, StateFolder } from './state.js';

/**
 * The engines of the local cluster, started detached with their data in the state folder:
 * three etcd members (auth on) and a registry on the bed's gateway, where the hosts reach
 * them; PostgreSQL on loopback, for the servers alone. Each is recorded in the state as soon
 * as it is started, so that `down` stops it whatever happens next.
 */

/** Three members on `host`, auth on; writes the root credentials file (0600). */
export async function startEtcd(
  folder: StateFolder,
  state: ClusterState,
  host: string,
): Promise<void> {
  requireEtcd();
  const ports = await freePorts(6, host);
  const members = [1, 2, 3].map((i) => ({
    name: `e${i}`,
    dataDir: folder.path('etcd', `e${i}`),
    clientUrl: `http://${host}:${ports[2 * i - 2]}`,
    peerUrl: `http://${host}:${ports[2 * i - 1]}`,
  }));
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  const token = randomBytes(8).toString('hex');
  mkdirSync(folder.path('etcd'), { mode: 0o700 });
  const endpoints = members.map((m) => m.clientUrl);
  state.etcd = { endpoints, members: [], credentialsFile: null };
  for (const m of members) {
    const log = folder.path('logs', `etcd-${m.name}.log`);
    const args = etcdMemberArgs(m, { initialCluster, token }, null);
    state.etcd.members.push({
      name: m.name,
      ...launch([ETCD, ...args], { cwd: folder.path('etcd'), env: process.env, log }),
    });
    folder.save(state);
  }
  for (const [i, m] of members.entries())
    await waitFor(
      `etcd member ${m.name} to serve at ${m.clientUrl}`,
      async () => {
        const p = state.etcd!.members[i]!;
        if (!running(p)) throw new Error(`etcd member ${m.name} exited:\n${tail(p.log)}`);
        return etcdHealthy(m.clientUrl, null);
      },
      30_000,
    );
  const password = await enableEtcdAuth((args) =>
    runEtcdctl(endpoints, { tls: null, rootPassword: null }, args),
  );
  const credentialsFile = folder.path('etcd-root');
  writeFileSync(credentialsFile, `root:${password}\n`, { mode: 0o600 });
  state.etcd.credentialsFile = credentialsFile;
  folder.save(state);
}

/**
 * PostgreSQL 15 on 127.0.0.1 as Debian's postgres user, with a database `ingot` owned by a
 * role `ingot`. Its password goes to the servers in PGPASSWORD (their environment is theirs
 * alone; a command line is anyone's to read in ps): the file `postgres-password`, 0600.
 */
export async function startPostgres(folder: StateFolder, state: ClusterState): Promise<void> {
  // The server outlives `up`: no parent-death signal.
  const runAs = postgresRunAs({ dieWithParent: false });
  const dir = folder.path('postgres');
  mkdirSync(dir, { mode: 0o700 });
  if (runAs.owner) chownSync(dir, runAs.owner.uid, runAs.owner.gid);
  const superPassword = randomBytes(24).toString('base64url');
  initPostgres(dir, superPassword, runAs);
  const [port] = await freePorts(1);
  const log = folder.path('logs', 'postgres.log');
  state.postgres = {
    dir,
    database: null,
    ...launch(postgresCommand(dir, port!, runAs), { cwd: dir, env: process.env, log }),
  };
  folder.save(state);
  const p = state.postgres;
  const superUrl = `postgres://postgres:${superPassword}@127.0.0.1:${port}/postgres`;
  await waitPostgresReady(
    superUrl,
    () => (running(p) ? null : 'exited'),
    () => tail(log),
  );
  const password = randomBytes(24).toString('base64url');
  const admin = new pg.Client({ connectionString: superUrl });
  await admin.connect();
  try {
    await admin.query(`create role ingot login password ${pg.escapeLiteral(password)}`);
    await admin.query('create database ingot owner ingot');
  } finally {
    await admin.end();
  }
  writeFileSync(folder.path('postgres-password'), `${password}\n`, { mode: 0o600 });
  p.database = `postgres://ingot@127.0.0.1:${port}/ingot`;
  folder.save(state);
}

/** A docker-registry on `host` (plain HTTP: the servers and hosts are told it is insecure). */
export async function startRegistry(
  folder: StateFolder,
  state: ClusterState,
  host: string,
): Promise<void> {
  const [port] = await freePorts(1, host);
  const dir = folder.path('registry');
  mkdirSync(folder.path('registry', 'data'), { recursive: true, mode: 0o700 });
  const config = folder.path('registry', 'config.yml');
  writeFileSync(
    config,
    registryConfig({ storage: folder.path('registry', 'data'), addr: `${host}:${port}` }),
    {
      mode: 0o600,
    },
  );
  const log = folder.path('logs', 'registry.log');
  state.registry = {
    authority: `${host}:${port}`,
    ...launch(['docker-registry', 'serve', config], { cwd: dir, env: process.env, log }),
  };
  folder.save(state);
  const r = state.registry;
  await waitFor(
    `the registry to answer at ${r.authority}`,
    async () => {
      if (!running(r)) throw new Error(`docker-registry exited:\n${tail(log)}`);
      return (await probeRegistry(host, port!, null)) === 200;
    },
    20_000,
  );
}
