import type { IRequestOp, ITxnResponse } from 'etcd3';
import { LEADER_KEY, decodeValue, encodeValue, checkNodeName } from '../../core/cluster/index.js';
import type { LeaderRecord } from '../../domain/cluster.js';
import { IngotError } from '../../domain/errors.js';
import type { CampaignOptions, CurrentLeader, Leadership } from '../../ports/coordination.js';
import { revisionOf, type Connection } from './connect.js';
import { clusterError } from './errors.js';
import { FencedWriter } from './fenced.js';
import { keepLease, type KeptLease } from './lease.js';

const leaderKey = Buffer.from(LEADER_KEY, 'utf8');

/** Who leads now, as the leader key says; null when nobody does. */
export async function currentLeader(conn: Connection): Promise<CurrentLeader | null> {
  const res = await conn.run('reading the leader key', () =>
    conn.client.kv.range({ key: leaderKey }),
  );
  const kv = res.kvs[0];
  if (!kv) return null;
  const decoded = decodeValue('leader', kv.value);
  if (!decoded.ok)
    throw new IngotError('E_CLUSTER_VALUE', `the leader key holds a bad record: ${decoded.reason}`);
  return {
    record: decoded.value,
    epoch: revisionOf(kv.create_revision, 'the leader key'),
    leaseId: String(kv.lease),
  };
}

/**
 * Campaign until this server leads, then hold the term.
 *
 * Election is one transaction: "if the leader key does not exist (create revision 0), put it
 * on my lease". etcd applies transactions one at a time, so exactly one candidate's succeeds.
 * The key's create revision is the term's epoch: revisions only grow, so every new term has a
 * larger epoch than any before it. The key lives on the leader's lease; when the leader dies or
 * stalls, the lease expires, etcd deletes the key, and the candidates waiting for that delete
 * try again.
 */
export async function campaign(
  conn: Connection,
  candidate: Omit<LeaderRecord, 'since'>,
  options: CampaignOptions,
  now: () => Date,
): Promise<Leadership> {
  const name = checkNodeName(candidate.name, 'server');
  const what = `server ${name} campaigning`;
  const lease = await keepLease(conn, options.ttlSeconds, what);
  try {
    for (;;) {
      throwIfStopped(options.signal, lease, what);
      const record: LeaderRecord = { ...candidate, since: now().toISOString() };
      const res = await tryToLead(conn, lease.id, record, what);
      const holder = res.responses[0]?.response_range?.kvs[0];
      if (res.succeeded) {
        const epoch = revisionOf(res.header.revision, what);
        return new Term(conn, record, epoch, lease, now);
      }
      // Ours already: an earlier attempt of this transaction landed and its answer was lost.
      if (holder && String(holder.lease) === lease.id) {
        const epoch = revisionOf(holder.create_revision, what);
        const stored = decodeValue('leader', holder.value);
        return new Term(conn, stored.ok ? stored.value : record, epoch, lease, now);
      }
      const after = revisionOf(res.header.revision, what);
      await untilLeaderKeyGone(conn, after, lease, options, what);
    }
  } catch (err) {
    await lease.revoke().catch(() => undefined);
    throw clusterError(err, what);
  }
}

function throwIfStopped(signal: AbortSignal | undefined, lease: KeptLease, what: string): void {
  if (signal?.aborted) throw new IngotError('E_CLUSTER_CLOSED', `${what}: stopped`);
  if (lease.ended())
    throw new IngotError('E_CLUSTER_LEASE_LOST', `${what}: the campaign's lease was lost`);
}

function tryToLead(
  conn: Connection,
  leaseId: string,
  record: LeaderRecord,
  what: string,
): Promise<ITxnResponse> {
  const put: IRequestOp = {
    request_put: {
      key: leaderKey,
      value: Buffer.from(encodeValue('leader', record)),
      lease: leaseId,
    },
  };
  return conn.run(what, () =>
    conn.client.kv.txn({
      compare: [{ key: leaderKey, target: 'Create', result: 'Equal', create_revision: 0 }],
      success: [put],
      failure: [{ request_range: { key: leaderKey } }],
    }),
  );
}

/**
 * Wait for the leader key's delete after `revision`, or at most one TTL (then look again:
 * a watch that saw nothing must not keep a candidate waiting forever), or a stop.
 */
async function untilLeaderKeyGone(
  conn: Connection,
  revision: number,
  lease: KeptLease,
  options: CampaignOptions,
  what: string,
): Promise<void> {
  const watcher = conn.client
    .watch()
    .key(LEADER_KEY)
    .startRevision(String(revision + 1))
    .only('delete')
    .watcher();
  const cleanups: (() => void)[] = [];
  try {
    await new Promise<void>((resolve) => {
      watcher.on('delete', () => resolve());
      watcher.on('error', () => resolve()); // compacted or cancelled: try the transaction again
      const timer = setTimeout(resolve, options.ttlSeconds * 1000);
      cleanups.push(() => clearTimeout(timer));
      void lease.lost.then(() => resolve());
      if (options.signal) {
        const onAbort = () => resolve();
        options.signal.addEventListener('abort', onAbort, { once: true });
        cleanups.push(() => options.signal?.removeEventListener('abort', onAbort));
      }
    });
  } finally {
    for (const c of cleanups) c();
    await conn.run(what, () => watcher.cancel()).catch(() => undefined);
  }
}

/** One term: its epoch, its lease, the watch that tells it the term is over. */
class Term implements Leadership {
  readonly lost: Promise<IngotError>;
  private readonly writer: FencedWriter;
  private resolveLost: (e: IngotError) => void = () => undefined;
  private over = false;

  constructor(
    private readonly conn: Connection,
    readonly record: LeaderRecord,
    readonly epoch: number,
    readonly lease: KeptLease,
    private readonly now: () => Date,
  ) {
    this.writer = new FencedWriter(conn, epoch, record.name);
    this.lost = new Promise((resolve) => (this.resolveLost = resolve));
    void lease.lost.then((e) => this.end(e));
    this.watchLeaderKey();
  }

  private end(e: IngotError): void {
    if (this.over) return;
    this.over = true;
    this.resolveLost(e);
  }

  /** The leader key deleted, or created again by another term: this one is over. */
  private watchLeaderKey(): void {
    const watcher = this.conn.client
      .watch()
      .key(LEADER_KEY)
      .startRevision(String(this.epoch + 1))
      .watcher();
    const stop = () => watcher.cancel().catch(() => undefined);
    this.conn.closers.add(stop);
    const fenced = (why: string) => {
      this.conn.closers.delete(stop);
      void stop();
      this.end(
        new IngotError(
          'E_CLUSTER_FENCED',
          `${this.record.name}'s term (epoch ${this.epoch}) is over: ${why}`,
        ),
      );
    };
    watcher.on('delete', () => fenced('the leader key was deleted (its lease ended)'));
    watcher.on('put', (kv) => {
      if (revisionOf(kv.create_revision, 'the leader key') !== this.epoch)
        fenced(`another term began (epoch ${kv.create_revision})`);
    });
    // Compacted or cancelled: the term itself is fenced by etcd; only the early notice is lost,
    // and the lease's own loss detection still ends the term.
    watcher.on('error', () => this.conn.closers.delete(stop));
    void this.lost.then(() => {
      this.conn.closers.delete(stop);
      void stop();
    });
  }

  writeAssignments: Leadership['writeAssignments'] = (host, change) =>
    this.writer.writeAssignments(host, change);
  admitHost: Leadership['admitHost'] = (host) => this.writer.admitHost(host, this.now());
  forgetHost: Leadership['forgetHost'] = (host) => this.writer.forgetHost(host);

  async resign(): Promise<void> {
    const what = `${this.record.name} resigning`;
    // Over for this process first: whatever etcd answers below, it acts as leader no more.
    this.end(
      new IngotError('E_CLUSTER_CLOSED', `${this.record.name} resigned (epoch ${this.epoch})`),
    );
    try {
      await this.writer.fenced(what, [{ request_delete_range: { key: leaderKey } }]);
    } catch (err) {
      if (!(err instanceof IngotError && err.code === 'E_CLUSTER_FENCED')) {
        await this.lease.revoke().catch(() => undefined);
        throw err;
      }
    }
    await this.lease.revoke();
  }
}
