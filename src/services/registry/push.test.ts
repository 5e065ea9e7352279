import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OciLayoutStore } from '../../adapters/oci-layout/store.js';
import { digestOf, type Digest } from '../../domain/digest.js';
import { Annotation, MediaType } from '../../domain/media-types.js';
import type { Descriptor } from '../../domain/oci.js';
import { RegistryError } from '../../domain/registry.js';
import type { Registry } from '../../ports/registry.js';
import { pushImage } from './push.js';

/**
 * The push's order against a registry that records what it is sent (the real registry is in
 * test/registry-push.test.ts): what a registry may refuse or show half-done depends on it.
 */

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** An image of two layers with two attachments, in a store of its own. */
async function storeWithImage(): Promise<{ store: OciLayoutStore; image: Descriptor }> {
  const dir = mkdtempSync(join(tmpdir(), 'ingot-push-'));
  dirs.push(dir);
  const store = await OciLayoutStore.open(dir);
  const tx = await store.begin();
  const json = (doc: unknown) => Buffer.from(JSON.stringify(doc));
  const config = await tx.putBlob(json({ os: 'linux' }), MediaType.imageConfig);
  const layers = [
    await tx.putBlob(Buffer.alloc(3000, 1), MediaType.layerTarGzip),
    await tx.putBlob(Buffer.alloc(5000, 2), MediaType.layerTarGzip),
  ];
  const image = await tx.putBlob(
    json({ schemaVersion: 2, mediaType: MediaType.imageManifest, config, layers }),
    MediaType.imageManifest,
  );
  const empty = await tx.putBlob(Buffer.from('{}'), MediaType.empty);
  const attachments: Descriptor[] = [];
  for (const [type, content] of [
    [MediaType.sigstoreBundle, 'bundle'],
    [MediaType.measurement, 'measurement'],
  ] as const) {
    const blob = await tx.putBlob(Buffer.from(content), type);
    const m = await tx.putBlob(
      json({
        schemaVersion: 2,
        mediaType: MediaType.imageManifest,
        artifactType: type,
        config: empty,
        layers: [blob],
        subject: image,
      }),
      MediaType.imageManifest,
    );
    attachments.push({
      ...m,
      artifactType: type,
      annotations: { [Annotation.subject]: image.digest },
    });
  }
  await tx.commit({
    manifests: [
      { descriptor: image, tags: ['app:1'] },
      ...attachments.map((descriptor) => ({ descriptor, tags: [] })),
    ],
    time: new Date(0).toISOString(),
  });
  return { store, image };
}

/** A registry without the referrers API that holds `has` already; every call in order. */
function recordingRegistry(has: ReadonlySet<Digest>) {
  const calls: string[] = [];
  const registry: Registry = {
    authority: 'registry.test',
    close: () => Promise.resolve(),
    hasBlob: (_repo, blob) => {
      calls.push(`head ${blob.digest}`);
      return Promise.resolve(has.has(blob.digest));
    },
    mountBlob: () => Promise.resolve(false),
    pushBlob: (_repo, blob) => {
      calls.push(`blob ${blob.digest}`);
      return Promise.resolve();
    },
    putManifest: (_repo, reference, _type, bytes) => {
      calls.push(`manifest ${reference}`);
      return Promise.resolve(digestOf(bytes));
    },
    getManifest: () => Promise.reject(new RegistryError('E_REGISTRY_NOT_FOUND', 'no index yet')),
    referrers: () => {
      calls.push('referrers API');
      return Promise.resolve(null);
    },
    resolveTag: () => Promise.reject(new Error('unused')),
    fetchBlob: () => Promise.reject(new Error('unused')),
    getBlob: () => Promise.reject(new Error('unused')),
  };
  return { registry, calls };
}

describe('pushImage', () => {
  it('sends every missing blob before any manifest, the image before its referrers, the index last', async () => {
    const { store, image } = await storeWithImage();
    const { registry, calls } = recordingRegistry(new Set());
    const report = await pushImage(
      { store, registry, locations: { repositories: () => [], record: () => undefined } },
      {
        ref: 'app:1',
        dest: { host: 'registry.test', port: null, repository: 'app', tag: '1', digest: null },
      },
    );
    // config, 2 layers, the empty config, 2 attachment blobs.
    expect(report.blobs).toMatchObject({ uploaded: 6, present: 0 });
    const firstManifest = calls.findIndex((c) => c.startsWith('manifest'));
    const lastBlob = calls.findLastIndex((c) => c.startsWith('blob'));
    expect(lastBlob).toBeLessThan(firstManifest);
    const manifests = calls.filter((c) => c.startsWith('manifest'));
    expect(manifests[0]).toBe('manifest 1');
    expect(manifests.at(-1)).toBe(`manifest sha256-${image.digest.slice(7)}`);
    expect(manifests).toHaveLength(4);
  });

  it('sends nothing the registry has, asking about every blob once', async () => {
    const { store } = await storeWithImage();
    const all = new Set<Digest>();
    for (const d of (await store.index()).manifests) {
      const m = JSON.parse((await store.readBlob(d.digest, 1 << 20)).toString()) as {
        config: Descriptor;
        layers: Descriptor[];
      };
      for (const b of [m.config, ...m.layers]) all.add(b.digest);
    }
    const { registry, calls } = recordingRegistry(all);
    const report = await pushImage(
      { store, registry, locations: { repositories: () => [], record: () => undefined } },
      {
        ref: 'app:1',
        dest: { host: 'registry.test', port: null, repository: 'app', tag: '1', digest: null },
      },
    );
    expect(report.blobs).toMatchObject({ uploaded: 0, present: all.size });
    expect(calls.filter((c) => c.startsWith('blob'))).toEqual([]);
    expect(calls.filter((c) => c.startsWith('head'))).toHaveLength(all.size);
  });

  it('asks for the referrers API once the image is there, not before', async () => {
    const { store, image } = await storeWithImage();
    const { registry, calls } = recordingRegistry(new Set());
    // Like a registry that answers 404 about a subject it does not hold: no API, it seems.
    registry.referrers = () =>
      Promise.resolve(
        calls.includes('manifest 1')
          ? { schemaVersion: 2, mediaType: MediaType.imageIndex, manifests: [] }
          : null,
      );
    const report = await pushImage(
      { store, registry, locations: { repositories: () => [], record: () => undefined } },
      {
        ref: 'app:1',
        dest: { host: 'registry.test', port: null, repository: 'app', tag: '1', digest: null },
      },
    );
    expect(report.referrers).toEqual({ via: 'api' });
    expect(calls).not.toContain(`manifest sha256-${image.digest.slice(7)}`);
  });
});
