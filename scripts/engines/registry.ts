import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/**
 * How to run a CNCF Distribution registry (Debian's docker-registry), shared by the tests'
 * throwaway registries (test/helpers/registry.ts) and the local cluster's
 * (scripts/local-cluster): its configuration, and whether it answers.
 */

export interface RegistryConfig {
  /** Where it keeps blobs and manifests. */
  readonly storage: string;
  /** `HOST:PORT` it listens on. */
  readonly addr: string;
  readonly tls?: { readonly cert: string; readonly key: string };
  /** An htpasswd (bcrypt) file: basic auth required. */
  readonly htpasswd?: string;
}

/** `docker-registry serve`'s YAML: filesystem storage, deletes on, no access log. */
export function registryConfig(c: RegistryConfig): string {
  const lines = [
    'version: 0.1',
    'log:',
    '  level: info',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${c.storage}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${c.addr}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
  ];
  if (c.tls) lines.push('  tls:', `    certificate: ${c.tls.cert}`, `    key: ${c.tls.key}`);
  if (c.htpasswd !== undefined)
    lines.push('auth:', '  htpasswd:', '    realm: ingot-test', `    path: ${c.htpasswd}`);
  return lines.join('\n') + '\n';
}

/** GET /v2/: the status, or 0 while nothing listens yet. */
export function probeRegistry(host: string, port: number, ca: string | null): Promise<number> {
  return new Promise((resolve) => {
    const req = (ca ? httpsRequest : httpRequest)(
      { host, port, path: '/v2/', method: 'GET', ...(ca && { ca }) },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', () => resolve(0));
    req.setTimeout(2_000, () => req.destroy());
    req.end();
  });
}
