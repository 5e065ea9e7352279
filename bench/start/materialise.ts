import { spawnSync } from 'node:child_process';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { materialiseRootfs } from '../../src/adapters/rootfs/materialise.js';
import type { Digest } from '../../src/domain/digest.js';
import { digestHex } from '../../src/domain/digest.js';
import { openArtifact } from '../../src/services/artifact.js';
import { openStore, storeDir } from '../../test/helpers/app.js';
import { debianBaseLayout } from '../../test/helpers/debian-base.js';

/**
 * bench/start, first start of a large image: materialising the rootfs of an artifact built
 * FROM a real Debian minbase with python3-minimal (about 190 MB in about 9,400 paths, made
 * by mmdebstrap and cached: test/helpers/debian-base.ts), next to `umoci unpack` and
 * `tar -x` of the same layers from the same store, in the same run.
 *
 * Warm cache: every blob of the image is read right before each timed run (this machine's
 * page cache drains by itself, see shared field notes). Each run unpacks into a fresh folder
 * and the folder is removed (untimed) afterwards.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORK = join(ROOT, 'bench', '.work', 'materialise');
const HOME = join(WORK, 'home');
const INGOT = join(ROOT, 'dist', 'bin', 'ingot.js');
const RUNS = Math.max(3, Number(process.env['BENCH_RUNS'] ?? 5));

function sh(cmd: string, args: readonly string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The Debian base, and an image built FROM it with one small layer of its own. */
function prepare(): string {
  if (process.getuid?.() !== 0) throw new Error('bench/start needs root (chown to image owners)');
  spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const base = debianBaseLayout();
  rmSync(WORK, { recursive: true, force: true });
  const ctx = join(WORK, 'ctx');
  mkdirSync(join(ctx, 'app'), { recursive: true });
  writeFileSync(join(ctx, 'app', 'main.py'), 'print("hello")\n');
  writeFileSync(
    join(ctx, 'ingot.yaml'),
    `name: large\nversion: '1'\nfrom: { layout: ${JSON.stringify(base.layout)}, tag: ${base.tag} }\n` +
      'layers: [{ source: app, destination: /srv/app }]\n' +
      'config: { entrypoint: [/usr/bin/python3, /srv/app/main.py] }\n',
  );
  return sh('node', [INGOT, '--home', HOME, 'build', '-q', ctx]).trim();
}

async function main() {
  const digest = prepare();
  const artifact = await openArtifact(await openStore(HOME), digest as Digest);
  const storeRoot = storeDir(HOME);
  const blob = (d: string) => join(storeRoot, 'blobs', 'sha256', digestHex(d as Digest));
  const layerFiles = artifact.manifest.layers.map((l) => blob(l.digest));
  const blobs = [...layerFiles, blob(artifact.manifest.config.digest)];
  // umoci names images by tag, and a store's tags ("large:1") are not umoci's: the same
  // blobs, hard-linked into a layout of their own.
  const forUmoci = join(WORK, 'umoci-layout');
  mkdirSync(join(forUmoci, 'blobs', 'sha256'), { recursive: true });
  for (const b of [...blobs, blob(digest)])
    linkSync(b, join(forUmoci, 'blobs', 'sha256', basename(b)));
  writeFileSync(join(forUmoci, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const manifestBytes = readFileSync(blob(digest));
  writeFileSync(
    join(forUmoci, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest,
          size: manifestBytes.length,
          annotations: { 'org.opencontainers.image.ref.name': 'bench' },
        },
      ],
    }),
  );
  const size = blobs.reduce((n, b) => n + readFileSync(b).length, 0);
  const warm = () => {
    for (const b of blobs) readFileSync(b);
  };
  const fresh = (name: string) => {
    const dir = join(WORK, name);
    rmSync(dir, { recursive: true, force: true });
    return dir;
  };
  const timed = async (fn: () => unknown): Promise<number> => {
    warm();
    const t0 = performance.now();
    await fn();
    return performance.now() - t0;
  };

  const t = { ingot: [] as number[], umoci: [] as number[], tar: [] as number[] };
  for (let i = 0; i < RUNS; i++) {
    // Alternate the order, so neither side always runs right after the other's writes.
    const order =
      i % 2 === 0 ? (['ingot', 'umoci', 'tar'] as const) : (['tar', 'umoci', 'ingot'] as const);
    for (const which of order) {
      if (which === 'ingot') {
        const cacheDir = fresh('ingot-cache');
        t.ingot.push(
          await timed(() =>
            materialiseRootfs({
              cacheDir,
              storeRoot,
              image: artifact.digest,
              layers: artifact.manifest.layers,
              diffIds: artifact.config.rootfs.diff_ids,
              measurement: artifact.measurement,
              mountPoints: ['/proc', '/dev', '/sys'],
            }),
          ),
        );
        rmSync(cacheDir, { recursive: true, force: true });
      } else if (which === 'umoci') {
        const bundle = fresh('umoci-bundle');
        t.umoci.push(
          await timed(() => sh('umoci', ['unpack', '--image', `${forUmoci}:bench`, bundle])),
        );
        rmSync(bundle, { recursive: true, force: true });
      } else {
        const dir = fresh('tar-x');
        t.tar.push(
          await timed(() => {
            mkdirSync(dir);
            for (const f of layerFiles) sh('tar', ['-xzf', f, '-C', dir, '--numeric-owner']);
          }),
        );
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }

  const m = { ingot: median(t.ingot), umoci: median(t.umoci), tar: median(t.tar) };
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const files = artifact.measurement.entries.filter((e) => e.type === 'file');
  const bytes = files.reduce((n, e) => n + e.size, 0);
  console.log(
    `# bench/start, first start of a large image — medians of ${RUNS} runs, warm cache\n\n` +
      `${artifact.measurement.entries.length} paths (${files.length} files, ${(bytes / 1e6).toFixed(0)} MB), ` +
      `${artifact.manifest.layers.length} layers (${(size / 1e6).toFixed(0)} MB gzip)\n`,
  );
  console.log('| run | time | ratio to umoci unpack |\n| --- | ---: | ---: |');
  console.log(`| \`umoci unpack\` | ${s(m.umoci)} | 1.00× |`);
  console.log(`| \`tar -xzf\` of each layer | ${s(m.tar)} | ${(m.tar / m.umoci).toFixed(2)}× |`);
  console.log(
    `| **ingot materialise** (verify, unpack, measure) | **${s(m.ingot)}** | **${(m.ingot / m.umoci).toFixed(2)}×** |`,
  );
  console.log(
    `\nall runs (ms): ${JSON.stringify(t, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v) : v))}`,
  );
  console.log(`goal ≤ 1.0× umoci unpack: ${m.ingot <= m.umoci ? 'met' : 'NOT met'}`);
  rmSync(join(WORK, 'ingot-cache'), { recursive: true, force: true });
}

await main();
