import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { LayerError } from '../../../domain/build-errors.js';
import type { LayerLimits } from './limits.js';

/**
 * The uncompressed stream of a layer, counted and hashed (its diff_id) as it passes. A
 * decompression bomb is stopped as it goes off: past `maxBytes` in all, or once the output
 * outgrows the compressed input read so far by more than `maxRatio`.
 */
export class BombMeter {
  readonly stream: Transform;
  private readonly hash = createHash('sha256');
  private count = 0;

  constructor(id: string, limits: LayerLimits, compressedBytes: () => number) {
    this.stream = new Transform({
      transform: (chunk: Buffer, _enc, done: TransformCallback) => {
        this.count += chunk.length;
        if (this.count > limits.maxBytes) {
          done(
            new LayerError(
              'E_LAYER_BOMB',
              id,
              '',
              `decompresses to more than ${limits.maxBytes} bytes`,
            ),
          );
          return;
        }
        if (
          this.count > limits.ratioAfter &&
          this.count > limits.maxRatio * Math.max(compressedBytes(), 1)
        ) {
          done(
            new LayerError(
              'E_LAYER_BOMB',
              id,
              '',
              `decompresses more than ${limits.maxRatio} times its compressed size: a decompression bomb`,
            ),
          );
          return;
        }
        this.hash.update(chunk);
        done(null, chunk);
      },
    });
  }

  /** Uncompressed bytes so far. */
  get bytes(): number {
    return this.count;
  }

  /** The diff_id of what passed; once, after the stream ended. */
  diffId(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}
