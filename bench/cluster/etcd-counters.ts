import { get } from 'node:http';

/** Counters of one etcd member's /metrics (client URL, plain HTTP). */
export interface EtcdCounters {
  /** Keys put (every put of a transaction counts). */
  readonly puts: number;
  /** Keys deleted, one by one or by range (leases expiring included). */
  readonly deletes: number;
  /** Transactions applied (a write that is not a transaction is a put or a delete range). */
  readonly txns: number;
  /** Raft proposals committed: every write, lease grant and revoke, and the cluster's own. */
  readonly proposals: number;
  /** The store's revision: it grows by one for each write request that changes a key. */
  readonly revision: number;
}

const METRICS = {
  puts: 'etcd_mvcc_put_total',
  deletes: 'etcd_mvcc_delete_total',
  txns: 'etcd_mvcc_txn_total',
  proposals: 'etcd_server_proposals_committed_total',
  revision: 'etcd_debugging_mvcc_current_revision',
} as const;

/**
 * The member's counters now. The mvcc counters count what the member applied; every member
 * applies every write, so one member's counters are the cluster's writes.
 */
export async function etcdCounters(clientUrl: string): Promise<EtcdCounters> {
  const value = metricsOf(await metricsText(clientUrl));
  return {
    puts: value(METRICS.puts),
    deletes: value(METRICS.deletes),
    txns: value(METRICS.txns),
    proposals: value(METRICS.proposals),
    revision: value(METRICS.revision),
  };
}

/** Whether this member is etcd's Raft leader now (`etcd_server_is_leader`). */
export async function isRaftLeader(clientUrl: string): Promise<boolean> {
  return metricsOf(await metricsText(clientUrl))('etcd_server_is_leader') === 1;
}

function metricsOf(text: string): (name: string) => number {
  return (name) => {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    if (line === undefined) throw new Error(`etcd's /metrics has no ${name}`);
    return Number(line.slice(name.length + 1));
  };
}

function metricsText(clientUrl: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const req = get(new URL('/metrics', clientUrl), (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () =>
        res.statusCode === 200 ? resolve(body) : reject(new Error(`/metrics: ${res.statusCode}`)),
      );
    });
    req.on('error', reject);
    req.setTimeout(5_000, () => req.destroy(new Error('/metrics: no answer within 5 s')));
  });
}

/** What changed between two readings. */
export function countersSince(before: EtcdCounters, after: EtcdCounters): EtcdCounters {
  return {
    puts: after.puts - before.puts,
    deletes: after.deletes - before.deletes,
    txns: after.txns - before.txns,
    proposals: after.proposals - before.proposals,
    revision: after.revision - before.revision,
  };
}
