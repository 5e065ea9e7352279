import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startRegistry, type TestRegistry } from '../../test/helpers/registry.js';
import {
  build,
  changeFile,
  HOME,
  ingot,
  OUT,
  PUB,
  readImage,
  run,
  sh,
  STORE,
  sum,
  TAG,
  type Blob,
  type ImageContents,
  type Ran,
} from './image.js';
import { breakdown, type Share } from './breakdown.js';
import { curlPull, nodeFloorPull, nodeFloorPush, nodeStart } from './floors.js';
import { startCountingProxy, type CountingProxy, type SeenRequest } from './proxy.js';

/**
 * The three measurements of bench/registry, each Ingot beside skopeo in the same round:
 * cold push and pull, pull up to the admission decision, and a re-push after one changed file.
 */

/** Every registry and proxy started, so that the run stops them all whatever happens. */
const live = new Set<{ stop(): Promise<void> }>();

export async function registry(): Promise<TestRegistry> {
  const r = await startRegistry();
  live.add(r);
  return r;
}

async function stop(r: { stop(): Promise<void> }): Promise<void> {
  live.delete(r);
  await r.stop();
}

export async function proxyTo(r: TestRegistry): Promise<CountingProxy> {
  const [host = '', port = ''] = r.authority.split(':');
  const p = await startCountingProxy({ host, port: Number(port) });
  live.add({ stop: () => p.close() });
  return p;
}

export async function stopAll(): Promise<void> {
  await Promise.allSettled([...live].map((r) => stop(r)));
}

/** An empty folder under OUT, made anew. */
function fresh(name: string): string {
  const dir = join(OUT, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Dirty pages of the previous run written out before the next is timed (bench/build). */
const sync = () => sh('sync', []);

interface PushJson {
  blobs: { uploaded: number; uploadedBytes: number; mounted: number; present: number };
}

interface PullJson {
  ok: boolean;
  digest: string;
  layers: { fetched: number } | null;
  timings: { started: string; decided: string };
}

export interface ColdRound {
  readonly ingotPush: number;
  readonly skopeoPush: number;
  readonly ingotPull: number;
  readonly skopeoPull: number;
  /** From spawning `ingot pull` to the pull's first step (start-up), and to its admission decision. */
  readonly pullStarted: number;
  readonly decided: number;
  readonly uploadedBytes: number;
  /** The limits beside them (floors.ts): a bare Node.js fetch, curl, `node -e 0`. */
  readonly nodeFloorPull: number;
  readonly curlPull: number;
  readonly nodeStart: number;
}

const ingotPush = (to: string) =>
  ingot(HOME, 'push', TAG, `${to}/bench/app:1`, '--plain-http', '-o', 'json');

/** Ingot's cold push: nothing of the image in the registry, no hint of where to mount from. */
async function ingotColdPush(to: TestRegistry): Promise<{ ms: number; uploadedBytes: number }> {
  // Ingot remembers where it saw blobs (for mounts): a cold push must not know.
  rmSync(join(STORE, '.ingot', 'registry-blobs.json'), { force: true });
  sync();
  const r = await ingotPush(to.authority);
  const { blobs } = JSON.parse(r.stdout) as PushJson;
  if (blobs.mounted !== 0) throw new Error(`a cold push mounted ${blobs.mounted} blob(s)`);
  return { ms: r.ms, uploadedBytes: blobs.uploadedBytes };
}

const skopeoCopyTo = (to: string) =>
  run('skopeo', [
    'copy',
    '-q',
    '--dest-tls-verify=false',
    `oci:${STORE}:${TAG}`,
    `docker://${to}/bench/app:1`,
  ]);

async function skopeoPush(to: string): Promise<number> {
  sync();
  return (await skopeoCopyTo(to)).ms;
}

/** `ingot pull` by digest into a fresh home; the time, and the decision's time from spawn. */
async function ingotPull(from: string, image: ImageContents) {
  const home = join(fresh('pull'), 'home');
  sync();
  const src = `${from}/bench/app@${image.digest}`;
  const r = await ingot(home, 'pull', src, '--plain-http', '--key', PUB, '-o', 'json');
  const report = JSON.parse(r.stdout) as PullJson;
  if (
    !report.ok ||
    report.digest !== image.digest ||
    report.layers?.fetched !== image.layers.length
  )
    throw new Error(`ingot pull did not fetch the whole image: ${r.stdout.slice(0, 400)}`);
  rmSync(join(OUT, 'pull'), { recursive: true, force: true });
  const decidedAt = Date.parse(report.timings.decided);
  return {
    ms: r.ms,
    decidedAt,
    decided: decidedAt - r.startedAt,
    started: Date.parse(report.timings.started) - r.startedAt,
    startedAt: r.startedAt,
  };
}

async function skopeoPull(from: string, digest: string): Promise<number> {
  const dir = fresh('pull-oci');
  sync();
  const src = `docker://${from}/bench/app@${digest}`;
  const r = await run('skopeo', ['copy', '-q', '--src-tls-verify=false', src, `oci:${dir}:bench`]);
  rmSync(dir, { recursive: true, force: true });
  return r.ms;
}

/**
 * One round: two fresh registries, one for each tool's push; then both pull the image Ingot
 * pushed (skopeo ignores its attachments). The order of the tools alternates by round.
 */
export async function coldRound(round: number, image: ImageContents): Promise<ColdRound> {
  const [forIngot, forSkopeo] = await Promise.all([registry(), registry()]);
  try {
    const ingotFirst = round % 2 === 0;
    let pushed = { ms: 0, uploadedBytes: 0 };
    let skopeoPushMs = 0;
    if (!ingotFirst) skopeoPushMs = await skopeoPush(forSkopeo.authority);
    pushed = await ingotColdPush(forIngot);
    if (ingotFirst) skopeoPushMs = await skopeoPush(forSkopeo.authority);

    // The three pulls take turns going first (the pages a run gets depend on what ran just
    // before it); curl and `node -e 0` after them.
    let skopeoPullMs = 0;
    let floorPullMs = 0;
    let pulled: Awaited<ReturnType<typeof ingotPull>> | undefined;
    const pulls = [
      async () => void (pulled = await ingotPull(forIngot.authority, image)),
      async () => void (skopeoPullMs = await skopeoPull(forIngot.authority, image.digest)),
      async () => void (floorPullMs = await nodeFloorPull(forIngot.authority, image)),
    ];
    for (let i = 0; i < pulls.length; i++) await pulls[(round + i) % pulls.length]!();
    if (pulled === undefined) throw new Error('ingot pull did not run');
    const floors = {
      nodeFloorPull: floorPullMs,
      curlPull: await curlPull(forIngot.authority, image),
      nodeStart: await nodeStart(),
    };
    return {
      ...floors,
      ingotPush: pushed.ms,
      skopeoPush: skopeoPushMs,
      ingotPull: pulled.ms,
      skopeoPull: skopeoPullMs,
      pullStarted: pulled.started,
      decided: pulled.decided,
      uploadedBytes: pushed.uploadedBytes,
    };
  } finally {
    await Promise.all([stop(forIngot), stop(forSkopeo)]);
  }
}

const blobOf = (path: string) => /\/blobs\/(sha256:[0-9a-f]{64})/.exec(path)?.[1];

export interface AdmissionRun {
  /** Spawn → decision, spawn → first layer GET at the proxy, in ms. */
  readonly decided: number;
  readonly firstLayer: number;
  /** Layer GETs the proxy saw before the decision (must be 0). */
  readonly layerGetsBefore: number;
  /** What was fetched before the decision: requests, and bytes of the blobs among them. */
  readonly requestsBefore: number;
  readonly blobBytesBefore: number;
}

/** `ingot pull` through the counting proxy: when the first layer is asked for. */
export async function admissionRun(proxy: CountingProxy, image: ImageContents) {
  proxy.reset();
  const pulled = await ingotPull(proxy.authority, image);
  const layers = new Set(image.layers.map((l) => l.digest));
  const sizes = new Map(
    image.attachments.flatMap((a) => a.blobs).map((b) => [b.digest, b.size] as const),
  ).set(image.config.digest, image.config.size);
  const isLayerGet = (q: SeenRequest) => q.method === 'GET' && layers.has(blobOf(q.path) ?? '');
  const layerGets = proxy.requests().filter(isLayerGet);
  const before = proxy.requests().filter((q) => q.at < pulled.decidedAt);
  if (layerGets.length !== image.layers.length)
    throw new Error(`the proxy saw ${layerGets.length} layer GETs, not ${image.layers.length}`);
  return {
    decided: pulled.decided,
    firstLayer: Math.min(...layerGets.map((q) => q.at)) - pulled.startedAt,
    layerGetsBefore: layerGets.filter((q) => q.at < pulled.decidedAt).length,
    requestsBefore: before.length,
    blobBytesBefore: before.reduce((n, q) => n + (sizes.get(blobOf(q.path) ?? '') ?? 0), 0),
  } satisfies AdmissionRun;
}

export interface RepushRound {
  /** Timed against a registry of its own, without the proxy. */
  readonly ingotMs: number;
  readonly skopeoMs: number;
  /** Counted by the proxy, in a push of the same image to another registry. */
  readonly ingotSent: number;
  readonly skopeoSent: number;
  readonly proxiedMs: { readonly ingot: number; readonly skopeo: number };
  /** The layers whose digest the previous image did not have. */
  readonly changed: readonly Blob[];
  /** The bare Node.js upload of the changed part(s) alone (floors.ts). */
  readonly floorMs: number;
  /** Ingot's bytes and time by what they carried (the proxied push). */
  readonly breakdown: ReadonlyMap<string, Share>;
  readonly image: ImageContents;
}

/**
 * Where each tool re-pushes: a registry it talks to directly (timed) and one behind a
 * counting proxy (bytes), both holding the previous image in bench/app.
 */
export interface RepushTargets {
  readonly ingot: { readonly direct: string; readonly counted: CountingProxy };
  readonly skopeo: { readonly direct: string; readonly counted: CountingProxy };
}

/** One tool's re-push: timed directly, then counted through its proxy. */
async function repushBoth(
  target: RepushTargets['ingot'],
  push: (to: string) => Promise<Ran>,
): Promise<{ direct: Ran; counted: Ran; sent: number; requests: readonly SeenRequest[] }> {
  sync();
  const direct = await push(target.direct);
  target.counted.reset();
  sync();
  const counted = await push(target.counted.authority);
  return { direct, counted, sent: target.counted.sent(), requests: target.counted.requests() };
}

/**
 * Change one file, rebuild (warm, untimed), and push the new image to the repositories that
 * hold the previous one. The tool that goes first alternates.
 */
export async function repushRound(
  v: number,
  previous: ImageContents,
  targets: RepushTargets,
): Promise<RepushRound> {
  changeFile(v);
  const image = readImage(await build());
  const had = new Set(previous.layers.map((l) => l.digest));
  const changed = image.layers.filter((l) => !had.has(l.digest));
  const viaIngot = () => repushBoth(targets.ingot, ingotPush);
  const viaSkopeo = () => repushBoth(targets.skopeo, skopeoCopyTo);
  const skopeoFirst = v % 2 === 0 ? await viaSkopeo() : null;
  const i = await viaIngot();
  const k = skopeoFirst ?? (await viaSkopeo());
  const floorMs = await nodeFloorPush(targets.ingot.direct, changed);
  return {
    floorMs,
    ingotMs: i.direct.ms,
    skopeoMs: k.direct.ms,
    ingotSent: i.sent,
    skopeoSent: k.sent,
    proxiedMs: { ingot: i.counted.ms, skopeo: k.counted.ms },
    changed,
    breakdown: breakdown(i.requests, image, new Set(changed.map((l) => l.digest)), i.counted),
    image,
  };
}

/** Every repository given the baseline (untimed). */
export async function seedRepositories(targets: RepushTargets): Promise<void> {
  for (const to of [targets.ingot.direct, targets.ingot.counted.authority]) await ingotPush(to);
  for (const to of [targets.skopeo.direct, targets.skopeo.counted.authority])
    await skopeoCopyTo(to);
}

export const changedSize = (r: RepushRound) => sum(r.changed);
