import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DistributionRegistry } from '../src/adapters/registry/client.js';
import { digestOf } from '../src/domain/digest.js';
import { MediaType } from '../src/domain/media-types.js';
import { gitInit } from './helpers/attest.js';
import { ingot } from './helpers/cli.js';
import { writeTree } from './helpers/fs.js';
import { pushUmociImage, startRegistry, type TestRegistry } from './helpers/registry.js';

/**
 * `from: { image: HOST:PORT/REPO:TAG, digest }`: a base in a real registry (Debian's
 * docker-registry), pushed there by `ingot push`, built on by the CLI with --plain-http.
 */

interface Layer {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
}
interface BuildJson {
  digest: string;
  layers: { descriptor: Layer; origin: string }[];
  base: { kind: string; digest: string; tag?: string; location: string } | null;
}

let registry: TestRegistry;
let client: DistributionRegistry;
let root: string;
/** The base (v1) and another image (v2) in the registry, and v1's manifest's layers. */
let v1: string;
let v2: string;
let v1Layers: Layer[];

const baseHome = () => ({ INGOT_HOME: join(root, 'base-home') });

function buildJson(dir: string, home: string, extra: string[] = []) {
  const r = ingot(['build', '-q', '--plain-http', '-o', 'json', ...extra, dir], {
    env: { INGOT_HOME: home },
  });
  return { ...r, json: JSON.parse(r.stdout) as BuildJson & { error?: { code: string } } };
}

/** A child baseline on the registry base. */
function child(name: string, from: string, platform?: string): string {
  const dir = join(root, name);
  writeTree(dir, {
    'ingot.yaml': `name: child\nversion: "1"\nfrom: ${from}\n${platform ? `platform: ${platform}\n` : ''}layers:\n  - { source: app.txt, destination: /opt/app.txt }\n`,
    'app.txt': 'the app\n',
  });
  return dir;
}

/** What a failed build must leave as it was: blobs and index.json of store and base cache. */
function snapshot(home: string): string {
  return [join(home, 'store'), join(home, 'cache', 'bases')]
    .map((layout) => {
      const blobs = join(layout, 'blobs', 'sha256');
      const index = join(layout, 'index.json');
      const listed = existsSync(index)
        ? (JSON.parse(readFileSync(index, 'utf8')) as { manifests: unknown[] }).manifests
        : [];
      return JSON.stringify([existsSync(blobs) ? readdirSync(blobs).sort() : [], listed]);
    })
    .join('\n');
}

/** The base as the signed provenance of child:1 in `home` records it. */
function baseDependency(home: string): unknown {
  const shown = ingot(['attestation', 'child:1'], { env: { INGOT_HOME: home } });
  expect(shown.code, shown.stderr).toBe(0);
  const bundle = JSON.parse(shown.stdout) as { dsseEnvelope: { payload: string } };
  const statement = JSON.parse(
    Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'),
  ) as { predicate: { buildDefinition: { resolvedDependencies: { name: string }[] } } };
  return statement.predicate.buildDefinition.resolvedDependencies.find((d) => d.name === 'base');
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ingot-registry-base-'));
  registry = await startRegistry();
  client = new DistributionRegistry({
    authority: registry.authority,
    plainHttp: true,
    credentials: null,
  });
  for (const version of ['1', '2']) {
    const dir = join(root, `base-${version}`);
    writeTree(dir, {
      'ingot.yaml': `name: base\nversion: "${version}"\nlayers:\n  - { source: etc, destination: /etc }\n  - { source: bin, destination: /usr/bin }\nconfig:\n  env: { BASE: "${version}" }\n`,
      'etc/os-release': `NAME=base\nVERSION=${version}\n`,
      'bin/tool': { content: `#!/bin/sh\necho ${version}\n`, mode: 0o755 },
    });
    const built = ingot(['build', '-q', dir], { env: baseHome() });
    expect(built.code, built.stderr).toBe(0);
    const pushed = ingot(
      ['push', `base:${version}`, `${registry.authority}/base:${version}`, '--plain-http'],
      { env: baseHome() },
    );
    expect(pushed.code, pushed.stderr).toBe(0);
    if (version === '1') v1 = built.stdout.trim();
    else v2 = built.stdout.trim();
  }
  expect(ingot(['key', 'generate', '--out', join(root, 'keys'), '--name', 'ci']).code).toBe(0);
  const manifest = await client.getManifest('base', v1);
  v1Layers = (JSON.parse(manifest.bytes.toString('utf8')) as { layers: Layer[] }).layers;
  expect(v1Layers.length).toBeGreaterThanOrEqual(2);
});

afterAll(async () => {
  await registry?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('from: { image, digest }', () => {
  it('builds on the pinned image: its layers first, the same digest every time and in every home', () => {
    const dir = child('on-v1', `{ image: ${registry.authority}/base:1, digest: "${v1}" }`);
    const home = join(root, 'home-a');
    const first = buildJson(dir, home);
    expect(first.code, first.stderr + first.stdout).toBe(0);
    const { json } = first;
    expect(json.base).toMatchObject({
      kind: 'registry',
      digest: v1,
      tag: '1',
      location: `${registry.authority}/base:1`,
    });
    expect(json.layers.slice(0, v1Layers.length).map((l) => l.descriptor)).toEqual(
      v1Layers.map(({ mediaType, digest, size }) => ({ mediaType, digest, size })),
    );
    expect(json.layers.slice(0, v1Layers.length).every((l) => l.origin === 'base')).toBe(true);
    expect(json.layers.length).toBe(v1Layers.length + 1);

    // Again in the same home (the base from the cache), and in a fresh one (fetched again).
    expect(buildJson(dir, home).json.digest).toBe(json.digest);
    expect(buildJson(dir, join(root, 'home-b')).json.digest).toBe(json.digest);

    // The text summary names the registry base by its reference.
    const text = ingot(['build', '--plain-http', dir], { env: { INGOT_HOME: home } });
    expect(text.stderr).toContain(`base     ${registry.authority}/base:1 ${v1}`);
  });

  it('records the base in the image and in signed provenance as oci://HOST/REPO', () => {
    const keys = join(root, 'keys');
    const dir = child('signed', `{ image: ${registry.authority}/base:1, digest: "${v1}" }`);
    const env = { INGOT_HOME: join(root, 'home-signed') };
    const built = ingot(['build', '-q', '--plain-http', '--key', join(keys, 'ci.key'), dir], {
      env,
    });
    expect(built.code, built.stderr).toBe(0);
    const verified = ingot(['verify', 'child:1', '--key', join(keys, 'ci.pub'), '-o', 'json'], {
      env,
    });
    expect(verified.code, verified.stdout).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({
      provenance: { base: v1, baseName: `${registry.authority}/base:1` },
    });
    expect(baseDependency(env.INGOT_HOME)).toEqual({
      name: 'base',
      uri: `oci://${registry.authority}/base`,
      digest: { sha256: v1.slice(7) },
      mediaType: MediaType.imageManifest,
      annotations: { tag: '1' },
    });
    const inspected = JSON.parse(ingot(['inspect', 'child:1', '-o', 'json'], { env }).stdout) as {
      base: unknown;
    };
    expect(JSON.stringify(inspected.base)).toContain(`${registry.authority}/base:1`);
  });

  it('picks linux/amd64 from a multi-platform index, and names what an index lacks', async () => {
    const descriptor = async (digest: string) => ({
      mediaType: MediaType.imageManifest,
      digest,
      size: (await client.getManifest('base', digest)).bytes.length,
    });
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.imageIndex,
        manifests: [
          { ...(await descriptor(v2)), platform: { os: 'linux', architecture: 'arm64' } },
          { ...(await descriptor(v1)), platform: { os: 'linux', architecture: 'amd64' } },
        ],
      }),
    );
    const pinned = await client.putManifest('base', 'multi', MediaType.imageIndex, index);
    expect(pinned).toBe(digestOf(index));
    const dir = child(
      'on-index',
      `{ image: ${registry.authority}/base:multi, digest: "${pinned}" }`,
    );
    const home = join(root, 'home-index');
    const built = buildJson(dir, home, ['--key', join(root, 'keys', 'ci.key')]);
    expect(built.code, built.stdout).toBe(0);
    expect(built.json.base).toMatchObject({ digest: v1, tag: 'multi' });
    // The manifest built on is the base; the index the baseline pinned is named beside it.
    expect(baseDependency(home)).toMatchObject({
      digest: { sha256: v1.slice(7) },
      annotations: { tag: 'multi', index: pinned },
    });
    expect(built.json.layers.slice(0, v1Layers.length).map((l) => l.descriptor.digest)).toEqual(
      v1Layers.map((l) => l.digest),
    );

    // A pin on the platform's manifest of a tag that names the index: the tag has not moved.
    const onManifest = child(
      'on-index-manifest',
      `{ image: ${registry.authority}/base:multi, digest: "${v1}" }`,
    );
    const direct = buildJson(onManifest, home);
    expect(direct.code, direct.stdout).toBe(0);
    expect(direct.json.base).toMatchObject({ digest: v1, tag: 'multi' });

    const other = child(
      'on-index-s390x',
      `{ image: ${registry.authority}/base:multi, digest: "${pinned}" }`,
      'linux/s390x',
    );
    const refused = buildJson(other, join(root, 'home-index'));
    expect(refused.code).toBe(1);
    expect(refused.json.error?.code).toBe('E_BASE_PLATFORM');
  });

  it('fails when the tag moved to another image, writing nothing', async () => {
    const moving = `${registry.authority}/moving/base:1`;
    for (const ref of ['base:1', 'base:2']) {
      const pushed = ingot(['push', ref, moving, '--plain-http'], { env: baseHome() });
      expect(pushed.code, pushed.stderr).toBe(0);
    }
    expect(await client.resolveTag('moving/base', '1')).toBe(v2);
    const dir = child('moved', `{ image: ${moving}, digest: "${v1}" }`);
    // A home that built on this base before, and a fresh one: neither changes.
    const home = join(root, 'home-a');
    for (const h of [home, join(root, 'home-moved')]) {
      const before = snapshot(h);
      const r = buildJson(dir, h);
      expect(r.code).toBe(1);
      expect(r.json.error?.code).toBe('E_BASE_DIGEST_MISMATCH');
      expect(snapshot(h)).toBe(before);
    }
  });

  it('refuses a registry reached over plain HTTP without --plain-http, and a pin the registry lacks', () => {
    const dir = child('no-flag', `{ image: ${registry.authority}/base:1, digest: "${v1}" }`);
    const home = join(root, 'home-flags');
    const r = ingot(['build', '-q', '-o', 'json', dir], { env: { INGOT_HOME: home } });
    expect(r.code).toBe(1);
    expect((JSON.parse(r.stdout) as { error: { code: string } }).error.code).toMatch(
      /^E_REGISTRY_(CONNECT|PROTOCOL)$/,
    );
    const missing = child(
      'missing',
      `{ image: ${registry.authority}/base, digest: "${digestOf('no such manifest')}" }`,
    );
    const notFound = buildJson(missing, home);
    expect(notFound.json.error?.code).toBe('E_REGISTRY_NOT_FOUND');
  });

  it('builds on an unsigned image umoci made and skopeo pushed, asking no signature of it', async () => {
    const src = `${registry.authority}/foreign/umoci:v1`;
    pushUmociImage(root, src);
    const pinned = await client.resolveTag('foreign/umoci', 'v1');
    const layers = (
      JSON.parse((await client.getManifest('foreign/umoci', pinned!)).bytes.toString('utf8')) as {
        layers: Layer[];
      }
    ).layers;

    const home = join(root, 'home-umoci');
    const built = buildJson(child('on-umoci', `{ image: ${src}, digest: "${pinned}" }`), home);
    expect(built.code, built.stdout).toBe(0);
    expect(built.json.layers.slice(0, layers.length).map((l) => l.descriptor.digest)).toEqual(
      layers.map((l) => l.digest),
    );
    const inspected = JSON.parse(
      ingot(['inspect', 'child:1', '-o', 'json'], { env: { INGOT_HOME: home } }).stdout,
    ) as {
      measurement: { summary: { files: number } };
    };
    // umoci's file and the child's own.
    expect(inspected.measurement.summary.files).toBe(2);
  });

  // Last: it damages a blob the registry shares between its repositories.
  it('fails on bytes that do not match the digest, writing nothing; a home that has the base does not fetch it again', async () => {
    const dir = child('tampered', `{ image: ${registry.authority}/base, digest: "${v1}" }`);
    gitInit(dir);
    const cached = join(root, 'home-a');
    const good = buildJson(dir, cached, ['--key', join(root, 'keys', 'ci.key')]);
    expect(good.code, good.stdout).toBe(0);

    const layer = v1Layers[1]!;
    writeFileSync(registry.blobFile(layer.digest), Buffer.alloc(layer.size, 7));

    // The cache holds every blob: nothing is fetched, so the damage is never seen.
    const again = buildJson(dir, cached);
    expect(again.code, again.stdout).toBe(0);
    expect(again.json.digest).toBe(good.json.digest);
    // A rebuild's throwaway home reads bases from its home's cache too.
    const rebuilt = ingot(['rebuild', '--check', 'child:1', '--plain-http'], {
      cwd: dir,
      env: { INGOT_HOME: cached },
    });
    expect(rebuilt.code, rebuilt.stdout + rebuilt.stderr).toBe(0);
    expect(rebuilt.stdout).toMatch(/^reproduced sha256:/);

    const fresh = join(root, 'home-tampered');
    const before = snapshot(fresh);
    const r = buildJson(dir, fresh);
    expect(r.code).toBe(1);
    expect(r.json.error?.code).toBe('E_REGISTRY_DIGEST_MISMATCH');
    expect(snapshot(fresh)).toBe(before);

    // Without a tag to check, a home that has the base needs no registry at all.
    await registry.stop();
    const offline = buildJson(dir, cached);
    expect(offline.code, offline.stdout).toBe(0);
    expect(offline.json.digest).toBe(good.json.digest);
  });
});
