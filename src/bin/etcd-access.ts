import { readFileSync } from 'node:fs';
import { UsageError } from '../domain/errors.js';
import type { CoordinationOptions } from '../ports/coordination.js';

/** How a server reaches etcd, as its flags say. */
export interface EtcdAccess {
  readonly endpoints: readonly string[];
  /** PEM of the CA that signed the members' certificates (https endpoints). */
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  /** A file holding `USER:PASSWORD` of etcd's root user (it grants each host its own user). */
  readonly credentialsFile?: string;
}

/** Read the files the access names into client options; a clear error for each bad one. */
export function etcdOptions(access: EtcdAccess): CoordinationOptions {
  const read = (file: string, what: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new UsageError(`${what} ${file}: ${(err as Error).message}`);
    }
  };
  let auth: { username: string; password: string } | undefined;
  if (access.credentialsFile !== undefined) {
    const text = read(access.credentialsFile, 'etcd credentials').toString('utf8').trim();
    const colon = text.indexOf(':');
    if (colon <= 0 || text.length > 512)
      throw new UsageError(`etcd credentials ${access.credentialsFile}: expected USER:PASSWORD`);
    auth = { username: text.slice(0, colon), password: text.slice(colon + 1) };
  }
  return {
    endpoints: access.endpoints,
    ...(access.caFile !== undefined && {
      tls: {
        ca: read(access.caFile, 'etcd CA'),
        ...(access.certFile !== undefined && {
          cert: read(access.certFile, 'etcd client certificate'),
        }),
        ...(access.keyFile !== undefined && { key: read(access.keyFile, 'etcd client key') }),
      },
    }),
    ...(auth && { auth }),
  };
}
