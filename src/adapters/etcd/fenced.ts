import type { IRequestOp } from 'etcd3';
import {
  LEADER_KEY,
  assignmentKey,
  assignmentsPrefix,
  checkNodeName,
  encodeValue,
  memberKey,
  statusPrefix,
} from '../../core/cluster/index.js';
import { IngotError } from '../../domain/errors.js';
import type { AssignmentChange } from '../../ports/coordination.js';
import { txnBatches } from './batches.js';
import { MAX_TXN_OPS, prefixEnd, revisionOf, type Connection } from './connect.js';

const leaderKey = Buffer.from(LEADER_KEY, 'utf8');
const bytes = (s: string) => Buffer.from(s, 'utf8');

/**
 * The leader's writes. Each is one etcd transaction whose first (and only) compare is "the
 * leader key's create revision is still my epoch"; etcd evaluates it and applies the writes at
 * one revision, so no write of a term can land once another term began or the key is gone.
 * A refused write reads the key in the same transaction to say who leads now.
 */
export class FencedWriter {
  constructor(
    private readonly conn: Connection,
    private readonly epoch: number,
    private readonly name: string,
  ) {}

  /** `ops` in one transaction fenced by the epoch; the revision it made. */
  async fenced(what: string, ops: readonly IRequestOp[]): Promise<number> {
    if (ops.length > MAX_TXN_OPS)
      throw new IngotError(
        'E_CLUSTER_VALUE',
        `${what}: ${ops.length} operations in one transaction`,
      );
    const res = await this.conn.run(what, () =>
      this.conn.client.kv.txn({
        compare: [
          { key: leaderKey, target: 'Create', result: 'Equal', create_revision: this.epoch },
        ],
        success: [...ops],
        failure: [{ request_range: { key: leaderKey } }],
      }),
    );
    if (res.succeeded) return revisionOf(res.header.revision, what);
    const now = res.responses[0]?.response_range.kvs[0];
    const who =
      now === undefined
        ? 'no server leads now'
        : `another term leads now (epoch ${String(now.create_revision)})`;
    throw new IngotError(
      'E_CLUSTER_FENCED',
      `${what}: refused, ${this.name}'s term (epoch ${this.epoch}) is over: ${who}`,
      {
        details: {
          epoch: this.epoch,
          current: now === undefined ? null : revisionOf(now.create_revision, 'leader key'),
        },
      },
    );
  }

  /**
   * Puts and removes of one host's assignments; up to 128 (and 64 KiB) at once in one
   * transaction, more in several (each fenced and atomic on its own; removes first, so a host
   * never briefly holds both an instance and its replacement beyond what the leader asked).
   */
  async writeAssignments(host: string, change: AssignmentChange): Promise<number> {
    const what = `${this.name} writing the assignments of ${checkNodeName(host)}`;
    const ops: IRequestOp[] = [
      ...(change.remove ?? []).map((id): IRequestOp => ({
        request_delete_range: { key: bytes(assignmentKey(host, id)) },
      })),
      ...(change.put ?? []).map((instance): IRequestOp => ({
        request_put: {
          key: bytes(assignmentKey(host, instance.id)),
          value: bytes(encodeValue('assignment', { instance, epoch: this.epoch })),
        },
      })),
    ];
    const ids = [...(change.remove ?? []), ...(change.put ?? []).map((d) => d.id)];
    if (new Set(ids).size !== ids.length)
      throw new IngotError('E_INSTANCE_ID', `${what}: an instance is named twice in one change`);
    if (ops.length === 0) return this.fenced(what, []);
    let revision = 0;
    for (const batch of txnBatches(ops)) revision = await this.fenced(what, batch);
    return revision;
  }

  /** The member record, unless there is one already (its admission time stays). */
  async admitHost(host: string, now: Date): Promise<number> {
    const what = `${this.name} admitting host ${checkNodeName(host)}`;
    const key = bytes(memberKey(host));
    const res = await this.conn.run(what, () =>
      this.conn.client.kv.txn({
        compare: [
          { key: leaderKey, target: 'Create', result: 'Equal', create_revision: this.epoch },
          { key, target: 'Version', result: 'Equal', version: 0 },
        ],
        success: [
          {
            request_put: {
              key,
              value: bytes(encodeValue('member', { name: host, admittedAt: now.toISOString() })),
            },
          },
        ],
        failure: [],
      }),
    );
    if (res.succeeded) return revisionOf(res.header.revision, what);
    // Either compare failed: a no-op fenced write says which (and refuses if it was the epoch).
    return this.fenced(what, []);
  }

  /** The member record, assignments and status of a host, gone in one transaction. */
  async forgetHost(host: string): Promise<number> {
    const what = `${this.name} forgetting host ${checkNodeName(host)}`;
    const range = (prefix: string): IRequestOp => ({
      request_delete_range: { key: bytes(prefix), range_end: prefixEnd(prefix) },
    });
    return this.fenced(what, [
      { request_delete_range: { key: bytes(memberKey(host)) } },
      range(assignmentsPrefix(host)),
      range(statusPrefix(host)),
    ]);
  }
}
