import { parentPort } from 'node:worker_threads';
import { prepareCodec } from './codec.js';
import { envOf, type EncodeSetup, type JobEnv, type WorkerTask } from './protocol.js';
import { failureOf, runTask } from './segment-job.js';

/**
 * Entry point of an encoder worker thread. Messages are handled strictly one after
 * another, so replies leave in the order tasks came (the pool relies on it), even when a
 * codec has to load first.
 */

let env: JobEnv | null = null;
let previous: Promise<void> = Promise.resolve();

parentPort?.on('message', (message: EncodeSetup | WorkerTask) => {
  previous = previous.then(async () => {
    if (message.type === 'setup') {
      env = envOf(message);
      return;
    }
    try {
      if (message.type === 'segment') await prepareCodec(message.compression);
      const reply = runTask(message, env);
      const transfer =
        reply.type === 'result' && reply.overflow ? [reply.overflow.buffer as ArrayBuffer] : [];
      parentPort?.postMessage(reply, transfer);
    } catch (err) {
      parentPort?.postMessage(failureOf(message, err));
    }
  });
});
