import { spawnSync } from 'node:child_process';
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { bundleFromJSON } from '@sigstore/bundle';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { makeApp } from '../../src/bin/app.js';
import { decodeBundle } from '../../src/core/attest/bundle.js';
import { pae } from '../../src/core/attest/dsse.js';
import { readAttestations } from '../../src/services/attestation.js';
import { readManifest } from '../../src/services/inspect.js';
import { ensureTree } from '../build/generate.js';

/**
 * bench/verify: how long admission takes, for the example image and the 300 MB benchmark
 * image, next to what it cannot beat: the bare ECDSA check and @sigstore/verify on the same
 * bundle (in-process), Node's own start-up (the CLI), and OpenSSL hashing the same blobs.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORK = join(ROOT, 'bench', '.work', 'verify');
const BIG_CTX = join(ROOT, 'bench', '.work', 'build', 'ctx');
const INGOT = join(ROOT, 'dist', 'bin', 'ingot.js');
const RUNS = Math.max(1, Number(process.env['BENCH_RUNS'] ?? 5));

function sh(script: string): string {
  const r = spawnSync('bash', ['-o', 'pipefail', '-c', script], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`failed (${r.status}): ${script}\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

function timeCommand(script: string, runs = RUNS): number {
  sh(script); // warm-up, and it must succeed
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    sh(script);
    times.push(performance.now() - t);
  }
  return median(times);
}

async function timeAsync(fn: () => unknown, runs: number): Promise<number> {
  for (let i = 0; i < Math.min(20, runs); i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return median(times);
}

interface Row {
  label: string;
  ms: number;
  vs?: { label: string; ms: number };
}

async function measure(name: string, home: string, ref: string, pub: string, hashRuns: number) {
  const app = makeApp({ home });
  const trust = await app.loadTrust({ keyFiles: [pub] });
  const store = await app.store();
  const bundle = (await readAttestations(store, ref))[0]!.bundle;
  const { envelope, keyHint } = decodeBundle(bundle);
  const key = createPublicKey(readFileSync(pub));
  const message = pae(envelope.payloadType, envelope.payload);
  const sig = envelope.signatures[0]!.sig;
  const sigstore = new Verifier(
    toTrustMaterial(
      {
        mediaType: '',
        tlogs: [],
        certificateAuthorities: [],
        ctlogs: [],
        timestampAuthorities: [],
      },
      (h: string) => {
        if (h !== keyHint) throw new Error('unknown key');
        return { publicKey: key, validFor: () => true };
      },
    ),
    { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 },
  );
  const parsedForSigstore = JSON.parse(bundle.toString()) as unknown;

  const check = async (rehash: boolean) => {
    const r = await app.verify(ref, trust, { rehash });
    if (!r.ok) throw new Error(`${name} does not verify: ${JSON.stringify(r.problems)}`);
  };
  const bare = await timeAsync(() => cryptoVerify('sha256', message, key, sig), 1000);
  const lib = await timeAsync(
    () => sigstore.verify(toSignedEntity(bundleFromJSON(parsedForSigstore))),
    1000,
  );
  const fast = await timeAsync(() => check(false), 500);
  const full = await timeAsync(() => check(true), hashRuns);
  await app.close();
  const manifest = await readManifest(store, await store.resolve(ref));
  const blobs = manifest.layers.map((l) => store.blobPath(l.digest)).join(' ');
  const opensslMs = timeCommand(`openssl dgst -sha256 ${blobs} > /dev/null`);
  const nodeMs = timeCommand(`node -e 0`);
  const cliFast = timeCommand(
    `INGOT_HOME=${home} node ${INGOT} verify ${ref} --key ${pub} --no-blobs > /dev/null`,
  );
  const cliFull = timeCommand(
    `INGOT_HOME=${home} node ${INGOT} verify ${ref} --key ${pub} > /dev/null`,
  );
  const rows: Row[] = [
    { label: 'bare ECDSA P-256 verify of the bundle (floor)', ms: bare },
    {
      label: '@sigstore/verify on the same bundle (peer)',
      ms: lib,
      vs: { label: 'floor', ms: bare },
    },
    {
      label: '**in-process verify, no re-hash**',
      ms: fast,
      vs: { label: '@sigstore/verify', ms: lib },
    },
    { label: 'openssl dgst -sha256 of the layer blobs (limit)', ms: opensslMs },
    {
      label: '**in-process verify, every blob re-hashed**',
      ms: full,
      vs: { label: 'openssl', ms: opensslMs },
    },
    { label: '`node -e 0` (process start-up floor)', ms: nodeMs },
    { label: '**`ingot verify --no-blobs`**', ms: cliFast, vs: { label: 'node -e 0', ms: nodeMs } },
    {
      label: '**`ingot verify`** (blobs re-hashed)',
      ms: cliFull,
      vs: { label: 'node -e 0 + openssl', ms: nodeMs + opensslMs },
    },
  ];
  console.log(`\n${name} (${ref})`);
  console.log('| run | ms | ratio |\n| --- | ---: | ---: |');
  for (const r of rows)
    console.log(
      `| ${r.label} | ${r.ms < 10 ? r.ms.toFixed(3) : r.ms.toFixed(1)} | ${r.vs ? `${(r.ms / r.vs.ms).toFixed(2)}× ${r.vs.label}` : ''} |`,
    );
  return { fast };
}

async function main() {
  for (const t of ['openssl'])
    if (spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0)
      throw new Error(`${t} missing: run ./scripts/setup`);
  spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  mkdirSync(WORK, { recursive: true });
  const keyDir = join(WORK, 'keys');
  if (!existsSync(join(keyDir, 'bench.key')))
    sh(`node ${INGOT} key generate --out ${keyDir} --name bench`);
  const key = join(keyDir, 'bench.key');
  const pub = join(keyDir, 'bench.pub');

  const helloHome = join(WORK, 'hello-home');
  rmSync(helloHome, { recursive: true, force: true });
  sh(
    `INGOT_HOME=${helloHome} node ${INGOT} build -q --key ${key} ${join(ROOT, 'examples', 'hello')}`,
  );

  mkdirSync(BIG_CTX, { recursive: true });
  const { files, bytes } = ensureTree(join(BIG_CTX, 'tree'));
  writeFileSync(
    join(BIG_CTX, 'ingot.yaml'),
    'name: bench\nversion: "1"\nlayers:\n  - source: tree\n    destination: /opt/app\n',
  );
  const bigHome = join(WORK, 'big-home');
  rmSync(bigHome, { recursive: true, force: true });
  sh(`INGOT_HOME=${bigHome} node ${INGOT} build -q --key ${key} ${BIG_CTX}`);

  console.log(
    `# bench/verify — medians; in-process over 500–1000 calls, commands over ${RUNS} runs`,
  );
  const hello = await measure('examples/hello', helloHome, 'hello:1.0.0', pub, 200);
  const big = await measure(
    `benchmark image, ${files} files, ${(bytes / 1e6).toFixed(0)} MB`,
    bigHome,
    'bench:1',
    pub,
    3,
  );
  const goal = 5;
  console.log(
    `\ngoal: in-process check without re-hashing < ${goal} ms — hello ${hello.fast.toFixed(3)} ms, 300 MB image ${big.fast.toFixed(3)} ms: ${hello.fast < goal && big.fast < goal ? 'met' : 'NOT met'}`,
  );
}

await main();
