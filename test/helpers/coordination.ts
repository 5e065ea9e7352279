import { randomBytes } from 'node:crypto';
import { openCoordinationAdmin } from '../../src/adapters/etcd/index.js';
import { hostUser, SERVER_USER } from '../../src/core/cluster/index.js';
import type { HostRegistration } from '../../src/domain/cluster.js';
import { parseDigest } from '../../src/domain/digest.js';
import type { DesiredInstance } from '../../src/domain/instance.js';
import type { CoordinationOptions } from '../../src/ports/coordination.js';
import { startEtcdCluster, type EtcdCluster } from './etcd.js';

/** A TLS cluster with auth on, the servers' user, and one user per host named here. */
export interface SecuredCluster {
  readonly etcd: EtcdCluster;
  readonly server: CoordinationOptions;
  host(name: string): CoordinationOptions;
  /** A host's credentials used for another host's keys (what a compromised agent would try). */
  credentials(name: string): { readonly username: string; readonly password: string };
}

export async function startSecuredCluster(
  hosts: readonly string[],
  timeoutMs?: number,
): Promise<SecuredCluster> {
  const etcd = await startEtcdCluster({ tls: true, auth: true });
  try {
    const password = () => randomBytes(18).toString('base64url');
    const admin = openCoordinationAdmin(etcd.clientOptions(etcd.root ?? undefined));
    const creds = new Map<string, { username: string; password: string }>();
    try {
      const serverPassword = password();
      await admin.grantServers(serverPassword);
      creds.set(SERVER_USER, { username: SERVER_USER, password: serverPassword });
      for (const h of hosts) {
        const p = password();
        await admin.grantHost(h, p);
        creds.set(h, { username: hostUser(h), password: p });
      }
    } finally {
      await admin.close();
    }
    const credentials = (name: string) => {
      const c = creds.get(name);
      if (!c) throw new Error(`no etcd user for ${name}`);
      return c;
    };
    return {
      etcd,
      server: etcd.clientOptions(credentials(SERVER_USER), timeoutMs),
      host: (name) => etcd.clientOptions(credentials(name), timeoutMs),
      credentials,
    };
  } catch (err) {
    await etcd.stop();
    throw err;
  }
}

export function registration(name: string, labels: Record<string, string> = {}): HostRegistration {
  return {
    name,
    labels,
    capacity: { memoryBytes: 4 * 1024 ** 3, cpus: 2, pids: 4096 },
    agent: '0.1.0-test',
    startedAt: new Date().toISOString(),
  };
}

const artifact = parseDigest(`sha256:${'c'.repeat(64)}`);

export function instance(
  id: string,
  env: readonly (readonly [string, string])[] = [],
): DesiredInstance {
  return { id, fleet: 'web', artifact, env };
}

/** Poll `check` until it is true or `ms` passes; the time it took. */
export async function until(
  check: () => Promise<boolean> | boolean,
  ms: number,
  what: string,
): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await check()) return performance.now() - start;
    if (performance.now() - start > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The error `work` rejects with (code and message, for a readable diff), or 'none'. */
export async function failureOf(
  work: Promise<unknown>,
): Promise<{ code: string; message: string } | 'none'> {
  try {
    await work;
    return 'none';
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return { code: e.code ?? 'none', message: e.message ?? String(err) };
  }
}

/** The code of the error `work` rejects with, or 'none'. */
export async function codeOf(work: Promise<unknown>): Promise<string> {
  try {
    await work;
    return 'none';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}
