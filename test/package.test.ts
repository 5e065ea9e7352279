import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useTempDirs } from './helpers/fs.js';

const tmp = useTempDirs();
const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** What `npm pack` needs of a checkout: the sources the build reads, and what is shipped. */
const CHECKOUT = [
  'src',
  'scripts',
  'schemas',
  'man',
  'package.json',
  'package-lock.json',
  'README.md',
  'tsconfig.json',
  'tsconfig.build.json',
];
/** Fetching the dependencies and compiling the two native ones takes minutes on two cores. */
const INSTALL_MS = 12 * 60_000;

function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = spawnSync(cmd, args, {
    cwd,
    // node first on PATH: the installed `ingot` starts with `#!/usr/bin/env node`.
    env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env['PATH']}`, ...env },
    encoding: 'utf8',
    timeout: INSTALL_MS,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('the npm package', () => {
  it(
    'packs what it runs, installs globally, and runs `ingot` from any folder',
    () => {
      // A checkout with no dist/: `npm pack` must build it (prepack). A copy, so that this
      // tree's dist/, which other tests run meanwhile, is not rebuilt under them.
      const checkout = tmp();
      for (const entry of CHECKOUT)
        cpSync(join(ROOT, entry), join(checkout, entry), { recursive: true });
      symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'));
      const out = tmp();
      const packed = run('npm', ['pack', '--pack-destination', out], checkout);
      expect(packed.code, packed.stderr).toBe(0);
      const tarball = join(
        out,
        readdirSync(out).find((f) => f.endsWith('.tgz'))!,
      );
      const listed = run('tar', ['-tzf', tarball], out).stdout.split('\n');
      expect(listed).toContain('package/dist/bin/ingot.js');
      expect(listed).toContain('package/schemas/fleet.schema.json');
      // Not the tests, the sources or the examples' vendored binaries.
      expect(listed.filter((f) => /^package\/(src|test|examples)\//.test(f))).toEqual([]);

      const prefix = join(tmp(), 'prefix');
      const installed = run(
        'npm',
        [
          'install',
          '-g',
          '--prefix',
          prefix,
          tarball,
          '--prefer-offline',
          '--no-audit',
          '--no-fund',
        ],
        out,
      );
      expect(installed.code, installed.stderr).toBe(0);
      const bin = join(prefix, 'bin', 'ingot');
      expect(existsSync(bin)).toBe(true);

      const elsewhere = tmp();
      const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
        version: string;
      };
      const v = run(bin, ['--version'], elsewhere);
      expect(v.code, v.stderr).toBe(0);
      expect(v.stdout.startsWith(`${version.version} `)).toBe(true);

      // A build from another folder: the store, SQLite and zstd's native code all load.
      const home = join(tmp(), 'home');
      mkdirSync(elsewhere, { recursive: true });
      const built = run(
        bin,
        ['build', '-q', '-c', 'zstd', join(ROOT, 'examples', 'hello')],
        elsewhere,
        {
          INGOT_HOME: home,
        },
      );
      expect(built.code, built.stderr).toBe(0);
      expect(built.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
      const images = run(bin, ['images', '-o', 'json'], elsewhere, { INGOT_HOME: home });
      expect(images.code, images.stderr).toBe(0);
      expect(images.stdout).toContain('hello:1.0.0');
    },
    INSTALL_MS * 2,
  );
});
