import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DistributionRegistry } from '../src/adapters/registry/client.js';
import { digestOf } from '../src/domain/digest.js';
import { isIngotError } from '../src/domain/errors.js';
import { MediaType } from '../src/domain/media-types.js';
import type { Descriptor, ImageManifest } from '../src/domain/oci.js';
import { startRegistry, type TestRegistry } from './helpers/registry.js';

/** The client against real CNCF Distribution 2.8 registries: one plain, one with TLS and htpasswd. */

let plain: TestRegistry;
let secure: TestRegistry;
let work: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ingot-registry-client-'));
  [plain, secure] = await Promise.all([
    startRegistry(),
    startRegistry({ tls: true, auth: { username: 'alice', password: 'correct horse' } }),
  ]);
});

afterAll(async () => {
  await Promise.all([plain?.stop(), secure?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

function blob(
  content: string | Buffer,
  mediaType = 'application/octet-stream',
): Descriptor & { bytes: Buffer } {
  const bytes = Buffer.from(content);
  return { mediaType, digest: digestOf(bytes), size: bytes.length, bytes };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (isIngotError(err)) return err.code;
    throw err;
  }
  return 'none';
}

const plainClient = () =>
  new DistributionRegistry({ authority: plain.authority, plainHttp: true, credentials: null });

describe('registry client against docker-registry', () => {
  it('is refused without credentials, with wrong ones, and without the CA; accepted with both', async () => {
    const b = blob('secured content');
    const base = { authority: secure.authority, plainHttp: false, ca: secure.caPem! };
    const anonymous = new DistributionRegistry({ ...base, credentials: null });
    expect(await codeOf(anonymous.hasBlob('team/app', b))).toBe('E_REGISTRY_UNAUTHORIZED');
    const wrong = new DistributionRegistry({
      ...base,
      credentials: { username: 'alice', password: 'wrong' },
    });
    expect(await codeOf(wrong.hasBlob('team/app', b))).toBe('E_REGISTRY_UNAUTHORIZED');
    const noCa = new DistributionRegistry({
      ...base,
      ca: undefined!,
      credentials: secure.credentials,
    });
    delete (noCa as unknown as { ca?: unknown }).ca;
    const untrusted = new DistributionRegistry({
      authority: secure.authority,
      plainHttp: false,
      credentials: secure.credentials,
      retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1 },
    });
    // A certificate nobody vouched for is refused for good (not retried), with what to do.
    const refusal = await untrusted.hasBlob('team/app', b).catch((err: unknown) => err);
    expect(refusal).toMatchObject({
      code: 'E_REGISTRY_CONNECT',
      details: { transient: false, reason: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' },
    });
    expect((refusal as Error).message).toContain('--ca-file');

    const ok = new DistributionRegistry({ ...base, credentials: secure.credentials });
    expect(await ok.hasBlob('team/app', b)).toBe(false);
    await ok.pushBlob('team/app', b, { bytes: b.bytes });
    expect(await ok.hasBlob('team/app', b)).toBe(true);
  });

  it('uploads a blob from memory or a file, sees it with HEAD, and mounts it into another repository', async () => {
    const r = plainClient();
    const a = blob('layer a');
    const fileBlob = blob(Buffer.alloc(3 * 1024 * 1024 + 17, 7));
    const path = join(work, 'layer.bin');
    writeFileSync(path, fileBlob.bytes);
    await r.pushBlob('one', a, { bytes: a.bytes });
    await r.pushBlob('one', fileBlob, { path });
    expect(await r.hasBlob('one', a)).toBe(true);
    expect(await r.hasBlob('one', fileBlob)).toBe(true);
    // Same digest, another size: not the blob we mean.
    expect(await r.hasBlob('one', { ...a, size: a.size + 1 })).toBe(false);

    expect(await r.hasBlob('two', fileBlob)).toBe(false);
    expect(await r.mountBlob('two', fileBlob, 'one')).toBe(true);
    expect(await r.hasBlob('two', fileBlob)).toBe(true);

    // A blob the source repository lacks is not mounted; the upload session the registry
    // opened instead is used by the next upload.
    const c = blob('only uploaded');
    expect(await r.mountBlob('two', c, 'one')).toBe(false);
    await r.pushBlob('two', c, { bytes: c.bytes });
    expect(await r.hasBlob('two', c)).toBe(true);
  });

  it('round-trips a manifest by tag and by digest; Distribution 2.8 has no referrers API', async () => {
    const r = plainClient();
    const config = blob('{}', MediaType.empty);
    const layer = blob('payload', 'text/plain');
    await r.pushBlob('rt', config, { bytes: config.bytes });
    await r.pushBlob('rt', layer, { bytes: layer.bytes });
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.imageManifest,
      artifactType: 'text/plain',
      config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
      layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.size }],
    };
    const bytes = Buffer.from(JSON.stringify(manifest));
    const digest = await r.putManifest('rt', 'v1', MediaType.imageManifest, bytes);
    expect(digest).toBe(digestOf(bytes));
    expect(await r.resolveTag('rt', 'v1')).toBe(digest);
    expect(await r.resolveTag('rt', 'nope')).toBeNull();
    for (const ref of ['v1', digest]) {
      const got = await r.getManifest('rt', ref);
      expect(got).toEqual({ digest, mediaType: MediaType.imageManifest, bytes });
    }
    expect(await codeOf(r.getManifest('rt', 'nope'))).toBe('E_REGISTRY_NOT_FOUND');
    expect(await r.referrers('rt', digest)).toBeNull();
  });

  it('refuses a manifest whose config blob is missing (why attachments push the empty config first)', async () => {
    const r = plainClient();
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaType.imageManifest,
      config: { mediaType: MediaType.empty, digest: digestOf('{}'), size: 2 },
      layers: [],
    };
    expect(
      await codeOf(
        r.putManifest(
          'fresh',
          'v1',
          MediaType.imageManifest,
          Buffer.from(JSON.stringify(manifest)),
        ),
      ),
    ).toBe('E_REGISTRY_PROTOCOL');
  });

  it('streams a blob to a file while hashing it, and leaves nothing behind on a mismatch', async () => {
    const r = plainClient();
    const b = blob(Buffer.alloc(1024 * 1024, 3));
    await r.pushBlob('get', b, { bytes: b.bytes });
    const dir = mkdtempSync(join(work, 'fetch-'));
    await r.fetchBlob('get', b, join(dir, 'ok'));
    expect(readFileSync(join(dir, 'ok')).equals(b.bytes)).toBe(true);

    // A descriptor that says less than the registry sends: refused at the first extra byte.
    const shorter: Descriptor = { mediaType: b.mediaType, digest: b.digest, size: b.size - 1 };
    expect(await codeOf(r.fetchBlob('get', shorter, join(dir, 'short')))).toBe(
      'E_REGISTRY_SIZE_MISMATCH',
    );

    // The registry's copy is damaged (same size, other bytes): refused once hashed, file removed.
    writeFileSync(plain.blobFile(b.digest), Buffer.alloc(b.size, 9));
    expect(await codeOf(r.fetchBlob('get', b, join(dir, 'bad')))).toBe(
      'E_REGISTRY_DIGEST_MISMATCH',
    );
    expect(readdirSync(dir)).toEqual(['ok']);
  });

  it('reads a small blob into memory within its bound, verified like a streamed one', async () => {
    const r = plainClient();
    const b = blob(Buffer.alloc(64 * 1024, 4));
    await r.pushBlob('small', b, { bytes: b.bytes });
    expect((await r.getBlob('small', b, b.size)).equals(b.bytes)).toBe(true);
    // Over the bound: refused on its descriptor, before any request.
    expect(await codeOf(r.getBlob('small', b, b.size - 1))).toBe('E_REGISTRY_TOO_LARGE');
    const shorter: Descriptor = { mediaType: b.mediaType, digest: b.digest, size: b.size - 1 };
    expect(await codeOf(r.getBlob('small', shorter, b.size))).toBe('E_REGISTRY_SIZE_MISMATCH');
    writeFileSync(plain.blobFile(b.digest), Buffer.alloc(b.size, 9));
    expect(await codeOf(r.getBlob('small', b, b.size))).toBe('E_REGISTRY_DIGEST_MISMATCH');
  });

  it('refuses a manifest fetched by digest whose bytes hash to something else', async () => {
    const r = plainClient();
    const config = blob('{}', MediaType.empty);
    await r.pushBlob('tamper', config, { bytes: config.bytes });
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaType.imageManifest,
      config: { mediaType: MediaType.empty, digest: config.digest, size: config.size },
      layers: [],
    };
    const bytes = Buffer.from(JSON.stringify(manifest));
    const digest = await r.putManifest('tamper', 'v1', MediaType.imageManifest, bytes);
    const forged = Buffer.from(JSON.stringify({ ...manifest, annotations: { a: 'b' } }));
    writeFileSync(plain.blobFile(digest), forged);
    expect(await codeOf(r.getManifest('tamper', digest))).toBe('E_REGISTRY_DIGEST_MISMATCH');
    expect(await codeOf(r.getManifest('tamper', 'v1'))).toBe('E_REGISTRY_DIGEST_MISMATCH');
  });
});
