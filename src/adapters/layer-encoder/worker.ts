import { parentPort } from 'node:worker_threads';
import type { CachedMember, SegmentTask } from './protocol.js';
import { failureOf, runSegment } from './segment-job.js';

/** Entry point of an encoder worker thread. */

let cache: ReadonlyMap<string, CachedMember> | null = null;

type Message =
  | SegmentTask
  | { readonly type: 'cache'; readonly entries: readonly (readonly [string, CachedMember])[] };

parentPort?.on('message', (message: Message) => {
  if (message.type === 'cache') {
    cache = new Map(message.entries);
    return;
  }
  try {
    const result = runSegment({ ...message, cache });
    const transfer = [result.raw.buffer as ArrayBuffer];
    if (result.compressed.buffer !== result.raw.buffer)
      transfer.push(result.compressed.buffer as ArrayBuffer);
    parentPort?.postMessage(result, transfer);
  } catch (err) {
    parentPort?.postMessage(failureOf(message.id, err));
  }
});
