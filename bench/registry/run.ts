import { rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import {
  allBlobs,
  median,
  need,
  OUT,
  prepareImage,
  readImage,
  restoreChangedFile,
  sum,
  WORK,
} from './image.js';
import { buildFloor } from './floors.js';
import {
  admissionRun,
  changedSize,
  coldRound,
  proxyTo,
  registry,
  repushRound,
  seedRepositories,
  stopAll,
  type AdmissionRun,
  type ColdRound,
  type RepushRound,
  type RepushTargets,
} from './phases.js';

/**
 * bench/registry (issue 17): Ingot's push and pull of bench/build's 300 MB image against a
 * local registry (Debian's docker-registry), beside `skopeo copy` of the same image, in one
 * run. Cold push and pull (fresh registry, fresh home), the time to the admission decision,
 * and a re-push after one changed file, its bytes counted by a proxy. Medians of BENCH_RUNS
 * rounds (default 3); the order of the tools alternates from round to round.
 */

const RUNS = Math.max(1, Number(process.env['BENCH_RUNS'] ?? 3));

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mb = (bytes: number) =>
  bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e3).toFixed(1)} kB`;
const list = (xs: readonly number[], f: (x: number) => string) => xs.map(f).join(', ');
const secs = (xs: readonly number[]) => list(xs, (x) => (x / 1000).toFixed(2));
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Results {
  readonly cold: ColdRound[];
  readonly admission: AdmissionRun[];
  readonly repush: RepushRound[];
  readonly loads: string[];
}

async function measure(digest: string): Promise<Results> {
  const baseline = readImage(digest);
  const loads = [load()];
  const cold: ColdRound[] = [];
  for (let round = 0; round < RUNS; round++) {
    cold.push(await coldRound(round, baseline));
    const c = cold.at(-1)!;
    log(
      `  cold round ${round + 1}/${RUNS}: push ingot ${s(c.ingotPush)} skopeo ${s(c.skopeoPush)}; pull ingot ${s(c.ingotPull)} (decided at ${c.decided.toFixed(0)} ms) skopeo ${s(c.skopeoPull)}; load ${load()}`,
    );
  }
  loads.push(load());

  // Per tool, a registry it talks to directly (timed) and one behind a counting proxy
  // (bytes, and when the first layer is asked for), all four seeded with the baseline.
  const [a, b, c, d] = await Promise.all([registry(), registry(), registry(), registry()]);
  const targets: RepushTargets = {
    ingot: { direct: a.authority, counted: await proxyTo(b) },
    skopeo: { direct: c.authority, counted: await proxyTo(d) },
  };
  await seedRepositories(targets);
  const admission: AdmissionRun[] = [];
  for (let i = 0; i < RUNS; i++) {
    admission.push(await admissionRun(targets.ingot.counted, baseline));
    const a = admission.at(-1)!;
    log(
      `  admission ${i + 1}/${RUNS}: decided ${a.decided} ms, first layer GET ${a.firstLayer} ms, layer GETs before the decision ${a.layerGetsBefore}`,
    );
  }
  const repush: RepushRound[] = [];
  let previous = baseline;
  for (let v = 1; v <= RUNS; v++) {
    const r = await repushRound(v, previous, targets);
    previous = r.image;
    repush.push(r);
    log(
      `  re-push ${v}/${RUNS}: ingot ${s(r.ingotMs)} ${mb(r.ingotSent)} sent; skopeo ${s(r.skopeoMs)} ${mb(r.skopeoSent)}; changed part(s) ${mb(changedSize(r))}`,
    );
  }
  loads.push(load());
  return { cold, admission, repush, loads };
}

function report(digest: string, treeBytes: number, r: Results): string {
  const image = readImage(digest);
  const m = (f: (c: ColdRound) => number) => median(r.cold.map(f));
  const push = { ingot: m((c) => c.ingotPush), skopeo: m((c) => c.skopeoPush) };
  const pull = { ingot: m((c) => c.ingotPull), skopeo: m((c) => c.skopeoPull) };
  const decided = m((c) => c.decided);
  const floor = {
    node: m((c) => c.nodeFloorPull),
    curl: m((c) => c.curlPull),
    start: m((c) => c.nodeStart),
  };
  const re = {
    ms: median(r.repush.map((x) => x.ingotMs)),
    sent: median(r.repush.map((x) => x.ingotSent)),
    changed: median(r.repush.map(changedSize)),
    ratio: median(r.repush.map((x) => x.ingotSent / changedSize(x))),
    skopeoMs: median(r.repush.map((x) => x.skopeoMs)),
    skopeoSent: median(r.repush.map((x) => x.skopeoSent)),
    proxiedMs: median(r.repush.map((x) => x.proxiedMs.ingot)),
    skopeoProxiedMs: median(r.repush.map((x) => x.proxiedMs.skopeo)),
    floorMs: median(r.repush.map((x) => x.floorMs)),
  };
  const adm = {
    decided: median(r.admission.map((a) => a.decided)),
    first: median(r.admission.map((a) => a.firstLayer)),
    before: Math.max(...r.admission.map((a) => a.layerGetsBefore)),
  };
  const last = r.repush.at(-1)!;
  const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const lines = [
    `# bench/registry — medians of ${RUNS} rounds; ${cpus().length} cores; node ${process.version}; load ${r.loads.join(' → ')}`,
    '',
    `image: ${mb(treeBytes)} tree in ${image.layers.length} parts, ${mb(sum(image.layers))} of layers; with its attachments ${mb(sum(allBlobs(image)))} (measurement, SBOM, signature)`,
    '',
    '| run | ingot | skopeo copy | ingot ÷ skopeo |',
    '| --- | ---: | ---: | ---: |',
    `| cold push (fresh registry) | ${s(push.ingot)} | ${s(push.skopeo)} | ${(push.ingot / push.skopeo).toFixed(2)}× |`,
    `| cold pull (fresh home / empty dir) | ${s(pull.ingot)} | ${s(pull.skopeo)} | ${(pull.ingot / pull.skopeo).toFixed(2)}× |`,
    `| re-push, one file changed | ${s(re.ms)} | ${s(re.skopeoMs)} | ${(re.ms / re.skopeoMs).toFixed(2)}× |`,
    `| re-push, through the counting proxy | ${s(re.proxiedMs)} | ${s(re.skopeoProxiedMs)} | ${(re.proxiedMs / re.skopeoProxiedMs).toFixed(2)}× |`,
    `| bytes sent by the re-push (proxy) | ${mb(re.sent)} | ${mb(re.skopeoSent)} | ${(re.sent / re.skopeoSent).toFixed(2)}× |`,
    '',
    `runs (s): push ingot ${secs(r.cold.map((c) => c.ingotPush))}; skopeo ${secs(r.cold.map((c) => c.skopeoPush))}`,
    `          pull ingot ${secs(r.cold.map((c) => c.ingotPull))}; skopeo ${secs(r.cold.map((c) => c.skopeoPull))}`,
    `          re-push ingot ${secs(r.repush.map((x) => x.ingotMs))}; skopeo ${secs(r.repush.map((x) => x.skopeoMs))}`,
    `cold push sent ${mb(median(r.cold.map((c) => c.uploadedBytes)))} of blobs (Ingot's report); skopeo sends the image only (${mb(sum([image.manifest, image.config, ...image.layers]))})`,
    '',
    `limits, same rounds: a bare Node.js fetch of the ${image.layers.length} layers (node:http, 4 at a time, SHA-256, written, no fsync; start-up included) ${s(floor.node)} = ${(floor.node / pull.skopeo).toFixed(2)}× skopeo's whole pull, Ingot's pull ${(pull.ingot / floor.node).toFixed(2)}× it`,
    `        curl --parallel of the same layers (no hashing) ${s(floor.curl)}`,
    `        re-push: a bare Node.js upload of the changed part(s) alone (POST and PUT; start-up included) ${s(re.floorMs)} = ${(re.floorMs / push.ingot).toFixed(3)}× Ingot's cold push; \`node -e 0\` ${s(floor.start)} = ${(floor.start / push.ingot).toFixed(3)}×; skopeo's re-push ÷ its own cold push ${(re.skopeoMs / push.skopeo).toFixed(3)}×`,
    '',
    `ingot pull, timed runs: start-up (spawn → first step) ${m((c) => c.pullStarted).toFixed(0)} ms; documents and admission ${(decided - m((c) => c.pullStarted)).toFixed(0)} ms; layers, commit and exit ${(pull.ingot - decided).toFixed(0)} ms`,
    `pull → admission decided: ${decided.toFixed(0)} ms from spawn (timed runs); through the proxy ${adm.decided.toFixed(0)} ms, first layer GET at ${adm.first.toFixed(0)} ms; layer GETs before the decision: ${adm.before}`,
    `  fetched before the decision (last run): ${r.admission.at(-1)!.requestsBefore} requests, ${mb(r.admission.at(-1)!.blobBytesBefore)} of blobs`,
    '',
    `re-push: changed part(s) ${list(r.repush.map(changedSize), mb)}; sent ${list(
      r.repush.map((x) => x.ingotSent),
      mb,
    )}`,
    `  last re-push, Ingot's bytes and time by what they carried (request heads included; time until the next request, through the proxy):`,
    ...[...last.breakdown].map(
      ([k, v]) =>
        `    ${k.padEnd(44)} ${String(v.requests).padStart(3)} req ${mb(v.bytes).padStart(9)} ${v.ms.toFixed(0).padStart(5)} ms`,
    ),
    '',
    'goals:',
    `  push ≤ 1.0× skopeo:                 ${(push.ingot / push.skopeo).toFixed(2)}× ${met(push.ingot <= push.skopeo)}`,
    `  pull ≤ 1.0× skopeo:                 ${(pull.ingot / pull.skopeo).toFixed(2)}× ${met(pull.ingot <= pull.skopeo)}`,
    `  re-push ≤ 0.1× cold push:           ${(re.ms / push.ingot).toFixed(3)}× (${s(re.ms)} / ${s(push.ingot)}) ${met(re.ms <= 0.1 * push.ingot)}`,
    `  re-push bytes ≤ 1.2× changed part:  ${re.ratio.toFixed(2)}× (${mb(re.sent)} / ${mb(re.changed)}) ${met(re.ratio <= 1.2)}`,
    `  admission before the first layer:   ${met(adm.before === 0 && adm.first >= adm.decided)} (${adm.before} layer GETs before it, in ${RUNS} runs)`,
  ];
  return lines.join('\n') + '\n';
}

async function main(): Promise<void> {
  for (const t of ['skopeo', 'docker-registry']) need(t);
  const stopOnSignal = (signal: NodeJS.Signals) => {
    void stopAll().finally(() => {
      restoreChangedFile();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  };
  process.once('SIGINT', stopOnSignal).once('SIGTERM', stopOnSignal);
  try {
    const { digest, treeBytes } = await prepareImage();
    buildFloor();
    log(`bench/registry: ${RUNS} rounds; ${cpus().length} cores; load ${load()}`);
    const results = await measure(digest);
    const text = report(digest, treeBytes, results);
    process.stdout.write(text);
    writeFileSync(join(WORK, 'last-run.md'), text);
  } finally {
    await stopAll();
    restoreChangedFile();
    rmSync(OUT, { recursive: true, force: true });
  }
}

await main();
