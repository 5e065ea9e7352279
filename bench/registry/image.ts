import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { content, ensureTree, plan, type FileSpec } from '../build/generate.js';

/**
 * The image bench/registry moves: bench/build's 300 MB tree built by Ingot, signed, in a
 * home of its own; what is in it (layers, attachments) read from the store's files; and the
 * commands the bench runs, timed as whole processes.
 */

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const WORK = join(ROOT, 'bench', '.work', 'registry');
/** Homes, pulled copies: removed at the end of a run. */
export const OUT = join(WORK, 'out');
const CTX = join(WORK, 'ctx');
const TREE = join(CTX, 'tree');
export const HOME = join(OUT, 'home');
export const STORE = join(HOME, 'store');
const KEYS = join(OUT, 'keys');
export const PUB = join(KEYS, 'bench.pub');
const INGOT = join(ROOT, 'dist', 'bin', 'ingot.js');
/** The store's tag for the image (name: bench, version: "1"). */
export const TAG = 'bench:1';

export interface Blob {
  readonly digest: string;
  readonly size: number;
}

export interface ImageContents {
  readonly digest: string;
  readonly manifest: Blob;
  readonly config: Blob;
  readonly layers: readonly Blob[];
  /** Each referrer (measurement, SBOM, signature bundle): its manifest and its blobs. */
  readonly attachments: readonly {
    readonly artifactType: string;
    readonly manifest: Blob;
    readonly blobs: readonly Blob[];
  }[];
}

export interface Ran {
  readonly ms: number;
  /** Wall-clock time (ms since the epoch) just before the process was spawned. */
  readonly startedAt: number;
  readonly stdout: string;
}

/**
 * Run a command to its end, asynchronously (the counting proxy lives in this process and
 * must keep forwarding meanwhile), and time it from spawn to exit.
 */
export function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  return new Promise<Ran>((resolve, reject) => {
    const startedAt = Date.now();
    const t = performance.now();
    const child = spawn(cmd, [...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - t;
      const stdout = Buffer.concat(out).toString('utf8');
      if (code === 0) resolve({ ms, startedAt, stdout });
      else
        reject(
          new Error(
            `${cmd} ${args.join(' ')} failed (${code}):\n${Buffer.concat(err).toString('utf8')}${stdout}`,
          ),
        );
    });
  });
}

/** `node dist/bin/ingot.js …` with INGOT_HOME = home. */
export function ingot(home: string, ...args: string[]): Promise<Ran> {
  return run(process.execPath, [INGOT, ...args], { INGOT_HOME: home });
}

export function sh(cmd: string, args: readonly string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

export function need(tool: string): void {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
    throw new Error(`${tool} is not installed: run ./scripts/setup`);
}

/** The digest Ingot prints last. */
export function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}

/**
 * Ingot built, the tree in place (cached across runs), a fresh signing key and a fresh home
 * holding the signed baseline image (untimed). Returns its digest.
 */
export async function prepareImage(): Promise<{ digest: string; treeBytes: number }> {
  spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const { bytes } = ensureTree(TREE);
  restoreChangedFile();
  writeFileSync(
    join(CTX, 'ingot.yaml'),
    'name: bench\nversion: "1"\nlayers:\n  - source: tree\n    destination: /opt/app\n',
  );
  rmSync(OUT, { recursive: true, force: true });
  await ingot(HOME, 'key', 'generate', '--out', KEYS, '--name', 'bench');
  return { digest: await build(), treeBytes: bytes };
}

/** Build the tree as it is now, signed, into HOME (tag bench:1); its digest. */
export async function build(): Promise<string> {
  return lastLine((await ingot(HOME, 'build', '-q', '--key', join(KEYS, 'bench.key'), CTX)).stdout);
}

/** The file the re-push changes: the first file of bench/build's plan. */
const CHANGED: FileSpec = plan()[0]!;

/** Give the changed file its variant `v` (1, 2, …): its content with one line added. */
export function changeFile(v: number): string {
  writeFileSync(
    join(TREE, CHANGED.path),
    Buffer.concat([content(CHANGED), Buffer.from(`\nchange ${v}\n`)]),
  );
  return CHANGED.path;
}

export function restoreChangedFile(): void {
  if (existsSync(join(TREE, CHANGED.path)))
    writeFileSync(join(TREE, CHANGED.path), content(CHANGED));
}

interface Manifest {
  readonly artifactType?: string;
  readonly config: Blob;
  readonly layers: readonly Blob[];
}

function readJson<T>(digest: string): T {
  return JSON.parse(
    readFileSync(join(STORE, 'blobs', 'sha256', digest.replace(/^sha256:/, '')), 'utf8'),
  ) as T;
}

/** What the store holds of an image: its manifest, config, layers and attachments. */
export function readImage(digest: string): ImageContents {
  const index = JSON.parse(readFileSync(join(STORE, 'index.json'), 'utf8')) as {
    manifests: (Blob & { annotations?: Record<string, string> })[];
  };
  const self = index.manifests.find((m) => m.digest === digest);
  if (!self) throw new Error(`${digest} is not in ${STORE}`);
  const manifest = readJson<Manifest>(digest);
  const attachments = index.manifests
    .filter((m) => m.annotations?.['dev.ingot.subject'] === digest)
    .map((m) => {
      const a = readJson<Manifest>(m.digest);
      return {
        artifactType: a.artifactType ?? '?',
        manifest: { digest: m.digest, size: m.size },
        blobs: [a.config, ...a.layers],
      };
    });
  return {
    digest,
    manifest: { digest, size: self.size },
    config: manifest.config,
    layers: manifest.layers,
    attachments,
  };
}

/** Every blob a push of the image sends, manifests included. */
export function allBlobs(image: ImageContents): Blob[] {
  return [
    image.manifest,
    image.config,
    ...image.layers,
    ...image.attachments.flatMap((a) => [a.manifest, ...a.blobs]),
  ];
}

export const sum = (blobs: readonly Blob[]) => blobs.reduce((n, b) => n + b.size, 0);
export const median = (xs: readonly number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
