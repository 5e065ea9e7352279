import { createHash } from 'node:crypto';
import type { PlannedEntry } from '../../core/layer-plan.js';
import type { PartRange } from '../../core/layer-parts.js';
import { DEFAULT_SEGMENTS, planSegments } from '../../core/segments.js';
import { encodeHeader } from '../../core/tar/header.js';

/**
 * A part's identity: its entries' tar header fields, each file's content digest, the codec
 * and the tar encoding rules. Equal keys mean equal tar streams and, under one codec id,
 * equal blobs. Fields are NUL-terminated (no name or number can hold a NUL), so the
 * sequence reads back one way only.
 */
export function partKey(
  codec: string,
  entries: readonly PlannedEntry[],
  range: PartRange,
  sha256Of: (entry: number) => string | undefined,
): string {
  let text = `ingot-part-v1\0${headerRules()}\0${segmentRules()}\0${codec}\0`;
  for (let i = range.start; i < range.end; i++) {
    const { name, type, mode, uid, gid, size, mtime, linkname } = entries[i]!.header;
    let content = '';
    if (type === 'file') {
      const sha256 = sha256Of(i);
      if (sha256 === undefined) throw new Error(`no digest for ${name}`);
      content = sha256;
    }
    text += `${name}\0${type}\0${mode}\0${uid}\0${gid}\0${size}\0${mtime}\0${linkname ?? ''}\0${content}\0`;
  }
  return `${createHash('sha256').update(text).digest('hex')}:${codec}`;
}

let cuts: string | null = null;
/**
 * A digest of where this build of Ingot cuts a part into segments (each compressed alone):
 * the same tar stream cut elsewhere compresses to other bytes, so a change to the cutting
 * rules must change every key too.
 */
function segmentRules(): string {
  const sample = Array.from({ length: 64 }, (_, i) => ({
    name: `d${i % 7}/f${i}`,
    headerLength: 512,
    size: (i * 7919) % (3 * DEFAULT_SEGMENTS.chunk),
  }));
  cuts ??= createHash('sha256')
    .update(JSON.stringify([DEFAULT_SEGMENTS, planSegments(sample).segments]))
    .digest('hex')
    .slice(0, 16);
  return cuts;
}

let rules: string | null = null;
/**
 * A digest of how this build of Ingot encodes headers, over samples that take every path
 * of the encoder (ustar, pax names and link targets, big numbers): a part key names header
 * fields, not bytes, so a change to the encoding must change every key.
 */
function headerRules(): string {
  const common = { mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0 };
  rules ??= createHash('sha256')
    .update(
      Buffer.concat(
        [
          { ...common, name: 'a/b', type: 'file' as const, size: 5 },
          { ...common, name: 'a', type: 'dir' as const, mode: 0o755 },
          {
            ...common,
            name: 'l',
            type: 'symlink' as const,
            mode: 0o777,
            linkname: 'x'.repeat(150),
          },
          { ...common, name: `é/${'n'.repeat(120)}`, type: 'file' as const },
          {
            ...common,
            name: 'big',
            type: 'file' as const,
            uid: 2 ** 31,
            size: 2 ** 34,
            mtime: 2 ** 34,
          },
        ].map(encodeHeader),
      ),
    )
    .digest('hex')
    .slice(0, 16);
  return rules;
}

export function fileCount(entries: readonly PlannedEntry[], range: PartRange): number {
  let n = 0;
  for (let i = range.start; i < range.end; i++) if (entries[i]!.header.type === 'file') n++;
  return n;
}
