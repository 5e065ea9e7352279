// `npm run schemas`: writes the generated surface (scripts/surface.ts) into the tree, and
// removes what is no longer generated. Run it after changing a zod schema, a route or a
// command; test/surface-files.test.ts fails until the committed files match.
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GENERATED_FOLDERS, surfaceFiles } from './surface.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const files = await surfaceFiles();
for (const [path, text] of files) {
  const target = join(root, path);
  mkdirSync(dirname(target), { recursive: true });
  // A temporary name, then a rename: an editor reading the schema never sees half of it.
  writeFileSync(`${target}.tmp`, text);
  renameSync(`${target}.tmp`, target);
}
for (const folder of GENERATED_FOLDERS)
  for (const name of readdirSync(join(root, folder)))
    if (!files.has(`${folder}/${name}`)) rmSync(join(root, folder, name));
console.log(`wrote ${files.size} files into ${GENERATED_FOLDERS.join('/, ')}/`);
