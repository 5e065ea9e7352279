import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJsonBytes } from '../src/core/canonical-json.js';
import { digestOf, type Digest } from '../src/domain/digest.js';
import { Annotation, MediaType } from '../src/domain/media-types.js';
import type { Descriptor, ImageIndex, ImageManifest } from '../src/domain/oci.js';
import { openArtifact } from '../src/services/artifact.js';
import { readDocument } from '../src/services/attached-document.js';
import { readManifest } from '../src/services/inspect.js';
import { openStore } from './helpers/app.js';
import { ingot } from './helpers/cli.js';
import { startRegistry, type TestRegistry } from './helpers/registry.js';

/**
 * The measurement and the SBOM are stored in gzip parts (core/document-parts.ts); images
 * built before that have each as one plain blob. Both forms are read alike: verify, inspect,
 * the host's start, and a registry round trip.
 */

const HELLO = fileURLToPath(new URL('../examples/hello', import.meta.url));
let root: string;
let registry: TestRegistry;
let digest: Digest;
const home = () => join(root, 'home');
const pub = () => join(root, 'keys', 'ci.pub');

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ingot-docs-'));
  registry = await startRegistry();
  expect(ingot(['key', 'generate', '--out', join(root, 'keys'), '--name', 'ci']).code).toBe(0);
  const build = ingot(['build', '-q', '--key', join(root, 'keys', 'ci.key'), HELLO], {
    env: { INGOT_HOME: home() },
  });
  expect(build.code, build.stderr).toBe(0);
  digest = build.stdout.trim() as Digest;
});

afterAll(async () => {
  await registry?.stop();
  rmSync(root, { recursive: true, force: true });
});

function blobPath(digest: string): string {
  return join(home(), 'store', 'blobs', 'sha256', digest.slice(7));
}

function putBlob(bytes: Buffer): Digest {
  const d = digestOf(bytes);
  writeFileSync(blobPath(d), bytes);
  chmodSync(blobPath(d), 0o444);
  return d;
}

/** The image's measurement and SBOM attachments, from index.json. */
function documents(): Descriptor[] {
  const index = JSON.parse(readFileSync(join(home(), 'store', 'index.json'), 'utf8')) as ImageIndex;
  return index.manifests.filter(
    (d) =>
      d.annotations?.[Annotation.subject] === digest &&
      (d.artifactType === MediaType.measurement || d.artifactType === MediaType.spdx),
  );
}

/**
 * Rewrite the store's measurement and SBOM as images built before parts had them: one blob
 * of the document's type, no document annotations. The document (and so what provenance
 * signed) is the same; only the attachment manifests change.
 */
async function storeWhole(): Promise<void> {
  const store = await openStore(home());
  const indexPath = join(home(), 'store', 'index.json');
  const index = JSON.parse(readFileSync(indexPath, 'utf8')) as ImageIndex;
  for (const d of documents()) {
    const manifest = await readManifest(store, d);
    const { bytes } = await readDocument(store, manifest, 1 << 26);
    const blob = { mediaType: d.artifactType!, digest: putBlob(bytes), size: bytes.length };
    const {
      [Annotation.documentDigest]: _d,
      [Annotation.documentSize]: _s,
      ...kept
    } = manifest.annotations ?? {};
    const whole: ImageManifest = { ...manifest, layers: [blob], annotations: kept };
    const wholeBytes = canonicalJsonBytes(whole);
    const at = index.manifests.findIndex((m) => m.digest === d.digest);
    index.manifests[at] = { ...d, digest: putBlob(wholeBytes), size: wholeBytes.length };
  }
  writeFileSync(indexPath, JSON.stringify(index, null, 2));
}

describe('attached documents', () => {
  it('are stored in gzip parts that a plain client reads back with cat and gunzip', async () => {
    const store = await openStore(home());
    for (const d of documents()) {
      const manifest = await readManifest(store, d);
      expect(manifest.layers.every((l) => l.mediaType === `${d.artifactType}+gzip`)).toBe(true);
      const joined = gunzipSync(
        Buffer.concat(manifest.layers.map((l) => readFileSync(blobPath(l.digest)))),
      );
      expect(digestOf(joined)).toBe(manifest.annotations?.[Annotation.documentDigest]);
      expect(String(joined.length)).toBe(manifest.annotations?.[Annotation.documentSize]);
    }
  });

  it('give SBOM tools the whole SPDX document with one command: inspect --sbom', () => {
    const env = { INGOT_HOME: home() };
    const shown = ingot(['inspect', 'hello:1.0.0', '--sbom'], { env });
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ spdxVersion: 'SPDX-2.3' });
    // Byte for byte the document provenance signed, not a re-serialisation of it.
    const v = ingot(['verify', digest, '--key', pub(), '-o', 'json'], { env });
    const signed = (JSON.parse(v.stdout) as { provenance: { sbom: string } }).provenance.sbom;
    expect(digestOf(Buffer.from(shown.stdout, 'utf8'))).toBe(signed);
  });

  it('refuse a part that is not the one named, when blobs are checked', async () => {
    const store = await openStore(home());
    const sbom = documents().find((d) => d.artifactType === MediaType.spdx)!;
    const manifest = await readManifest(store, sbom);
    const first = manifest.layers[0]!;
    const saved = readFileSync(blobPath(first.digest));
    try {
      // Same size, other content: the part's own digest check catches it first.
      rmSync(blobPath(first.digest));
      writeFileSync(blobPath(first.digest), Buffer.alloc(saved.length, 0x1f));
      const v = ingot(['verify', digest, '--key', pub(), '-o', 'json'], {
        env: { INGOT_HOME: home() },
      });
      expect(v.code).toBe(1);
      expect(JSON.stringify(JSON.parse(v.stdout))).toContain('E_BLOB_');
    } finally {
      rmSync(blobPath(first.digest), { force: true });
      writeFileSync(blobPath(first.digest), saved);
    }
  });

  it('stored whole, as before parts, are verified, inspected, started and pulled alike', async () => {
    const before = await openArtifact(await openStore(home()), digest);
    await storeWhole();
    const env = { INGOT_HOME: home() };
    const v = ingot(['verify', digest, '--key', pub(), '-o', 'json'], { env });
    expect(v.code, v.stdout).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({
      ok: true,
      measurement: { digest: before.measurement.digest, signed: true },
    });
    const shown = ingot(['inspect', digest, '-o', 'json'], { env });
    expect(shown.code, shown.stderr).toBe(0);
    // inspect names the measurement as verify and the provenance do: the document's digest.
    expect(JSON.parse(shown.stdout)).toMatchObject({
      measurement: {
        digest: before.measurement.digest,
        summary: { files: before.measurement.entries.filter((e) => e.type === 'file').length },
      },
      sbom: { files: expect.any(Number) as number },
    });
    // What a host reads before it starts an instance: the same document.
    const after = await openArtifact(await openStore(home()), digest);
    expect(after.measurement.digest).toBe(before.measurement.digest);
    expect(after.measurement.bytes.equals(before.measurement.bytes)).toBe(true);

    const dest = `${registry.authority}/old/hello:1`;
    expect(ingot(['push', 'hello:1.0.0', dest, '--plain-http'], { env }).code).toBe(0);
    const fresh = { INGOT_HOME: join(root, 'fresh') };
    const pulled = ingot(['pull', dest, '--plain-http', '--key', pub(), '-o', 'json'], {
      env: fresh,
    });
    expect(pulled.code, pulled.stdout + pulled.stderr).toBe(0);
    expect(JSON.parse(pulled.stdout)).toMatchObject({ ok: true, digest });
    expect(ingot(['verify', digest, '--key', pub()], { env: fresh }).code).toBe(0);
  });
});
