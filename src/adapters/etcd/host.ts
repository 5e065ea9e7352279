import type { IRequestOp } from 'etcd3';
import {
  checkNodeName,
  encodeValue,
  fitStatus,
  hostKey,
  statusKey,
} from '../../core/cluster/index.js';
import type { HostRegistration } from '../../domain/cluster.js';
import { IngotError } from '../../domain/errors.js';
import type { ObservedInstance } from '../../domain/instance.js';
import type {
  CoordinationOptions,
  HostCoordination,
  LeaseHandle,
} from '../../ports/coordination.js';
import { txnBatches } from './batches.js';
import { connect, revisionOf, type Connection } from './connect.js';
import { keepLease } from './lease.js';
import { listAll } from './list.js';
import { assignmentsReader, statusReader } from './readers.js';
import { watchPrefix } from './watch.js';

const bytes = (s: string) => Buffer.from(s, 'utf8');

/** Open a host's view of the cluster, with that host's credentials. */
export function openHostCoordination(host: string, options: CoordinationOptions): HostCoordination {
  return new EtcdHostCoordination(checkNodeName(host), connect(options));
}

/**
 * Operations in transactions within etcd's limits (operations, and bytes: a host's full report
 * may come to megabytes, etcd refuses a request over ETCD_MAX_REQUEST_BYTES); the last revision.
 */
export async function inChunks(
  conn: Connection,
  what: string,
  ops: readonly IRequestOp[],
): Promise<number> {
  let revision = 0;
  for (const success of txnBatches(ops)) {
    const res = await conn.run(what, () =>
      conn.client.kv.txn({ compare: [], success, failure: [] }),
    );
    revision = revisionOf(res.header.revision, what);
  }
  return revision;
}

class EtcdHostCoordination implements HostCoordination {
  constructor(
    readonly host: string,
    private readonly conn: Connection,
  ) {}

  async register(registration: HostRegistration, ttlSeconds: number): Promise<LeaseHandle> {
    const what = `registering host ${this.host}`;
    if (registration.name !== this.host)
      throw new IngotError(
        'E_CLUSTER_NAME',
        `${what}: the registration names ${JSON.stringify(registration.name)}`,
      );
    const value = encodeValue('registration', registration);
    const lease = await keepLease(this.conn, ttlSeconds, what);
    try {
      await this.conn.run(what, () =>
        this.conn.client.kv.put({
          key: bytes(hostKey(this.host)),
          value: bytes(value),
          lease: lease.id,
        }),
      );
    } catch (err) {
      await lease.revoke().catch(() => undefined);
      throw err;
    }
    return lease;
  }

  listAssignments: HostCoordination['listAssignments'] = () =>
    listAll(this.conn, assignmentsReader(this.host), `listing the assignments of ${this.host}`);

  watchAssignments: HostCoordination['watchAssignments'] = (from, handler) =>
    watchPrefix(
      this.conn,
      assignmentsReader(this.host),
      from,
      handler,
      `watching the assignments of ${this.host}`,
    );

  async putStatus(instances: readonly ObservedInstance[]): Promise<number> {
    const ids = instances.map((i) => i.id);
    if (new Set(ids).size !== ids.length)
      throw new IngotError(
        'E_INSTANCE_ID',
        `writing the status of ${this.host}: an instance appears twice`,
      );
    const ops = instances.map((instance): IRequestOp => ({
      request_put: {
        key: bytes(statusKey(this.host, instance.id)),
        value: bytes(encodeValue('status', fitStatus({ ...instance, host: this.host }))),
      },
    }));
    return inChunks(this.conn, `writing the status of ${this.host}`, ops);
  }

  async deleteStatus(ids: readonly string[]): Promise<number> {
    const ops = ids.map((id): IRequestOp => ({
      request_delete_range: { key: bytes(statusKey(this.host, id)) },
    }));
    return inChunks(this.conn, `removing status of ${this.host}`, ops);
  }

  listStatus: HostCoordination['listStatus'] = () =>
    listAll(this.conn, statusReader(this.host), `listing the status of ${this.host}`);

  close = (): Promise<void> => this.conn.close();
}
