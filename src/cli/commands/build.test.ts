import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { reuseNote } from './build.js';

describe('reuseNote', () => {
  it('says 100 % only when nothing was encoded anew, and names the changed layers', () => {
    expect(reuseNote([])).toBe('');
    expect(reuseNote([{ rawBytes: 10, reusedBytes: 0 }])).toBe('');
    expect(
      reuseNote([
        { rawBytes: 1_984_512, reusedBytes: 1_984_512 },
        { rawBytes: 6_144, reusedBytes: 0 },
      ]),
    ).toBe(', 1 of 2 changed: 6.0 KiB encoded anew, 99% of layer bytes reused');
    expect(reuseNote([{ rawBytes: 5, reusedBytes: 5 }])).toBe(
      ', every layer reused whole from earlier builds',
    );
    fc.assert(
      fc.property(
        fc.array(
          fc
            .tuple(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 0, max: 1e9 }))
            .map(([raw, r]) => ({ rawBytes: raw, reusedBytes: Math.min(raw, r) })),
          { maxLength: 8 },
        ),
        (layers) => {
          const note = reuseNote(layers);
          const changed = layers.some((l) => l.reusedBytes < l.rawBytes);
          if (changed) expect(note).not.toMatch(/100%|every layer/);
          else if (layers.some((l) => l.reusedBytes > 0)) expect(note).toMatch(/every layer/);
        },
      ),
    );
  });
});
