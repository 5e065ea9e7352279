import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { BombMeter } from './bomb-meter.js';
import { DEFAULT_LAYER_LIMITS } from './limits.js';

const drain = () => new Writable({ write: (_chunk, _enc, done) => done() });

async function pass(meter: BombMeter, chunks: readonly Buffer[]): Promise<unknown> {
  try {
    await pipeline(Readable.from(chunks), meter.stream, drain());
    return null;
  } catch (err) {
    return err;
  }
}

describe('BombMeter', () => {
  it('counts and hashes what passes: the diff_id', async () => {
    const meter = new BombMeter('sha256:x', DEFAULT_LAYER_LIMITS, () => 1);
    const chunks = [Buffer.from('hello '), Buffer.from('layer')];
    expect(await pass(meter, chunks)).toBeNull();
    expect(meter.bytes).toBe(11);
    expect(meter.diffId()).toBe(
      `sha256:${createHash('sha256').update('hello layer').digest('hex')}`,
    );
  });

  it('stops a layer that decompresses past its bound', async () => {
    const limits = { ...DEFAULT_LAYER_LIMITS, maxBytes: 8 };
    const err = await pass(new BombMeter('sha256:x', limits, () => 8), [Buffer.alloc(9)]);
    expect(err).toMatchObject({ code: 'E_LAYER_BOMB' });
  });

  it('stops a layer that outgrows its compressed input by more than the ratio', async () => {
    const limits = { ...DEFAULT_LAYER_LIMITS, maxRatio: 4, ratioAfter: 16 };
    const compressed = 4;
    const ok = await pass(new BombMeter('sha256:x', limits, () => compressed), [Buffer.alloc(16)]);
    expect(ok).toBeNull();
    const err = await pass(new BombMeter('sha256:x', limits, () => compressed), [Buffer.alloc(17)]);
    expect(err).toMatchObject({ code: 'E_LAYER_BOMB' });
  });
});
