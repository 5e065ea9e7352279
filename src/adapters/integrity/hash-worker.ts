import { parentPort } from 'node:worker_threads';
import { CHUNK, hashPinned } from './hash-pinned.js';
import { packReply, unpackBatch, type HashBatch, type HashOutcome } from './hash-protocol.js';

/** Entry point of a hashing worker thread: one batch in, one reply out. */

/** Bytes after which a worker replies with what it has hashed so far. */
const BUDGET = 4 << 20;

const buffer = Buffer.allocUnsafe(CHUNK);

parentPort?.on('message', (batch: HashBatch) => {
  const outcomes: HashOutcome[] = [];
  let bytes = 0;
  for (const file of unpackBatch(batch)) {
    if (bytes >= BUDGET) break;
    const outcome = hashPinned(file, buffer);
    outcomes.push(outcome);
    if (outcome.kind === 'hashed') bytes += outcome.size;
  }
  const reply = packReply(batch.id, outcomes);
  parentPort?.postMessage(reply, [reply.meta.buffer, reply.digests.buffer]);
});
