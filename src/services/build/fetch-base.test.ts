import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OciLayoutStore } from '../../adapters/oci-layout/store.js';
import { digestOf, type Digest } from '../../domain/digest.js';
import { isIngotError } from '../../domain/errors.js';
import { MediaType } from '../../domain/media-types.js';
import { RegistryError } from '../../domain/registry.js';
import type { Registry } from '../../ports/registry.js';
import { fetchRegistryBase, type RegistryBase } from './fetch-base.js';

/**
 * The fetch's decisions against a registry that serves what the test put in it (the real
 * registry is in test/build-registry-base.test.ts): what is refused before any layer is
 * fetched, what is fetched once, and what a tag may point at.
 */

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Content by digest, tags to digests, and every request made. */
function fakeRegistry(tags: Record<string, Digest> = {}) {
  const blobs = new Map<string, Buffer>();
  const requests: string[] = [];
  const put = (bytes: Buffer | string) => {
    const b = Buffer.from(bytes);
    blobs.set(digestOf(b), b);
    return { digest: digestOf(b), size: b.length };
  };
  const registry: Registry = {
    authority: 'registry.test',
    close: () => Promise.resolve(),
    hasBlob: () => Promise.reject(new Error('unused')),
    mountBlob: () => Promise.reject(new Error('unused')),
    pushBlob: () => Promise.reject(new Error('unused')),
    putManifest: () => Promise.reject(new Error('unused')),
    referrers: () => Promise.reject(new Error('unused')),
    getBlob: () => Promise.reject(new Error('unused')),
    resolveTag: (_repo, tag) => {
      requests.push(`tag ${tag}`);
      return Promise.resolve(tags[tag] ?? null);
    },
    getManifest: (_repo, reference) => {
      requests.push(`manifest ${reference}`);
      const bytes = blobs.get(reference);
      if (!bytes) return Promise.reject(new RegistryError('E_REGISTRY_NOT_FOUND', reference));
      return Promise.resolve({
        digest: reference as Digest,
        mediaType: MediaType.imageManifest,
        bytes,
      });
    },
    fetchBlob: (_repo, blob, path) => {
      requests.push(`blob ${blob.digest}`);
      writeFileSync(path, blobs.get(blob.digest) ?? '', { flag: 'wx' });
      return Promise.resolve();
    },
  };
  return { registry, requests, put, tags };
}

function image(
  put: ReturnType<typeof fakeRegistry>['put'],
  layerType: string = MediaType.layerTarGzip,
) {
  const config = put(
    '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}',
  );
  const layer = put('a layer');
  return put(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.imageManifest,
      config: { mediaType: MediaType.imageConfig, ...config },
      // One layer listed twice: fetched once.
      layers: [
        { mediaType: layerType, ...layer },
        { mediaType: layerType, ...layer },
      ],
    }),
  );
}

async function fetch(
  fake: ReturnType<typeof fakeRegistry>,
  digest: Digest,
  tag: string | null = null,
  platform?: string,
) {
  const dir = mkdtempSync(join(tmpdir(), 'ingot-fetch-base-'));
  dirs.push(dir);
  const cache = await OciLayoutStore.open(dir);
  const base: RegistryBase = {
    kind: 'registry',
    image: { host: 'registry.test', port: null, repository: 'base', tag, digest: null },
    digest,
  };
  let code: string | null = null;
  try {
    await fetchRegistryBase(
      {
        cache,
        registry: fake.registry,
        locations: { repositories: () => [], record: () => undefined },
        now: () => new Date(0),
      },
      base,
      platform,
      () => undefined,
    );
  } catch (err) {
    if (!isIngotError(err)) throw err;
    code = err.code;
  }
  return { code, blobs: readdirSync(join(dir, 'blobs', 'sha256')) };
}

describe('fetchRegistryBase', () => {
  it('fetches manifest, config and each layer once, and keeps them', async () => {
    const fake = fakeRegistry();
    const pinned = image(fake.put);
    const r = await fetch(fake, pinned.digest);
    expect(r).toMatchObject({ code: null });
    expect(r.blobs).toHaveLength(3);
    expect(fake.requests.filter((q) => q.startsWith('blob'))).toHaveLength(2);
  });

  it('refuses a layer type it cannot read before fetching any blob, keeping nothing', async () => {
    const fake = fakeRegistry();
    const pinned = image(fake.put, 'application/vnd.example.layer.v1+squashfs');
    expect(await fetch(fake, pinned.digest)).toEqual({ code: 'E_LAYER_MEDIA_TYPE', blobs: [] });
    expect(fake.requests.filter((q) => q.startsWith('blob'))).toEqual([]);
  });

  it("takes the index's entry for the platform, and refuses an index of indexes", async () => {
    const fake = fakeRegistry();
    const amd64 = image(fake.put);
    const index = (entry: { digest: Digest; size: number }, mediaType: string) =>
      fake.put(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.imageIndex,
          manifests: [{ mediaType, ...entry, platform: { os: 'linux', architecture: 'amd64' } }],
        }),
      );
    const top = index(amd64, MediaType.imageManifest);
    expect((await fetch(fake, top.digest)).blobs).toHaveLength(4);
    expect((await fetch(fake, top.digest, null, 'linux/arm64')).code).toBe('E_BASE_PLATFORM');
    const nested = index(top, MediaType.imageIndex);
    expect(await fetch(fake, nested.digest)).toEqual({ code: 'E_BASE_INVALID', blobs: [] });
  });

  it('accepts a tag on the pin or on an index listing it; refuses a moved one before fetching', async () => {
    const fake = fakeRegistry();
    const pinned = image(fake.put);
    const other = image(fake.put, MediaType.layerTar);
    const index = fake.put(
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: MediaType.imageManifest,
            ...pinned,
            platform: { os: 'linux', architecture: 'amd64' },
          },
        ],
      }),
    );
    Object.assign(fake.tags, { same: pinned.digest, multi: index.digest, moved: other.digest });
    expect((await fetch(fake, pinned.digest, 'same')).code).toBeNull();
    expect((await fetch(fake, pinned.digest, 'multi')).code).toBeNull();
    fake.requests.length = 0;
    expect(await fetch(fake, pinned.digest, 'moved')).toEqual({
      code: 'E_BASE_DIGEST_MISMATCH',
      blobs: [],
    });
    expect(await fetch(fake, pinned.digest, 'gone')).toEqual({
      code: 'E_BASE_TAG_NOT_FOUND',
      blobs: [],
    });
    // Only the tags and what the moved tag names were asked for: nothing of the pin.
    expect(fake.requests).toEqual([`tag moved`, `manifest ${other.digest}`, 'tag gone']);
  });
});
