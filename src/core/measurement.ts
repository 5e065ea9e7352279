import type { DroppedEntry, MeasuredEntry } from '../domain/measurement.js';
import { MediaType } from '../domain/media-types.js';

/**
 * The measurement document as canonical JSON (RFC 8785), entries in the (tree) order
 * given. Written directly rather than through canonicalJson: it is the largest document a
 * build writes, and its shape is fixed. measurement.test.ts holds it to canonicalJson's bytes.
 * `dropped` appears only when something was dropped, so that images without device nodes
 * keep the bytes (and digests) they always had.
 */
export function encodeMeasurement(
  entries: readonly MeasuredEntry[],
  dropped: readonly DroppedEntry[] = [],
): Buffer {
  const parts: string[] = [];
  if (dropped.length > 0) {
    // Keys in sorted order: layer, path, type.
    const list = dropped.map(
      (d) =>
        `{"layer":${JSON.stringify(d.layer)},"path":${JSON.stringify(d.path)},"type":${JSON.stringify(d.type)}}`,
    );
    parts.push(`{"dropped":[${list.join(',')}],"entries":[`);
  } else parts.push('{"entries":[');
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    // Keys in sorted order: gid, hardlink, mode, path, sha256, size, target, type, uid.
    let s = `${i > 0 ? ',' : ''}{"gid":${e.gid},`;
    if (e.hardlink !== undefined) s += `"hardlink":${JSON.stringify(e.hardlink)},`;
    s += `"mode":${e.mode},"path":${JSON.stringify(e.path)},`;
    if (e.sha256 !== undefined) s += `"sha256":${JSON.stringify(e.sha256)},`;
    s += `"size":${e.size},`;
    if (e.target !== undefined) s += `"target":${JSON.stringify(e.target)},`;
    s += `"type":${JSON.stringify(e.type)},"uid":${e.uid}}`;
    parts.push(s);
  }
  parts.push(`],"mediaType":${JSON.stringify(MediaType.measurement)}}`);
  return Buffer.from(parts.join(''), 'utf8');
}
