import { basename, parentOf } from './paths.js';

/**
 * OCI whiteouts (image-spec layer.md): ".wh.<name>" removes <name> from lower layers;
 * ".wh..wh..opq" hides every lower child of its directory. Other ".wh..wh." names are
 * AUFS internals that must never reach an image: they are refused as invalid.
 */
export type EntryRole =
  | { readonly kind: 'entry' }
  | { readonly kind: 'whiteout'; readonly target: string }
  | { readonly kind: 'opaque'; readonly dir: string }
  | { readonly kind: 'invalid' };

const PREFIX = '.wh.';
const OPAQUE = '.wh..wh..opq';

export function classifyEntry(imagePath: string): EntryRole {
  const name = basename(imagePath);
  if (!name.startsWith(PREFIX)) return { kind: 'entry' };
  const dir = parentOf(imagePath) ?? '/';
  if (name === OPAQUE) return { kind: 'opaque', dir };
  const hidden = name.slice(PREFIX.length);
  if (hidden === '' || hidden === '.' || hidden === '..' || hidden.startsWith(PREFIX)) {
    return { kind: 'invalid' };
  }
  return { kind: 'whiteout', target: dir === '/' ? `/${hidden}` : `${dir}/${hidden}` };
}
