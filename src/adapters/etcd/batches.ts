import type { IRequestOp } from 'etcd3';
import { MAX_TXN_BYTES } from '../../core/cluster/index.js';
import { MAX_TXN_OPS } from './connect.js';

/**
 * Items in order, cut into batches of at most `maxOps` items whose sizes add up to at most
 * `maxBytes`; an item larger than `maxBytes` alone makes a batch. Pure.
 */
export function batches<T>(
  items: readonly T[],
  sizeOf: (item: T) => number,
  limits: { readonly maxOps: number; readonly maxBytes: number },
): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && (current.length >= limits.maxOps || bytes + size > limits.maxBytes)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** The keys and values an operation sends (what etcd's request bound counts, less framing). */
export function opBytes(op: IRequestOp): number {
  const put = op.request_put;
  if (put) return byteLength(put.key) + byteLength(put.value);
  const del = op.request_delete_range;
  if (del) return byteLength(del.key) + byteLength(del.range_end);
  const range = op.request_range;
  if (range) return byteLength(range.key) + byteLength(range.range_end);
  return 0;
}

function byteLength(b: Buffer | undefined): number {
  return b?.length ?? 0;
}

/** Operations in transactions etcd takes: at most MAX_TXN_OPS and MAX_TXN_BYTES each. */
export function txnBatches(ops: readonly IRequestOp[]): IRequestOp[][] {
  return batches(ops, opBytes, { maxOps: MAX_TXN_OPS, maxBytes: MAX_TXN_BYTES });
}
