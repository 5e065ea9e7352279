import type { Descriptor, ImageIndex } from '../domain/oci.js';
import { formatPlatform } from './image.js';

/** What a base without a platform in the baseline is taken for, from an image index. */
export const DEFAULT_PLATFORM = 'linux/amd64';

/** "linux/arm64" and "linux/arm64/v8" are the same platform (v8 is arm64's only variant). */
export function samePlatform(a: string, b: string): boolean {
  const norm = (p: string) => p.replace(/^(linux\/arm64)\/v8$/, '$1');
  return norm(a) === norm(b);
}

/**
 * The entry of an image index (a multi-platform base) for platform `want`, or what the
 * index offers instead. Entries without a platform are never chosen: an index also lists
 * attestations and other artifacts, which are no image to build on. Pure.
 */
export function choosePlatform(
  index: ImageIndex,
  want: string,
): { readonly chosen: Descriptor } | { readonly offered: string } {
  const chosen = index.manifests.find(
    (d) => d.platform && samePlatform(formatPlatform(d.platform), want),
  );
  if (chosen) return { chosen };
  const offered = index.manifests
    .map((d) => (d.platform ? formatPlatform(d.platform) : '?'))
    .join(', ');
  return { offered };
}
