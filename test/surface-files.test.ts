import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GENERATED_FOLDERS, surfaceFiles } from '../scripts/surface.js';

/*
 * The committed schemas, OpenAPI document and man pages are what `npm run schemas` makes
 * from the code now: a schema, route or command changed without them fails here.
 */

const root = join(import.meta.dirname, '..');
const files = await surfaceFiles();

describe('generated files', () => {
  for (const [path, text] of files)
    it(`${path} is up to date (npm run schemas)`, () => {
      expect(readFileSync(join(root, path), 'utf8')).toBe(text);
    });

  it('nothing stale is left beside them', () => {
    for (const folder of GENERATED_FOLDERS)
      for (const name of readdirSync(join(root, folder)))
        expect(files.has(`${folder}/${name}`), `${folder}/${name}`).toBe(true);
  });

  it('there is a man page for ingot and for each of its commands', () => {
    const pages = [...files.keys()].filter((p) => p.startsWith('man/'));
    expect(pages).toContain('man/ingot.1');
    for (const command of ['build', 'deploy', 'debug', 'key', 'ledger', 'completion', 'version'])
      expect(pages).toContain(`man/ingot-${command}.1`);
    // Subcommands are described on their command's page.
    expect(files.get('man/ingot-ledger.1')).toContain('.SS "ingot ledger verify"');
  });

  it('the man pages are valid roff: groff formats them without a warning', () => {
    for (const [path, text] of files) {
      if (!path.startsWith('man/')) continue;
      const groff = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z'], {
        input: text,
        encoding: 'utf8',
      });
      expect(groff.error, path).toBeUndefined();
      expect(groff.stderr, path).toBe('');
      expect(groff.status, path).toBe(0);
    }
  });
});
