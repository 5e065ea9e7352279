import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A deterministic tree for build benchmarks: 20,000 files, about 300 MB, in 1,000 folders.
 * File sizes are log-uniform from 128 B to 64 KiB plus twenty 4.5 MiB files; a little over
 * half of the bytes are text-like (compress about 3:1), the rest random (incompressible),
 * as in a typical application image. Same seed, same bytes, on every machine.
 */

export const GENERATOR = 'bench-tree-v1';
export const FILES = 20_000;
const BIG = 20;

/** splitmix32: small, fast, and good enough to make unpredictable-looking test data. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

const WORDS = (
  'the of and to in is that for it as was with be by on not he this are or his from at which but have an they you were her she there one all ' +
  'would their we him been has when who will more no if out so said what up its about into than them can only other new some could time these ' +
  'container image layer digest build artifact replace instance fleet health measure policy signature ledger record proof immutable baseline ' +
  'function return const import export value string number object array error config server client request response handler module package'
).split(' ');

export interface FileSpec {
  readonly path: string;
  readonly size: number;
  readonly text: boolean;
  readonly seed: number;
}

export function plan(): FileSpec[] {
  const next = rng(42);
  const out: FileSpec[] = [];
  for (let i = 0; i < FILES; i++) {
    const big = i % (FILES / BIG) === 7;
    const u = next() / 2 ** 32;
    const size = big
      ? 4.5 * 1024 * 1024 + (next() % 4096)
      : Math.floor(128 * Math.exp(u * Math.log(512)));
    const dir = `d${String(i % 40).padStart(2, '0')}/s${String(Math.floor(i / 40) % 25).padStart(2, '0')}`;
    out.push({
      path: `${dir}/f${String(i).padStart(5, '0')}.${big ? 'bin' : 'dat'}`,
      size,
      text: next() % 100 < 55,
      seed: next(),
    });
  }
  return out;
}

export function content(spec: FileSpec): Buffer {
  const next = rng(spec.seed);
  const buf = Buffer.allocUnsafe(spec.size);
  if (!spec.text) {
    let i = 0;
    for (; i + 4 <= spec.size; i += 4) buf.writeUInt32LE(next(), i);
    for (; i < spec.size; i++) buf[i] = next() & 0xff;
    return buf;
  }
  let pos = 0;
  let col = 0;
  while (pos < spec.size) {
    const word = WORDS[next() % WORDS.length]!;
    const piece = col > 70 ? '\n' : col === 0 ? word : ` ${word}`;
    col = piece === '\n' ? 0 : col + piece.length;
    pos += buf.write(piece, pos, 'latin1');
  }
  return buf;
}

/** Write the tree under `root` unless this generator already wrote it there. */
export function ensureTree(root: string): { files: number; bytes: number } {
  const specs = plan();
  const bytes = specs.reduce((n, s) => n + s.size, 0);
  const marker = join(root, '..', `${GENERATOR}.done`);
  if (existsSync(marker) && readFileSync(marker, 'utf8') === String(bytes))
    return { files: specs.length, bytes };
  rmSync(root, { recursive: true, force: true });
  for (const s of specs) {
    const path = join(root, s.path);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, content(s));
  }
  writeFileSync(marker, String(bytes));
  return { files: specs.length, bytes };
}
