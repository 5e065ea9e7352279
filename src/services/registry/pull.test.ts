import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { OciLayoutStore } from '../../adapters/oci-layout/store.js';
import { documentParts } from '../../core/document-parts.js';
import { digestOf, type Digest } from '../../domain/digest.js';
import { isIngotError } from '../../domain/errors.js';
import { Annotation, MediaType } from '../../domain/media-types.js';
import { RegistryError } from '../../domain/registry.js';
import type { Registry } from '../../ports/registry.js';
import type { StoreReader } from '../../ports/store.js';
import type * as AttachedDocument from '../attached-document.js';
import type { VerifyReport } from '../verify.js';
import { pullImage } from './pull.js';

/**
 * The pull's order against a registry that serves what the test put in it (the real
 * registry is in test/registry-push.test.ts): what is fetched before admission decides, what
 * admission sees, and what reaches the store. Admission itself is `ingot verify`'s, tested
 * there; here it is a stand-in that records what it was given.
 */

/** When the pull reassembled a document in parts, among the events a test records. */
const events = vi.hoisted(() => [] as string[]);
vi.mock('../attached-document.js', async (original) => {
  const actual = await original<typeof AttachedDocument>();
  return {
    ...actual,
    readDocument: (...args: Parameters<typeof actual.readDocument>) => {
      events.push('document read');
      return actual.readDocument(...args);
    },
  };
});

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

const REPO = 'app';

/** What `f` returns, or throws, as a promise (as the real client answers). */
const settle = <T>(f: () => T) => new Promise<T>((resolve) => resolve(f()));

/** Content by digest (and the referrers tag), and every request, in order. */
function fakeRegistry() {
  const blobs = new Map<string, Buffer>();
  const requests: string[] = [];
  const put = (bytes: string | Buffer) => {
    const b = Buffer.from(bytes);
    blobs.set(digestOf(b), b);
    return { digest: digestOf(b), size: b.length };
  };
  const get = (reference: string) => {
    const bytes = blobs.get(reference);
    if (!bytes) throw new RegistryError('E_REGISTRY_NOT_FOUND', reference);
    return bytes;
  };
  const registry: Registry = {
    authority: 'registry.test',
    close: () => Promise.resolve(),
    hasBlob: () => Promise.reject(new Error('unused')),
    mountBlob: () => Promise.reject(new Error('unused')),
    pushBlob: () => Promise.reject(new Error('unused')),
    putManifest: () => Promise.reject(new Error('unused')),
    resolveTag: () => Promise.reject(new Error('unused')),
    // Distribution 2.8: no referrers API, the tag schema instead.
    referrers: () => {
      requests.push('referrers API');
      return Promise.resolve(null);
    },
    getManifest: (_repo, reference, maxBytes = 4 * 1024 * 1024) =>
      settle(() => {
        requests.push(`manifest ${reference}`);
        const bytes = get(reference);
        if (bytes.length > maxBytes) throw new RegistryError('E_REGISTRY_TOO_LARGE', reference);
        return { digest: digestOf(bytes), mediaType: MediaType.imageManifest, bytes };
      }),
    getBlob: (_repo, blob) =>
      settle(() => {
        requests.push(`blob ${blob.digest}`);
        return get(blob.digest);
      }),
    fetchBlob: (_repo, blob, path) =>
      settle(() => {
        requests.push(`blob ${blob.digest}`);
        writeFileSync(path, get(blob.digest), { flag: 'wx' });
      }),
  };
  return { registry, requests, put, blobs };
}

/** An image of two layers with a signature bundle, a measurement and an SBOM attached. */
function signedImage(fake: ReturnType<typeof fakeRegistry>, name = 'app') {
  const config = fake.put(`{"architecture":"amd64","os":"linux","name":"${name}"}`);
  const layers = [fake.put(`${name} layer one`), fake.put(`${name} layer two`)];
  const image = fake.put(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.imageManifest,
      config: { mediaType: MediaType.imageConfig, ...config },
      layers: layers.map((l) => ({ mediaType: MediaType.layerTarGzip, ...l })),
    }),
  );
  const empty = fake.put('{}');
  const attach = (artifactType: string, content: string) => {
    const blob = fake.put(content);
    const manifest = fake.put(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.imageManifest,
        artifactType,
        config: { mediaType: MediaType.empty, ...empty },
        layers: [{ mediaType: artifactType, ...blob }],
        subject: { mediaType: MediaType.imageManifest, ...image },
      }),
    );
    return { manifest, blob, artifactType };
  };
  const attachments = [
    attach(MediaType.sigstoreBundle, '{"a":"bundle"}'),
    attach(MediaType.measurement, '{"a":"measurement"}'),
    attach(MediaType.spdx, '{"a":"sbom"}'),
  ];
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.imageIndex,
      manifests: attachments.map((a) => ({
        mediaType: MediaType.imageManifest,
        artifactType: a.artifactType,
        ...a.manifest,
      })),
    }),
  );
  fake.blobs.set(`sha256-${image.digest.slice(7)}`, index);
  return { image, config, layers, empty, attachments };
}

async function pull(fake: ReturnType<typeof fakeRegistry>, digest: Digest, allowed: boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'ingot-pull-'));
  dirs.push(dir);
  const store = await OciLayoutStore.open(dir);
  const seen: { before: string[]; documents: StoreReader | null } = {
    before: [],
    documents: null,
  };
  let code: string | null = null;
  let report = null;
  try {
    report = await pullImage(
      {
        store,
        registry: fake.registry,
        verify: (documents, d) => {
          seen.before = [...fake.requests];
          seen.documents = documents;
          return Promise.resolve({ ok: allowed, digest: d } as VerifyReport);
        },
        now: () => new Date(0),
        locations: { repositories: () => [], record: () => undefined },
      },
      {
        src: { host: 'registry.test', port: null, repository: REPO, tag: null, digest },
        tag: null,
      },
    );
  } catch (err) {
    if (!isIngotError(err)) throw err;
    code = err.code;
  }
  const blobs = join(dir, 'blobs', 'sha256');
  const listed = (await store.index()).manifests.map((d) => d.digest);
  return { code, report, seen, listed, blobs: existsSync(blobs) ? readdirSync(blobs) : [] };
}

/** List one more attachment of the image in its referrers tag; its manifest's descriptor. */
function attachMore(
  fake: ReturnType<typeof fakeRegistry>,
  img: ReturnType<typeof signedImage>,
  manifest: { artifactType: string; layers: object[]; annotations?: Record<string, string> },
) {
  const descriptor = fake.put(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.imageManifest,
      config: { mediaType: MediaType.empty, ...img.empty },
      subject: { mediaType: MediaType.imageManifest, ...img.image },
      ...manifest,
    }),
  );
  const tag = `sha256-${img.image.digest.slice(7)}`;
  const index = JSON.parse(fake.blobs.get(tag)!.toString()) as { manifests: unknown[] };
  index.manifests.push({
    mediaType: MediaType.imageManifest,
    artifactType: manifest.artifactType,
    ...descriptor,
  });
  fake.blobs.set(tag, Buffer.from(JSON.stringify(index)));
  return descriptor;
}

/** A blob that the registry does not hold: asking for it is the failure. */
const absent = (mediaType: string, size: number) => ({
  mediaType,
  digest: digestOf(`absent ${size}`),
  size,
});

describe('pullImage', () => {
  it('fetches only what admission reads before it decides: no layer, measurement or SBOM', async () => {
    const fake = fakeRegistry();
    const img = signedImage(fake);
    const r = await pull(fake, img.image.digest, true);
    expect(r.code).toBeNull();
    const bundle = img.attachments[0]!;
    expect(new Set(r.seen.before)).toEqual(
      new Set([
        `manifest ${img.image.digest}`,
        'referrers API',
        `manifest sha256-${img.image.digest.slice(7)}`,
        `blob ${img.config.digest}`,
        ...img.attachments.map((a) => `manifest ${a.manifest.digest}`),
        `blob ${bundle.blob.digest}`,
      ]),
    );
    // Admission reads the documents from memory, each under the digest of its bytes.
    const documents = r.seen.documents!;
    expect((await documents.referrers(img.image.digest)).map((d) => d.digest)).toEqual(
      img.attachments.map((a) => a.manifest.digest),
    );
    for (const d of (await documents.index()).manifests.slice(1))
      expect(d.annotations?.[Annotation.subject]).toBe(img.image.digest);
    expect((await documents.readBlob(bundle.blob.digest, 1024)).toString()).toBe('{"a":"bundle"}');
    const measurement = img.attachments[1]!.blob;
    await expect(documents.readBlob(measurement.digest, 1024)).rejects.toMatchObject({
      code: 'E_BLOB_NOT_FOUND',
    });
    await expect(
      documents.readBlob(bundle.blob.digest, 1024, bundle.blob.size + 1),
    ).rejects.toMatchObject({ code: 'E_BLOB_SIZE_MISMATCH' });

    // Then everything else, once each, and all of it in the store.
    expect(r.report).toMatchObject({ ok: true, layers: { fetched: 2, present: 0 } });
    const all = [
      img.image,
      img.config,
      ...img.layers,
      img.empty,
      ...img.attachments.flatMap((a) => [a.manifest, a.blob]),
    ];
    expect(r.blobs.sort()).toEqual(all.map((b) => b.digest.slice(7)).sort());
    const blobRequests = fake.requests.filter((q) => q.startsWith('blob'));
    expect(new Set(blobRequests).size).toBe(blobRequests.length);
  });

  it('writes nothing and fetches nothing more when admission refuses', async () => {
    const fake = fakeRegistry();
    const img = signedImage(fake);
    const r = await pull(fake, img.image.digest, false);
    expect(r).toMatchObject({ code: null, report: { ok: false, layers: null }, blobs: [] });
    expect(fake.requests).toEqual(r.seen.before);
  });

  it('refuses a listed referrer that names another image, before admission and any layer', async () => {
    const fake = fakeRegistry();
    const img = signedImage(fake);
    const other = signedImage(fake, 'other');
    const index = JSON.parse(fake.blobs.get(`sha256-${img.image.digest.slice(7)}`)!.toString()) as {
      manifests: unknown[];
    };
    index.manifests.push({
      mediaType: MediaType.imageManifest,
      ...other.attachments[0]!.manifest,
    });
    fake.blobs.set(`sha256-${img.image.digest.slice(7)}`, Buffer.from(JSON.stringify(index)));
    const r = await pull(fake, img.image.digest, true);
    expect(r).toMatchObject({ code: 'E_REGISTRY_REFERRER_SUBJECT', blobs: [] });
    expect(r.seen.documents).toBeNull();
    for (const layer of img.layers) expect(fake.requests).not.toContain(`blob ${layer.digest}`);
  });

  it('refuses, before it fetches anything, document parts heavier than the document they name', async () => {
    for (const [size, partSize] of [
      [100, 10 * 1024 * 1024], // 10 MiB of gzip for 100 bytes of JSON
      [1024 * 1024 * 1024, 1024], // a document over the 512 MiB any reader accepts
    ] as const) {
      const fake = fakeRegistry();
      const img = signedImage(fake);
      const sbom = attachMore(fake, img, {
        artifactType: MediaType.spdx,
        layers: [absent(`${MediaType.spdx}+gzip`, partSize)],
        annotations: {
          [Annotation.documentDigest]: digestOf('{}'),
          [Annotation.documentSize]: String(size),
        },
      });
      const r = await pull(fake, img.image.digest, true);
      expect(r).toMatchObject({ code: 'E_REGISTRY_TOO_LARGE', blobs: [] });
      expect(r.seen.documents).not.toBeNull();
      // Nothing asked for after admission: not the part, not a layer.
      expect(fake.requests).toEqual(r.seen.before);
      expect(r.listed).not.toContain(sbom.digest);
    }
  });

  it('leaves attachments of types admission does not know in the registry', async () => {
    const fake = fakeRegistry();
    const img = signedImage(fake);
    const other = attachMore(fake, img, {
      artifactType: 'application/vnd.example.scan+json',
      layers: [absent('application/vnd.example.scan+json', 300 * 1024 * 1024)],
    });
    const r = await pull(fake, img.image.digest, true);
    expect(r.code).toBeNull();
    expect(r.report).toMatchObject({ ok: true });
    expect(r.listed).toContain(img.image.digest);
    expect(r.listed).not.toContain(other.digest);
    expect(r.blobs).not.toContain(other.digest.slice(7));
    expect(fake.requests).not.toContain(`blob ${absent('', 300 * 1024 * 1024).digest}`);
  });

  it('stores a document in parts once its parts make it, and nothing when they make another', async () => {
    const sbom = Buffer.from(JSON.stringify({ spdxVersion: 'SPDX-2.3', files: ['/a', '/b'] }));
    const forged = Buffer.from(JSON.stringify({ spdxVersion: 'SPDX-2.3', files: ['/a', '/c'] }));
    for (const served of [sbom, forged]) {
      const fake = fakeRegistry();
      const img = signedImage(fake);
      const parts = (await documentParts(served)).map((p) => ({
        mediaType: `${MediaType.spdx}+gzip`,
        ...fake.put(p),
      }));
      // The attachment names the real SBOM (as admission sees it); the parts may not make it.
      attachMore(fake, img, {
        artifactType: MediaType.spdx,
        layers: parts,
        annotations: {
          [Annotation.documentDigest]: digestOf(sbom),
          [Annotation.documentSize]: String(sbom.length),
        },
      });
      const r = await pull(fake, img.image.digest, true);
      if (served === sbom) {
        expect(r.code).toBeNull();
        expect(r.blobs).toEqual(expect.arrayContaining(parts.map((p) => p.digest.slice(7))));
      } else {
        expect(r).toMatchObject({ code: 'E_REGISTRY_DOCUMENT_INVALID', blobs: [], listed: [] });
        // It was fetched, and refused before the commit.
        for (const p of parts) expect(fake.requests).toContain(`blob ${p.digest}`);
      }
    }
  });

  it('checks the documents while the layers stream, and fails only once those have settled', async () => {
    const sbom = Buffer.from(JSON.stringify({ spdxVersion: 'SPDX-2.3', files: ['/a', '/b'] }));
    const forged = Buffer.from(JSON.stringify({ spdxVersion: 'SPDX-2.3', files: ['/a', '/c'] }));
    const fake = fakeRegistry();
    const img = signedImage(fake);
    const parts = (await documentParts(forged)).map((p) => ({
      mediaType: `${MediaType.spdx}+gzip`,
      ...fake.put(p),
    }));
    attachMore(fake, img, {
      artifactType: MediaType.spdx,
      layers: parts,
      annotations: {
        [Annotation.documentDigest]: digestOf(sbom),
        [Annotation.documentSize]: String(sbom.length),
      },
    });
    // Layers take their time; the document is found forged meanwhile.
    const layers = new Set<string>(img.layers.map((l) => l.digest));
    const fetchBlob = fake.registry.fetchBlob.bind(fake.registry);
    fake.registry.fetchBlob = async (repo, blob, path) => {
      if (layers.has(blob.digest)) await new Promise((r) => setTimeout(r, 100));
      await fetchBlob(repo, blob, path);
      if (layers.has(blob.digest)) events.push('layer settled');
    };
    events.length = 0;
    const r = await pull(fake, img.image.digest, true);
    expect(r).toMatchObject({ code: 'E_REGISTRY_DOCUMENT_INVALID', blobs: [], listed: [] });
    // The SBOM reassembled before any layer was in, and the failure only once all were.
    expect(events).toEqual(['document read', 'layer settled', 'layer settled']);
    // Every attachment blob was asked for before any layer.
    const after = fake.requests.slice(r.seen.before.length);
    const firstLayer = after.findIndex((q) => layers.has(q.slice('blob '.length)));
    for (const p of parts) expect(after.slice(0, firstLayer)).toContain(`blob ${p.digest}`);
  });

  it('refuses a referrer manifest over 1 MiB, before admission', async () => {
    const fake = fakeRegistry();
    const img = signedImage(fake);
    attachMore(fake, img, {
      artifactType: MediaType.spdx,
      layers: [absent(MediaType.spdx, 10)],
      annotations: { padding: 'x'.repeat(1024 * 1024) },
    });
    const r = await pull(fake, img.image.digest, true);
    expect(r).toMatchObject({ code: 'E_REGISTRY_TOO_LARGE', blobs: [] });
    expect(r.seen.documents).toBeNull();
  });

  it('fails only once every request it started has settled', async () => {
    const fake = fakeRegistry();
    const img = signedImage(fake);
    const finished: string[] = [];
    const getBlob = fake.registry.getBlob.bind(fake.registry);
    // The config fails at once; the bundle comes later, and must have come before the throw.
    fake.registry.getBlob = async (repo, blob, max) => {
      if (blob.digest === img.config.digest)
        throw new RegistryError('E_REGISTRY_UNAVAILABLE', 'config');
      await new Promise((r) => setTimeout(r, 50));
      const bytes = await getBlob(repo, blob, max);
      finished.push(blob.digest);
      return bytes;
    };
    const r = await pull(fake, img.image.digest, true);
    expect(r).toMatchObject({ code: 'E_REGISTRY_UNAVAILABLE', blobs: [] });
    expect(finished).toEqual([img.attachments[0]!.blob.digest]);
  });
});
