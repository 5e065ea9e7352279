import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../scripts/engines/ports.js';
import { probeRegistry, registryConfig } from '../../scripts/engines/registry.js';
import { requireTool, run } from './tools.js';

export { freePort } from '../../scripts/engines/ports.js';

/** A real CNCF Distribution registry (Debian's docker-registry) on 127.0.0.1, for one test file. */
export interface TestRegistry {
  /** `127.0.0.1:PORT`, as references name it. */
  readonly authority: string;
  readonly tls: boolean;
  /** Set when the registry wants htpasswd credentials. */
  readonly credentials: { readonly username: string; readonly password: string } | null;
  /** PEM of the CA that signed the registry's certificate (TLS only), and its file. */
  readonly caPem: string | null;
  readonly caFile: string | null;
  /** The registry's own log (for failure messages). */
  readonly log: () => string;
  /**
   * Where the registry keeps a blob's bytes: tests overwrite it to make a real registry serve
   * content that does not match its digest.
   */
  readonly blobFile: (digest: string) => string;
  stop(): Promise<void>;
}

export interface RegistryOptions {
  /** Serve https with a certificate from a CA made for this registry alone. */
  readonly tls?: boolean;
  /** Require htpasswd (bcrypt) basic auth with these credentials. */
  readonly auth?: { readonly username: string; readonly password: string };
  /** The IPv4 address to listen on (default 127.0.0.1; plain HTTP only otherwise). */
  readonly host?: string;
}

/** A CA and a server certificate for 127.0.0.1 and localhost, made with openssl. */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const ca = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  const key = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const cert = join(dir, 'server.pem');
  const ext = join(dir, 'server.ext');
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
    '/CN=ingot test CA',
  ]);
  run('openssl', ['req', '-new', ...ec, '-keyout', key, '-out', csr, '-subj', '/CN=127.0.0.1']);
  writeFileSync(
    ext,
    'subjectAltName = IP:127.0.0.1, DNS:localhost\nextendedKeyUsage = serverAuth\n',
  );
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
    ext,
  ]);
  return { ca, cert, key };
}

/**
 * Start `docker-registry serve` on a free loopback port with its storage in a temp folder.
 * A missing binary fails the test with the fix (./scripts/setup installs it); nothing is
 * skipped.
 */
export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  requireTool('docker-registry');
  const host = options.host ?? '127.0.0.1';
  if (options.tls && host !== '127.0.0.1')
    throw new Error('a TLS test registry serves 127.0.0.1 only');
  if (options.auth) requireTool('htpasswd');
  if (options.tls) requireTool('openssl');
  const dir = mkdtempSync(join(tmpdir(), 'ingot-registry-'));
  let child: ChildProcess | null = null;
  try {
    const port = await freePort();
    const tls = options.tls ? makeCertificates(dir) : null;
    let htpasswd: string | undefined;
    if (options.auth) {
      htpasswd = join(dir, 'htpasswd');
      writeFileSync(
        htpasswd,
        run('htpasswd', ['-Bbn', options.auth.username, options.auth.password]),
      );
    }
    const text = registryConfig({
      storage: join(dir, 'data'),
      addr: `${host}:${port}`,
      ...(tls && { tls }),
      ...(htpasswd !== undefined && { htpasswd }),
    });
    const config = join(dir, 'config.yml');
    writeFileSync(config, text);
    mkdirSync(join(dir, 'data'));
    const logPath = join(dir, 'registry.log');
    const logFd = openSync(logPath, 'a');
    // A file, not a pipe: nobody reads a pipe while the tests run, and a full one would stall it.
    child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', logFd, logFd] });
    closeSync(logFd);
    const started = child;
    const state: { exited: string | null } = { exited: null };
    started.on('exit', (code, signal) => (state.exited = `exited (${code ?? signal})`));
    const log = () => readFileSync(logPath, 'utf8');
    const caPem = tls ? readFileSync(tls.ca, 'utf8') : null;
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (state.exited !== null) throw new Error(`docker-registry ${state.exited}:\n${log()}`);
      const status = await probeRegistry(host, port, caPem);
      if (status === 200 || status === 401) break;
      if (Date.now() > deadline)
        throw new Error(`docker-registry did not answer /v2/ within 15 s:\n${log()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return {
      authority: `${host}:${port}`,
      tls: tls !== null,
      credentials: options.auth ?? null,
      caPem,
      caFile: tls?.ca ?? null,
      log,
      blobFile: (digest) => {
        const hex = digest.replace(/^sha256:/, '');
        return join(
          dir,
          'data',
          'docker',
          'registry',
          'v2',
          'blobs',
          'sha256',
          hex.slice(0, 2),
          hex,
          'data',
        );
      },
      stop: async () => {
        await stopChild(started);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    if (child) await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await gone;
  clearTimeout(timer);
}

/**
 * An unsigned image made by umoci (one file, /hello.txt) and pushed by skopeo to `dest`
 * (`HOST:PORT/REPO:TAG`, plain HTTP): what a registry holds that Ingot never built.
 */
export function pushUmociImage(workDir: string, dest: string): void {
  requireTool('umoci');
  requireTool('skopeo');
  const dir = mkdtempSync(join(workDir, 'umoci-'));
  const layout = join(dir, 'layout');
  run('umoci', ['init', '--layout', layout]);
  run('umoci', ['new', '--image', `${layout}:v1`]);
  run('umoci', ['unpack', '--rootless', '--image', `${layout}:v1`, join(dir, 'bundle')]);
  writeFileSync(join(dir, 'bundle', 'rootfs', 'hello.txt'), 'from umoci\n');
  run('umoci', ['repack', '--image', `${layout}:v1`, join(dir, 'bundle')]);
  run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${dest}`]);
}
