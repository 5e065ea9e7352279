// The production build: the command, its workers and their dependencies bundled into a few
// files under dist/bin (esbuild). One file to load instead of ~500 ESM modules takes about
// 70 ms off every `ingot` command's start; types are checked by `npm run typecheck`.
//
// Layout contract: every chunk lands in dist/bin, next to the worker entries, so that
// `workerEntry(import.meta.url, 'worker')` (layer encoder) and 'hash-worker'
// (integrity verifier) find them, and '../../package.json' is the package's own.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, rmSync } from 'node:fs';
import { buildWeb } from './build-web.js';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** What the build is made of: a change here, not committed, makes the build dirty. */
const INPUTS = ['src', 'scripts/build.ts', 'package.json', 'package-lock.json'];

/**
 * The commit this build was made from, and whether its inputs differ from it; null outside
 * a git tree (an unpacked package), where `ingot version` then says "unknown".
 */
function gitState(): { commit: string; dirty: boolean } | null {
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const commit = git('rev-parse', 'HEAD').trim();
    const dirty = git('status', '--porcelain', '--', ...INPUTS).trim() !== '';
    return { commit, dirty };
  } catch {
    return null;
  }
}
const stamp = gitState();
rmSync(`${root}/dist`, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: {
    'bin/ingot': 'src/bin/ingot.ts',
    'bin/worker': 'src/adapters/layer-encoder/worker.ts',
    'bin/hash-worker': 'src/adapters/integrity/hash-worker.ts',
  },
  outdir: 'dist',
  chunkNames: 'bin/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // Native addons stay in node_modules; so does etcd3, which reads its .proto files from
  // beside its own code at load time (`${__dirname}/../proto/rpc.proto`).
  external: ['better-sqlite3', 'zstd-napi', 'etcd3'],
  // Bundled CommonJS dependencies require Node's own modules.
  banner: {
    js: "import { createRequire as __ingotCreateRequire } from 'node:module'; const require = __ingotCreateRequire(import.meta.url);",
  },
  // Stamped into bin/build-info.ts; left undefined where there is no git state.
  define:
    stamp === null
      ? {}
      : {
          INGOT_BUILD_COMMIT: JSON.stringify(stamp.commit),
          INGOT_BUILD_DIRTY: String(stamp.dirty),
        },
  logLevel: 'warning',
});
chmodSync(`${root}/dist/bin/ingot.js`, 0o755);

// The dashboard (src/web) into dist/web, which `ingot up` serves at /ui (bin/dashboard.ts).
await buildWeb(root);
