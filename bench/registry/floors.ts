import { buildSync } from 'esbuild';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OUT, run, sh, STORE, WORK, type Blob, type ImageContents } from './image.js';

/**
 * The limits Ingot's pull and re-push are measured against, besides skopeo, timed in the
 * same round: what the platform and the machine allow before any of Ingot's own work.
 */

const FLOOR = join(WORK, 'floor.mjs');

/** bench/registry/floor.ts as plain JavaScript, so that it starts as any Node program does. */
export function buildFloor(): void {
  buildSync({
    entryPoints: [fileURLToPath(new URL('./floor.ts', import.meta.url))],
    outfile: FLOOR,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
}

function freshDir(name: string): string {
  const dir = join(OUT, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The bare Node.js fetch of the layers (floor.ts), start-up included. */
export async function nodeFloorPull(from: string, image: ImageContents): Promise<number> {
  const dir = freshDir('floor');
  sh('sync', []);
  const digests = image.layers.map((l) => l.digest);
  const r = await run(process.execPath, [FLOOR, 'pull', from, 'bench/app', dir, ...digests]);
  rmSync(dir, { recursive: true, force: true });
  return r.ms;
}

/**
 * curl fetching the same layers, 4 at a time, into files: how fast this registry serves
 * them to a client that neither hashes nor starts a runtime.
 */
export async function curlPull(from: string, image: ImageContents): Promise<number> {
  const dir = freshDir('curl');
  const config = join(OUT, 'curl.cfg');
  writeFileSync(
    config,
    image.layers
      .map(
        (l) =>
          `url = "http://${from}/v2/bench/app/blobs/${l.digest}"\noutput = "${join(dir, l.digest.slice(7))}"\n`,
      )
      .join(''),
  );
  sh('sync', []);
  const r = await run('curl', ['-sSf', '--parallel', '--parallel-max', '4', '-K', config]);
  rmSync(dir, { recursive: true, force: true });
  return r.ms;
}

/**
 * The bare Node.js upload of a re-push's changed part(s), each to a repository that has
 * never seen it (so neither mounted nor present), start-up included: what any Node.js
 * re-push must spend at the least.
 */
export async function nodeFloorPush(to: string, changed: readonly Blob[]): Promise<number> {
  let ms = 0;
  for (const blob of changed) {
    const repo = `bench/floor-${blob.digest.slice(7, 19)}`;
    const file = join(STORE, 'blobs', 'sha256', blob.digest.slice(7));
    sh('sync', []);
    ms += (await run(process.execPath, [FLOOR, 'push', to, repo, file, blob.digest])).ms;
  }
  return ms;
}

/** `node -e 0`: the start-up every Node.js command pays before its first line runs. */
export async function nodeStart(): Promise<number> {
  return (await run(process.execPath, ['-e', '0'])).ms;
}
