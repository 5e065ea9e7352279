import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  enableEtcdAuth,
  ETCD,
  etcdHealthy,
  etcdMemberArgs,
  requireEtcd,
  runEtcdctl,
} from '../../scripts/engines/etcd.js';
import { freePorts } from '../../scripts/engines/ports.js';
import type { CoordinationOptions } from '../../src/ports/coordination.js';
import { run } from './tools.js';

/** A real etcd cluster (Debian's etcd-server 3.4) on 127.0.0.1, for one test file. */
export interface EtcdCluster {
  /** The temp folder of all members' data, logs and certificates. */
  readonly dir: string;
  /** Every member's client URL (`http(s)://127.0.0.1:PORT`), as clients are given them. */
  readonly endpoints: readonly string[];
  /** PEM of the CA that signed the members' certificate and the client's (TLS only). */
  readonly tls: { readonly ca: Buffer; readonly cert: Buffer; readonly key: Buffer } | null;
  /** The root user's password once auth is on (null: auth is off). */
  readonly rootPassword: string | null;
  /** How a client reaches every member: endpoints, TLS material, and these credentials. */
  clientOptions(
    auth?: { readonly username: string; readonly password: string },
    timeoutMs?: number,
  ): CoordinationOptions;
  /** The root user's credentials (auth on only). */
  readonly root: { readonly username: 'root'; readonly password: string } | null;
  /** The member's client URL. */
  endpoint(member: number): string;
  /** The index of the member that is etcd's Raft leader now (etcdctl endpoint status). */
  raftLeader(): Promise<number>;
  /** Is the member's process running? */
  running(member: number): boolean;
  /**
   * Stop one member (0-based) and wait until its process is gone: SIGKILL (a crash) unless
   * SIGTERM is asked for (a clean shutdown, as an operator's restart; SIGKILL after 5 s).
   */
  kill(member: number, signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** Start a stopped member again from its data folder and wait until it serves. */
  restart(member: number): Promise<void>;
  /** Run etcdctl against the running members as root (when auth is on); its stdout. */
  etcdctl(args: readonly string[], timeoutMs?: number): Promise<string>;
  /** A member's own log, for failure messages. */
  log(member: number): string;
  /** Every member stopped (SIGKILL if SIGTERM is not enough) and every folder removed. */
  stop(): Promise<void>;
}

export interface EtcdClusterOptions {
  /** Members; 3 unless said. */
  readonly members?: number;
  /** Serve clients over TLS with client certificates required (peers stay on plain loopback). */
  readonly tls?: boolean;
  /** Make a root user (random password) and turn etcd's auth on. */
  readonly auth?: boolean;
  /** The IPv4 address clients reach the members at (default 127.0.0.1; plain HTTP only otherwise). */
  readonly clientHost?: string;
}

/** Folders of clusters this process started and has not removed yet. */
const liveDirs = new Set<string>();
/** Children of this process that may still run: killed on exit whatever happens to the tests. */
const liveChildren = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * etcd processes (anyone's) whose data folder lies in a folder this process made and has not
 * removed yet, or under `dir`: a test that cleaned up finds none.
 */
export function etcdProcessesLeft(dir?: string): number[] {
  const folders = dir === undefined ? [...liveDirs] : [dir];
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const args = cmdline.split('\0');
    if (args[0] !== ETCD) continue;
    const data = args.find((a) => a.startsWith('--data-dir='))?.slice('--data-dir='.length);
    if (data !== undefined && folders.some((f) => data.startsWith(f + '/')))
      found.push(Number(entry));
  }
  return found;
}

/** Folders of clusters started by this process and not yet removed. */
export function etcdFoldersLeft(): string[] {
  return [...liveDirs].filter((d) => existsSync(d));
}

interface Member {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  readonly logPath: string;
  child: ChildProcess | null;
}

/**
 * Start an etcd cluster of three members (by default) on free loopback ports, each with its
 * own data folder in one temp folder, and wait until every member serves. A missing etcd
 * fails the test with the fix; nothing is skipped. On any failure everything started so far
 * is stopped and removed.
 */
export async function startEtcdCluster(options: EtcdClusterOptions = {}): Promise<EtcdCluster> {
  requireEtcd();
  // A port found free can be taken before etcd binds it (by another test file's member):
  // then start again on other ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (err) {
      if (attempt >= 3 || !String(err).includes('address already in use')) throw err;
    }
  }
}

async function startOnce(options: EtcdClusterOptions): Promise<EtcdCluster> {
  const count = options.members ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'ingot-etcd-'));
  liveDirs.add(dir);
  const members: Member[] = [];
  const cluster = {
    dir,
    members,
    tls: options.tls ? makeCertificates(dir) : null,
    // One token for the whole cluster: members with different tokens refuse each other.
    token: randomBytes(8).toString('hex'),
    rootPassword: null as string | null,
  };
  try {
    const scheme = cluster.tls ? 'https' : 'http';
    const ports = await freePorts(count * 2);
    for (let i = 0; i < count; i++) {
      const name = `e${i + 1}`;
      members.push({
        name,
        clientUrl: `${scheme}://${options.clientHost ?? '127.0.0.1'}:${ports[2 * i]}`,
        peerUrl: `http://127.0.0.1:${ports[2 * i + 1]}`,
        dataDir: join(dir, name),
        logPath: join(dir, `${name}.log`),
        child: null,
      });
    }
    const initial = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
    for (const m of members) launch(cluster, m, initial);
    await Promise.all(members.map((m) => waitServing(cluster, m, 20_000)));
    if (options.auth) cluster.rootPassword = await enableAuth(cluster);
    return view(cluster);
  } catch (err) {
    await removeCluster(cluster);
    throw err;
  }
}

interface ClusterState {
  readonly dir: string;
  readonly members: Member[];
  readonly tls: Certificates | null;
  readonly token: string;
  rootPassword: string | null;
}

function view(cluster: ClusterState): EtcdCluster {
  const member = (i: number): Member => {
    const m = cluster.members[i];
    if (!m) throw new Error(`no etcd member ${i}`);
    return m;
  };
  const endpoints = cluster.members.map((m) => m.clientUrl);
  const tls = cluster.tls && {
    ca: readFileSync(cluster.tls.ca),
    cert: readFileSync(cluster.tls.clientCert),
    key: readFileSync(cluster.tls.clientKey),
  };
  return {
    dir: cluster.dir,
    endpoints,
    tls,
    rootPassword: cluster.rootPassword,
    root:
      cluster.rootPassword === null ? null : { username: 'root', password: cluster.rootPassword },
    clientOptions: (auth, timeoutMs) => ({
      endpoints,
      ...(tls && { tls }),
      ...(auth && { auth }),
      ...(timeoutMs !== undefined && { timeoutMs }),
    }),
    raftLeader: async () => {
      // One line per member: endpoint, id, version, db size, is leader, is learner, …
      const out = await etcdctl(cluster, ['endpoint', 'status', '-w', 'simple']);
      for (const line of out.trim().split('\n')) {
        const [endpoint, , , , isLeader] = line.split(', ');
        const index = cluster.members.findIndex((m) => m.clientUrl === endpoint);
        if (isLeader === 'true' && index >= 0) return index;
      }
      throw new Error(`no etcd member says it leads:\n${out}`);
    },
    endpoint: (i) => member(i).clientUrl,
    running: (i) => member(i).child !== null,
    kill: async (i, signal = 'SIGKILL') => {
      const m = member(i);
      if (m.child) await stopChild(m.child, signal);
      m.child = null;
    },
    restart: async (i) => {
      const m = member(i);
      if (m.child) throw new Error(`etcd member ${m.name} is running`);
      launch(cluster, m, null);
      await waitServing(cluster, m, 20_000);
    },
    etcdctl: (args, timeoutMs) => etcdctl(cluster, args, timeoutMs),
    log: (i) => readLog(member(i)),
    stop: () => removeCluster(cluster),
  };
}

function launch(cluster: ClusterState, m: Member, initialCluster: string | null): void {
  const args = etcdMemberArgs(m, { initialCluster, token: cluster.token }, cluster.tls);
  const logFd = openSync(m.logPath, 'a');
  // A file, not a pipe: nobody reads a pipe while the tests run, and a full one would stall etcd.
  const child = spawn(ETCD, args, { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  liveChildren.add(child);
  child.once('exit', () => {
    liveChildren.delete(child);
    if (m.child === child) m.child = null;
  });
  m.child = child;
}

function readLog(m: Member): string {
  try {
    return readFileSync(m.logPath, 'utf8').split('\n').slice(-40).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Until the member answers /health with {"health":"true"} (it has a leader and a quorum). */
async function waitServing(cluster: ClusterState, m: Member, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (m.child === null)
      throw new Error(`etcd member ${m.name} exited while starting:\n${readLog(m)}`);
    if (await healthy(cluster, m)) return;
    if (Date.now() > deadline)
      throw new Error(`etcd member ${m.name} did not serve within ${timeoutMs} ms:\n${readLog(m)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function healthy(cluster: ClusterState, m: Member): Promise<boolean> {
  const tls = cluster.tls;
  return etcdHealthy(
    m.clientUrl,
    tls && {
      ca: readFileSync(tls.ca),
      cert: readFileSync(tls.clientCert),
      key: readFileSync(tls.clientKey),
    },
  );
}

function etcdctl(
  cluster: ClusterState,
  args: readonly string[],
  timeoutMs = 10_000,
): Promise<string> {
  const running = cluster.members.filter((m) => m.child !== null).map((m) => m.clientUrl);
  return runEtcdctl(running, cluster, args, timeoutMs);
}

/** A root user with a random password, the root role, and auth turned on (etcdctl, as an operator would). */
function enableAuth(cluster: ClusterState): Promise<string> {
  return enableEtcdAuth((args) => etcdctl(cluster, args));
}

async function removeCluster(cluster: ClusterState): Promise<void> {
  await Promise.all(
    cluster.members.map(async (m) => {
      if (m.child) await stopChild(m.child, 'SIGTERM');
      m.child = null;
    }),
  );
  rmSync(cluster.dir, { recursive: true, force: true });
  liveDirs.delete(cluster.dir);
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await gone;
  clearTimeout(timer);
}

interface Certificates {
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl. */
function makeCertificates(dir: string): Certificates {
  const ca = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    caKey,
    '-out',
    ca,
    '-days',
    '2',
    '-subj',
    '/CN=ingot etcd test CA',
  ]);
  const issue = (name: string, cn: string, ext: string): { cert: string; key: string } => {
    const key = join(dir, `${name}.key`);
    const csr = join(dir, `${name}.csr`);
    const cert = join(dir, `${name}.pem`);
    const extFile = join(dir, `${name}.ext`);
    run('openssl', ['req', '-new', ...ec, '-keyout', key, '-out', csr, '-subj', `/CN=${cn}`]);
    writeFileSync(extFile, ext);
    run('openssl', [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca,
      '-CAkey',
      caKey,
      '-CAcreateserial',
      '-out',
      cert,
      '-days',
      '2',
      '-extfile',
      extFile,
    ]);
    return { cert, key };
  };
  const server = issue(
    'server',
    '127.0.0.1',
    // clientAuth too: a member dials its own client URL (the gRPC gateway behind /health and
    // the JSON API) with this certificate, and --client-cert-auth checks it as a client's.
    'subjectAltName = IP:127.0.0.1, DNS:localhost\nextendedKeyUsage = serverAuth, clientAuth\n',
  );
  // With --client-cert-auth etcd takes a certificate's CN as the user when a request carries
  // no token: this CN names no etcd user, so the certificate alone grants nothing.
  const client = issue('client', 'ingot-test-client', 'extendedKeyUsage = clientAuth\n');
  return {
    ca,
    serverCert: server.cert,
    serverKey: server.key,
    clientCert: client.cert,
    clientKey: client.key,
  };
}
