import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  consistencyProof,
  emptyRoot,
  inclusionProof,
  leafHash,
  nodeHash,
  rangeHash,
  rootAt,
  subtreesOf,
  treeHash,
  verifyConsistency,
  verifyInclusion,
  type SubtreeHash,
} from './merkle.js';
import { TreeBuilder, frontierOf } from './tree-builder.js';

// The reference: RFC 9162 §2.1 transcribed literally, recursion on slices, no shortcuts.
const H = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const splitOf = (n: number) => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};
function MTH(D: readonly Uint8Array[]): Buffer {
  if (D.length === 0) return H();
  if (D.length === 1) return H(Buffer.from([0]), D[0]!);
  const k = splitOf(D.length);
  return H(Buffer.from([1]), MTH(D.slice(0, k)), MTH(D.slice(k)));
}
function PATH(m: number, D: readonly Uint8Array[]): Buffer[] {
  if (D.length === 1) return [];
  const k = splitOf(D.length);
  return m < k
    ? [...PATH(m, D.slice(0, k)), MTH(D.slice(k))]
    : [...PATH(m - k, D.slice(k)), MTH(D.slice(0, k))];
}
function SUBPROOF(m: number, D: readonly Uint8Array[], b: boolean): Buffer[] {
  if (m === D.length) return b ? [] : [MTH(D)];
  const k = splitOf(D.length);
  return m <= k
    ? [...SUBPROOF(m, D.slice(0, k), b), MTH(D.slice(k))]
    : [...SUBPROOF(m - k, D.slice(k), false), MTH(D.slice(0, k))];
}
const PROOF = (m: number, D: readonly Uint8Array[]) => SUBPROOF(m, D, true);

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => Buffer.from(s, 'hex');

const N = 64;
const data = Array.from({ length: N }, (_, i) => Buffer.from(`entry ${i} ${'x'.repeat(i % 7)}`));
const leaves = data.map((d) => leafHash(d));
const roots = Array.from({ length: N + 1 }, (_, n) => MTH(data.slice(0, n)));
const proofs = {
  inclusion: new Map<string, Uint8Array[]>(),
  consistency: new Map<string, Uint8Array[]>(),
};

/**
 * A store over the first n entries that answers only for complete, aligned subtrees inside
 * the tree, as the SQLite store does: asking for anything else is a bug in the caller.
 */
const subtrees = new Map<string, Buffer>();
function store(n: number): SubtreeHash {
  return (level, index) => {
    const start = index * 2 ** level;
    const end = start + 2 ** level;
    if (!Number.isSafeInteger(index) || index < 0 || end > n)
      throw new Error(`no subtree (${level}, ${index}) in a tree of ${n}`);
    const key = `${level}/${index}`;
    let hash = subtrees.get(key);
    if (!hash) subtrees.set(key, (hash = MTH(data.slice(start, end))));
    return hash;
  };
}

function flipBit(proof: readonly Uint8Array[], i: number, bit: number): Uint8Array[] {
  return proof.map((p, j) => {
    if (j !== i) return p;
    const copy = Buffer.from(p);
    copy[bit >> 3]! ^= 1 << (bit & 7);
    return copy;
  });
}

describe('the RFC 6962 / 9162 reference vectors (transparency-dev/merkle)', () => {
  const ctLeaves = [
    '',
    '00',
    '10',
    '2021',
    '3031',
    '40414243',
    '5051525354555657',
    '606162636465666768696a6b6c6d6e6f',
  ].map(unhex);
  const ctRoots = [
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
    '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
    'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
    '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
  ];
  const ctHashes = ctLeaves.map((l) => leafHash(l));
  const ctStore: SubtreeHash = (level, index) =>
    treeHash(ctHashes.slice(index * 2 ** level, (index + 1) * 2 ** level));

  it('has the published root for every size 0..8', () => {
    expect(hex(emptyRoot())).toBe(ctRoots[0]);
    for (let n = 0; n <= 8; n++) {
      expect(hex(treeHash(ctHashes.slice(0, n))), `size ${n}`).toBe(ctRoots[n]);
      expect(hex(rootAt(n, ctStore))).toBe(ctRoots[n]);
    }
  });

  it('gives and accepts the published inclusion proofs', () => {
    const vectors: [number, number, string[]][] = [
      [
        0,
        8,
        [
          '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
          '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
          '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
        ],
      ],
      [
        5,
        8,
        [
          'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
          'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
          'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
        ],
      ],
      [2, 3, ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']],
      [
        1,
        5,
        [
          '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
          '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
          'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
        ],
      ],
    ];
    for (const [index, size, proof] of vectors) {
      expect(inclusionProof(index, size, ctStore).map(hex)).toEqual(proof);
      const root = unhex(ctRoots[size]!);
      expect(verifyInclusion(ctHashes[index]!, index, size, proof.map(unhex), root)).toBe(true);
    }
  });

  it('gives and accepts the published consistency proofs', () => {
    const vectors: [number, number, string[]][] = [
      [
        1,
        8,
        [
          '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
          '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
          '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
        ],
      ],
      [
        6,
        8,
        [
          '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
          'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
          'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
        ],
      ],
      [
        2,
        5,
        [
          '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
          'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
        ],
      ],
      [
        6,
        7,
        [
          '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
          'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
          'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
        ],
      ],
    ];
    for (const [m, n, proof] of vectors) {
      expect(consistencyProof(m, n, ctStore).map(hex)).toEqual(proof);
      expect(
        verifyConsistency(m, n, proof.map(unhex), unhex(ctRoots[m]!), unhex(ctRoots[n]!)),
      ).toBe(true);
    }
  });
});

describe('against the literal RFC recursion, every tree of 1..64 leaves', () => {
  it('MTH: the bottom-up tree hash, the subtree store and the builder agree', () => {
    const builder = new TreeBuilder();
    for (let n = 0; n <= N; n++) {
      expect(hex(treeHash(leaves.slice(0, n))), `size ${n}`).toBe(hex(roots[n]!));
      expect(hex(rootAt(n, store(n)))).toBe(hex(roots[n]!));
      expect(hex(builder.root())).toBe(hex(roots[n]!));
      if (n < N) builder.push(leaves[n]!);
    }
  });

  it('inclusion: PATH for every (m, n); it verifies; nothing near it does', () => {
    for (let n = 1; n <= N; n++) {
      for (let m = 0; m < n; m++) {
        const proof = inclusionProof(m, n, store(n));
        expect(proof.map(hex), `PATH(${m}, D[${n}])`).toEqual(PATH(m, data.slice(0, n)).map(hex));
        proofs.inclusion.set(`${m}/${n}`, proof);
        const root = roots[n]!;
        expect(verifyInclusion(leaves[m]!, m, n, proof, root)).toBe(true);

        // Every bit of every hash matters (one bit per byte position, all 256 over the run).
        for (let i = 0; i < proof.length; i++)
          expect(
            verifyInclusion(leaves[m]!, m, n, flipBit(proof, i, (m * 31 + n + i) % 256), root),
          ).toBe(false);
        const leafFlipped = flipBit([leaves[m]!], 0, (m + n) % 256)[0]!;
        expect(verifyInclusion(leafFlipped, m, n, proof, root)).toBe(false);
        expect(verifyInclusion(leaves[m]!, m, n, proof, flipBit([root], 0, n % 256)[0]!)).toBe(
          false,
        );

        // The probes of transparency-dev/merkle's verify_test.go.
        const probes: [number, number, Uint8Array, readonly Uint8Array[], Uint8Array][] = [
          [m - 1, n, leaves[m]!, proof, root],
          [m + 1, n, leaves[m]!, proof, root],
          [m ^ 2, n, leaves[m]!, proof, root],
          [m, n * 2, leaves[m]!, proof, root],
          [m, Math.floor(n / 2), leaves[m]!, proof, root],
          [m, n, Buffer.from('WrongLeaf'), proof, root],
          [m, n, leaves[(m + 1) % N]!, proof, root],
          [m, n, leaves[m]!, proof, emptyRoot()],
          [m, n, leaves[m]!, [...proof, Buffer.alloc(0)], root],
          [m, n, leaves[m]!, [...proof, root], root],
          [m, n, leaves[m]!, [Buffer.alloc(0), ...proof], root],
          [m, n, leaves[m]!, [root, ...proof], root],
          [m, n, leaves[m]!, [leaves[m]!, ...proof], root],
        ];
        if (proof.length > 0) probes.push([m, n, leaves[m]!, proof.slice(0, -1), root]);
        if (proof.length > 1)
          probes.push([
            m,
            n,
            leaves[m]!,
            [proof[0]!, H(Buffer.from('x')), ...proof.slice(1)],
            root,
          ]);
        for (const [i, [pm, pn, leaf, p, r]] of probes.entries())
          expect(verifyInclusion(leaf, pm, pn, p, r), `probe ${i} for (${m}, ${n})`).toBe(false);
      }
    }
  });

  it('inclusion: a proof for (m, n) verifies at another size only where it is that size’s proof', () => {
    // RFC 9162 proofs do not commit to the size; the root does. With the other size's true
    // root, a proof passes exactly when it is also that size's proof.
    for (let n = 1; n <= N; n++)
      for (let m = 0; m < n; m++)
        for (let other = m + 1; other <= N; other++) {
          if (other === n) continue;
          const proof = proofs.inclusion.get(`${m}/${n}`)!;
          const theirs = proofs.inclusion.get(`${m}/${other}`)!;
          const same =
            proof.length === theirs.length && proof.every((p, i) => hex(p) === hex(theirs[i]!));
          expect(verifyInclusion(leaves[m]!, m, other, proof, roots[other]!)).toBe(same);
        }
  });

  it('consistency: PROOF for every (m, n); it verifies; nothing near it does', () => {
    for (let n = 1; n <= N; n++) {
      for (let m = 0; m <= n; m++) {
        const proof = consistencyProof(m, n, store(n));
        const expected = m === 0 || m === n ? [] : PROOF(m, data.slice(0, n));
        expect(proof.map(hex), `PROOF(${m}, D[${n}])`).toEqual(expected.map(hex));
        proofs.consistency.set(`${m}/${n}`, proof);
        const [r1, r2] = [roots[m]!, roots[n]!];
        expect(verifyConsistency(m, n, proof, r1, r2)).toBe(true);
        if (proof.length === 0) continue;

        for (let i = 0; i < proof.length; i++)
          expect(verifyConsistency(m, n, flipBit(proof, i, (m * 17 + n + i) % 256), r1, r2)).toBe(
            false,
          );
        const probes: [number, number, Uint8Array, Uint8Array, readonly Uint8Array[]][] = [
          [m - 1, n, r1, r2, proof],
          [m + 1, n, r1, r2, proof],
          [m ^ 2, n, r1, r2, proof],
          [m, n * 2, r1, r2, proof],
          [m, Math.floor(n / 2), r1, r2, proof],
          [m, n, Buffer.from('WrongRoot'), r2, proof],
          [m, n, r1, Buffer.from('WrongRoot'), proof],
          [m, n, flipBit([r1], 0, 3)[0]!, r2, proof],
          [m, n, r1, flipBit([r2], 0, 5)[0]!, proof],
          [m, n, r2, r1, proof],
          [m, n, r1, r2, []],
          [m, n, r1, r2, [...proof, Buffer.alloc(0)]],
          [m, n, r1, r2, [...proof, r1]],
          [m, n, r1, r2, [...proof, r2]],
          [m, n, r1, r2, [Buffer.alloc(0), ...proof]],
          [m, n, r1, r2, [r1, ...proof]],
          [m, n, r1, r2, [r2, ...proof]],
          [m, n, r1, r2, [proof[0]!, ...proof]],
          [m, n, r1, r2, proof.slice(0, -1)],
        ];
        for (const [i, [pm, pn, a, b, p]] of probes.entries())
          expect(verifyConsistency(pm, pn, p, a, b), `probe ${i} for (${m}, ${n})`).toBe(false);
      }
    }
  });

  it('consistency: a proof verifies for other sizes only where it is their proof too', () => {
    for (let n = 2; n <= N; n++)
      for (let m = 1; m < n; m++)
        for (let other = 1; other < n; other++) {
          if (other === m) continue;
          const proof = proofs.consistency.get(`${m}/${n}`)!;
          const theirs = proofs.consistency.get(`${other}/${n}`)!;
          const same =
            proof.length === theirs.length && proof.every((p, i) => hex(p) === hex(theirs[i]!));
          expect(verifyConsistency(other, n, proof, roots[other]!, roots[n]!)).toBe(same);
        }
  });

  it('the edges the RFC leaves open: empty trees and equal sizes', () => {
    const e = emptyRoot();
    expect(verifyConsistency(0, 0, [], e, e)).toBe(true);
    expect(verifyConsistency(0, 5, [], e, roots[5]!)).toBe(true);
    expect(verifyConsistency(0, 5, [], roots[1]!, roots[5]!)).toBe(false);
    expect(verifyConsistency(0, 5, [e], e, roots[5]!)).toBe(false);
    expect(verifyConsistency(5, 5, [], roots[5]!, roots[5]!)).toBe(true);
    expect(verifyConsistency(5, 5, [], roots[5]!, roots[4]!)).toBe(false);
    expect(verifyConsistency(5, 5, [roots[5]!], roots[5]!, roots[5]!)).toBe(false);
    expect(verifyConsistency(6, 5, [], roots[5]!, roots[5]!)).toBe(false);
    expect(verifyInclusion(leaves[0]!, 0, 0, [], e)).toBe(false);
    expect(verifyInclusion(leaves[0]!, 0, 1, [], leaves[0]!)).toBe(true);
    expect(() => inclusionProof(3, 3, store(3))).toThrow(RangeError);
    expect(() => consistencyProof(4, 3, store(3))).toThrow(RangeError);
  });

  it('hostile numbers are a plain "no": negative, fractional, unsafe, NaN, absurd proofs', () => {
    const r = roots[8]!;
    const p = proofs.inclusion.get('3/8')!;
    for (const [i, n] of [
      [-1, 8],
      [3.5, 8],
      [3, 8.5],
      [NaN, 8],
      [3, Infinity],
      [3, 2 ** 53],
      [2 ** 53 + 2, 2 ** 60],
    ] as const)
      expect(verifyInclusion(leaves[3]!, i, n, p, r)).toBe(false);
    expect(
      verifyInclusion(
        leaves[3]!,
        3,
        8,
        Array.from({ length: 65 }, () => r),
        r,
      ),
    ).toBe(false);
    expect(verifyConsistency(3, 2 ** 53, [r], r, r)).toBe(false);
    expect(verifyConsistency(-3, 8, [r], r, r)).toBe(false);
  });

  it('reads one stored subtree per set bit of each proof range, and only inside the tree', () => {
    for (let n = 1; n <= N; n++) {
      const read = new Set<string>();
      const inner = store(n);
      const spy: SubtreeHash = (level, index) => {
        read.add(`${level}/${index}`);
        return inner(level, index);
      };
      const m = Math.floor(n / 3);
      const ranges = [{ start: 0, end: n }];
      rangeHash(ranges[0]!, spy);
      expect([...read].sort()).toEqual(
        subtreesOf(ranges)
          .map((s) => `${s.level}/${s.index}`)
          .sort(),
      );
      expect(read.size).toBe(frontierOf(n).length);
      read.clear();
      inclusionProof(m, n, spy);
      consistencyProof(m, n, spy);
      expect(read.size).toBeLessThanOrEqual(4 * Math.ceil(Math.log2(n + 1)) ** 2);
    }
  });
});

describe('the builder: the subtrees it completes are the ones a store must keep', () => {
  it('reports each complete aligned subtree once, with its hash, from any starting frontier', () => {
    for (let from = 0; from <= 20; from++) {
      const frontier = frontierOf(from).map((s) => store(from)(s.level, s.index));
      const builder = new TreeBuilder(from, frontier);
      const seen: string[] = [];
      for (let i = from; i < 40; i++)
        builder.push(leaves[i]!, (level, index, hash) => {
          seen.push(`${level}/${index}`);
          expect(hex(hash)).toBe(hex(store(40)(level, index)));
        });
      const expected: string[] = [];
      for (let level = 0; 2 ** level <= 40; level++)
        for (let index = 0; (index + 1) * 2 ** level <= 40; index++)
          if ((index + 1) * 2 ** level > from) expected.push(`${level}/${index}`);
      expect(seen.sort()).toEqual(expected.sort());
      expect(hex(builder.root())).toBe(hex(roots[40]!));
    }
  });

  it('refuses a frontier of the wrong shape', () => {
    expect(() => new TreeBuilder(5, [leaves[0]!])).toThrow(/right-edge/);
  });
});

describe('properties (fast-check)', () => {
  const tree = fc
    .array(fc.uint8Array({ maxLength: 16 }), { minLength: 1, maxLength: 200 })
    .map((entries) => {
      const hashes = entries.map((e) => leafHash(e));
      const at: SubtreeHash = (level, index) =>
        treeHash(hashes.slice(index * 2 ** level, (index + 1) * 2 ** level));
      return { entries, hashes, at };
    });

  it('every leaf of every tree proves its inclusion, and a flipped bit anywhere refutes it', () => {
    fc.assert(
      fc.property(tree, fc.nat(), fc.nat(), ({ hashes, at }, i, bit) => {
        const n = hashes.length;
        const m = i % n;
        const root = rootAt(n, at);
        const proof = inclusionProof(m, n, at);
        expect(verifyInclusion(hashes[m]!, m, n, proof, root)).toBe(true);
        if (proof.length > 0)
          expect(
            verifyInclusion(hashes[m]!, m, n, flipBit(proof, bit % proof.length, bit % 256), root),
          ).toBe(false);
        expect(verifyInclusion(hashes[m]!, m, n, proof, flipBit([root], 0, bit % 256)[0]!)).toBe(
          false,
        );
      }),
    );
  });

  it('every prefix is consistent with the whole; a changed earlier entry is not', () => {
    fc.assert(
      fc.property(tree, fc.nat(), fc.nat(), ({ entries, hashes, at }, i, j) => {
        const n = hashes.length;
        const m = i % (n + 1);
        const proof = consistencyProof(m, n, at);
        const first = rootAt(m, at);
        expect(verifyConsistency(m, n, proof, first, rootAt(n, at))).toBe(true);
        if (m === 0) return;
        // History rewritten below m: the old root no longer fits the new tree.
        const k = j % m;
        const forged = hashes.map((h, x) =>
          x === k ? leafHash(Buffer.concat([entries[k]!, Buffer.from([1])])) : h,
        );
        const forgedAt: SubtreeHash = (level, index) =>
          treeHash(forged.slice(index * 2 ** level, (index + 1) * 2 ** level));
        const forgedProof = consistencyProof(m, n, forgedAt);
        expect(verifyConsistency(m, n, forgedProof, first, rootAt(n, forgedAt))).toBe(false);
      }),
    );
  });

  it('hashes a string entry as its UTF-8 bytes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        expect(hex(leafHash(s))).toBe(hex(leafHash(Buffer.from(s, 'utf8'))));
        expect(hex(leafHash(s))).toBe(hex(H(Buffer.from([0]), Buffer.from(s, 'utf8'))));
      }),
    );
  });

  it('nodeHash and leafHash never coincide for the same bytes (domain separation)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (a, b) => {
          expect(hex(leafHash(Buffer.concat([a, b])))).not.toBe(hex(nodeHash(a, b)));
        },
      ),
    );
  });
});
