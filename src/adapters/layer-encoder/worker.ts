import { parentPort } from 'node:worker_threads';
import { prepareCodec } from './codec.js';
import { envOf, type EncodeSetup, type JobEnv, type SegmentTask } from './protocol.js';
import { failureOf, runSegment } from './segment-job.js';

/** Entry point of an encoder worker thread. */

let env: JobEnv | null = null;

parentPort?.on('message', (message: EncodeSetup | SegmentTask) => {
  if (message.type === 'setup') {
    env = envOf(message);
    return;
  }
  void prepareCodec(message.compression).then(() => {
    try {
      if (!env) throw new Error('segment before setup');
      const result = runSegment(message, env);
      parentPort?.postMessage(
        result,
        result.overflow ? [result.overflow.buffer as ArrayBuffer] : [],
      );
    } catch (err) {
      parentPort?.postMessage(failureOf(message, err));
    }
  });
});
