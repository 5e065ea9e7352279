import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ETCD_MAX_REQUEST_BYTES } from '../../src/core/cluster/values.js';

/**
 * How to run Debian's etcd-server 3.4 as members of a cluster, shared by the tests'
 * throwaway clusters (test/helpers/etcd.ts) and the local cluster (scripts/local-cluster):
 * the flags of a member, etcdctl, turning auth on, and whether a member serves.
 */

export const ETCD = '/usr/bin/etcd';
export const ETCDCTL = '/usr/bin/etcdctl';

/** A missing etcd is a failure with the fix, never a silent skip. */
export function requireEtcd(): void {
  if (!existsSync(ETCD) || !existsSync(ETCDCTL))
    throw new Error(
      `${ETCD} or ${ETCDCTL} is missing: run ./scripts/setup (it installs the Debian packages etcd-server and etcd-client)`,
    );
}

export interface EtcdMemberSpec {
  readonly name: string;
  readonly dataDir: string;
  /** Where clients reach it (`http(s)://HOST:PORT`): listened on and advertised. */
  readonly clientUrl: string;
  readonly peerUrl: string;
}

/** The files of a TLS member: its certificate, and the CA clients' certificates must chain to. */
export interface EtcdServerTls {
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
}

/** How etcdctl and health probes reach the members over TLS (files). */
export interface EtcdClientTlsFiles {
  readonly ca: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

/**
 * The flags of one member: of a new cluster (`initialCluster`, `NAME=PEER_URL,…`, and its
 * token), or of a member restarted from its data folder (null: it reads its cluster there).
 */
export function etcdMemberArgs(
  m: EtcdMemberSpec,
  cluster: { readonly initialCluster: string | null; readonly token: string },
  tls: EtcdServerTls | null,
): string[] {
  const args = [
    `--name=${m.name}`,
    `--data-dir=${m.dataDir}`,
    `--listen-peer-urls=${m.peerUrl}`,
    `--initial-advertise-peer-urls=${m.peerUrl}`,
    `--listen-client-urls=${m.clientUrl}`,
    `--advertise-client-urls=${m.clientUrl}`,
    // Only the metrics of the member itself; nothing else listens.
    '--listen-metrics-urls=',
    // A request (of a host: a compromised one writes its own keys) is at most this, not
    // etcd's 1.5 MiB; see ETCD_MAX_REQUEST_BYTES for what Ingot's own requests come to.
    `--max-request-bytes=${ETCD_MAX_REQUEST_BYTES}`,
    '--logger=zap',
    '--log-outputs=stderr',
  ];
  // A restarted member reads its cluster from its WAL; the flags would be ignored anyway.
  if (cluster.initialCluster !== null)
    args.push(
      `--initial-cluster=${cluster.initialCluster}`,
      '--initial-cluster-state=new',
      `--initial-cluster-token=${cluster.token}`,
    );
  if (tls)
    args.push(
      `--cert-file=${tls.serverCert}`,
      `--key-file=${tls.serverKey}`,
      `--trusted-ca-file=${tls.ca}`,
      '--client-cert-auth',
    );
  return args;
}

/** Run etcdctl (API v3) against `endpoints` (as root when a password is given); its stdout. */
export function runEtcdctl(
  endpoints: readonly string[],
  access: { readonly tls: EtcdClientTlsFiles | null; readonly rootPassword: string | null },
  args: readonly string[],
  timeoutMs = 10_000,
): Promise<string> {
  const flags = [`--endpoints=${endpoints.join(',')}`, '--dial-timeout=3s', '--command-timeout=5s'];
  if (access.tls)
    flags.push(
      `--cacert=${access.tls.ca}`,
      `--cert=${access.tls.clientCert}`,
      `--key=${access.tls.clientKey}`,
    );
  if (access.rootPassword !== null) flags.push(`--user=root:${access.rootPassword}`);
  return new Promise((resolve, reject) => {
    execFile(
      ETCDCTL,
      [...flags, ...args],
      { env: { ...process.env, ETCDCTL_API: '3' }, timeout: timeoutMs, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`etcdctl ${args.join(' ')}: ${err.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

/**
 * A root user with a random password, the root role, and auth turned on, through etcdctl as
 * an operator would (`etcdctl` runs it against the members, without credentials yet).
 */
export async function enableEtcdAuth(
  etcdctl: (args: readonly string[]) => Promise<string>,
): Promise<string> {
  const password = randomBytes(18).toString('base64url');
  await etcdctl(['user', 'add', 'root', `--new-user-password=${password}`]);
  await etcdctl(['role', 'add', 'root']);
  await etcdctl(['user', 'grant-role', 'root', 'root']);
  await etcdctl(['auth', 'enable']);
  return password;
}

/** Whether the member answers /health with {"health":"true"} (it has a leader and a quorum). */
export function etcdHealthy(
  clientUrl: string,
  tls: { readonly ca: Buffer; readonly cert: Buffer; readonly key: Buffer } | null,
): Promise<boolean> {
  return new Promise((resolve) => {
    const url = new URL('/health', clientUrl);
    const req = (tls ? httpsRequest : httpRequest)(
      url,
      { method: 'GET', ...(tls && { ca: tls.ca, cert: tls.cert, key: tls.key }) },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(res.statusCode === 200 && body.includes('"true"')));
      },
    );
    req.on('error', () => resolve(false));
    req.setTimeout(2_000, () => req.destroy());
    req.end();
  });
}
