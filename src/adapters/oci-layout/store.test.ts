import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { Digest } from '../../domain/digest.js';
import { isIngotError } from '../../domain/errors.js';
import { Annotation, MediaType } from '../../domain/media-types.js';
import type { Descriptor, ImageIndex } from '../../domain/oci.js';
import { applyToIndex, OciLayoutStore } from './store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'ingot-store-'));
  dirs.push(d);
  return d;
};

const digestArb = fc.constantFrom(
  ...['a', 'b', 'c', 'd'].map((c) => `sha256:${c.repeat(64)}` as Digest),
);
const tagArb = fc.constantFrom('app:1', 'app:2', 'latest');
const desc = (digest: Digest, tag?: string): Descriptor => ({
  mediaType: MediaType.imageManifest,
  digest,
  size: 1,
  ...(tag !== undefined && { annotations: { [Annotation.refName]: tag } }),
});

describe('applyToIndex', () => {
  it('never loses an image, keeps tags unique, records every move, and is idempotent', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(digestArb, fc.option(tagArb, { nil: undefined })), { maxLength: 6 }),
        fc.array(fc.tuple(digestArb, fc.array(tagArb, { maxLength: 2 })), {
          minLength: 1,
          maxLength: 3,
        }),
        (existing, commits) => {
          const seen = new Set<string>();
          const manifests = existing
            .filter(
              ([, t]) => (t === undefined || !seen.has(t)) && (t === undefined || seen.add(t)),
            )
            .map(([d, t]) => desc(d, t));
          const index: ImageIndex = { schemaVersion: 2, manifests };
          const request = {
            manifests: commits.map(([d, tags]) => ({
              descriptor: desc(d),
              tags: [...new Set(tags)],
            })),
            time: 't',
          };
          const { next, moved } = applyToIndex(index, request);

          const digests = (i: ImageIndex) => new Set(i.manifests.map((m) => m.digest));
          for (const d of digests(index)) expect(digests(next).has(d)).toBe(true);
          for (const c of commits) expect(digests(next).has(c[0])).toBe(true);
          const tags = next.manifests
            .map((m) => m.annotations?.[Annotation.refName])
            .filter(Boolean);
          expect(new Set(tags).size).toBe(tags.length);
          const last = new Map<string, Digest>();
          for (const [d, ts] of commits) for (const t of ts) last.set(t, d);
          for (const [t, d] of last)
            expect(
              next.manifests.find((m) => m.annotations?.[Annotation.refName] === t)?.digest,
            ).toBe(d);
          for (const m of moved) expect(m.from).not.toBe(m.to);
          expect(
            applyToIndex(next, request).moved.filter(
              (m) => last.get(m.tag) === m.to && m.from !== m.to,
            ),
          ).toEqual([]);
        },
      ),
    );
  });
});

describe('applyToIndex with attachments to unlist', () => {
  it('takes out only untagged attachments not listed again, never an image or a tag', () => {
    const image = desc(`sha256:${'a'.repeat(64)}` as Digest, 'app:1');
    const attachment = (c: string): Descriptor => ({
      mediaType: MediaType.imageManifest,
      digest: `sha256:${c.repeat(64)}` as Digest,
      size: 1,
      artifactType: MediaType.sigstoreBundle,
      annotations: { [Annotation.subject]: image.digest },
    });
    const [older, newer, other] = [attachment('b'), attachment('c'), attachment('d')];
    const index: ImageIndex = { schemaVersion: 2, manifests: [image, older, other] };
    const { next } = applyToIndex(index, {
      manifests: [{ descriptor: newer, tags: [] }],
      time: 't',
      // The image, a listed manifest and an unknown digest are named too: they stay or are
      // ignored; only the older bundle goes.
      unlist: [older.digest, image.digest, newer.digest, `sha256:${'e'.repeat(64)}` as Digest],
    });
    expect(next.manifests.map((m) => m.digest)).toEqual([image.digest, other.digest, newer.digest]);
  });
});

describe('OciLayoutStore', () => {
  it('resolves tags, digests and unique prefixes, and says when a prefix is ambiguous', async () => {
    // Two documents whose digests share their first four hex digits (a birthday search).
    const byPrefix = new Map<string, Buffer>();
    let pair: [Buffer, Buffer] | undefined;
    for (let i = 0; !pair; i++) {
      const doc = Buffer.from(`{"schemaVersion":2,"n":${i}}`);
      const prefix = createHash('sha256').update(doc).digest('hex').slice(0, 4);
      const other = byPrefix.get(prefix);
      if (other) pair = [other, doc];
      else byPrefix.set(prefix, doc);
    }
    const store = await OciLayoutStore.open(tmp());
    const tx = await store.begin();
    const a = await tx.putBlob(pair[0], MediaType.imageManifest);
    const b = await tx.putBlob(pair[1], MediaType.imageManifest);
    await tx.commit({
      manifests: [
        { descriptor: a, tags: ['x:1'] },
        { descriptor: b, tags: [] },
      ],
      time: 't',
    });

    expect((await store.resolve('x:1')).digest).toBe(a.digest);
    expect((await store.resolve(a.digest)).digest).toBe(a.digest);
    expect((await store.resolve(a.digest.slice(7, 20))).digest).toBe(a.digest);
    const code = async (ref: string) =>
      store.resolve(ref).then(
        () => 'resolved',
        (e: unknown) => (isIngotError(e) ? e.code : String(e)),
      );
    expect(await code(a.digest.slice(7, 11))).toBe('E_REF_AMBIGUOUS');
    expect(await code('y:1')).toBe('E_REF_NOT_FOUND');
  });

  it('serialises concurrent commits so that no tag is lost', async () => {
    const root = tmp();
    const stores = await Promise.all([OciLayoutStore.open(root), OciLayoutStore.open(root)]);
    await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const store = stores[i % 2]!;
        const tx = await store.begin();
        const d = await tx.putBlob(Buffer.from(`{"n":${i}}`), MediaType.imageManifest);
        await tx.commit({ manifests: [{ descriptor: d, tags: [`t:${i}`] }], time: 't' });
      }),
    );
    const tags = (await stores[0].index()).manifests
      .map((m) => m.annotations?.[Annotation.refName])
      .sort();
    expect(tags).toEqual(Array.from({ length: 12 }, (_, i) => `t:${i}`).sort());
  });

  it('leaves nothing behind when a transaction is aborted, and refuses invalid tags', async () => {
    const root = tmp();
    const store = await OciLayoutStore.open(root);
    const tx = await store.begin();
    await tx.putBlob(Buffer.from('data'), 'application/octet-stream');
    await tx.abort();
    expect(readdirSync(join(root, 'blobs/sha256'))).toEqual([]);
    expect(readdirSync(join(root, '.ingot/staging'))).toEqual([]);
    const tx2 = await store.begin();
    const d = await tx2.putBlob(Buffer.from('{}'), MediaType.imageManifest);
    const err = await tx2
      .commit({ manifests: [{ descriptor: d, tags: ['bad tag!'] }], time: 't' })
      .catch((e: unknown) => e);
    expect(isIngotError(err) && err.code).toBe('E_TAG_INVALID');
    expect((await store.index()).manifests).toEqual([]);
  });

  it('fails the commit before index.json changes when a background fsync failed, and stays failed', async () => {
    const root = tmp();
    const synced: string[] = [];
    const store = await OciLayoutStore.open(root, {
      syncFile: (path) => {
        synced.push(path);
        return synced.length === 2
          ? Promise.reject(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }))
          : Promise.resolve();
      },
    });
    const index = readFileSync(join(root, 'index.json'));
    const tx = await store.begin();
    const a = await tx.putBlob(Buffer.from('{"n":1}'), MediaType.imageManifest);
    await tx.putBlob(Buffer.from('{"n":2}'), MediaType.imageManifest);
    // The second fsync has failed by now; what is staged after it must not clear that.
    await new Promise((r) => setTimeout(r, 20));
    expect(synced).toHaveLength(2);
    await tx.putBlob(Buffer.from('{"n":3}'), MediaType.imageManifest);
    const err = await tx
      .commit({ manifests: [{ descriptor: a, tags: ['a:1'] }], time: 't' })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'EIO' });
    // Nothing published, nothing moved into place, the staging area gone.
    expect(readFileSync(join(root, 'index.json')).equals(index)).toBe(true);
    expect(readdirSync(join(root, 'blobs/sha256'))).toEqual([]);
    expect(readdirSync(join(root, '.ingot/staging'))).toEqual([]);
    // The third file was never synced: the chain stopped at the failure.
    expect(synced).toHaveLength(2);
  });

  it('reads in a transaction what it staged, and what the store holds, each verified', async () => {
    const store = await OciLayoutStore.open(tmp());
    const first = await store.begin();
    const old = await first.putBlob(Buffer.from('{"n":"stored"}'), MediaType.imageManifest);
    await first.commit({ manifests: [{ descriptor: old, tags: [] }], time: 't' });
    const tx = await store.begin();
    const staged = await tx.putBlob(Buffer.from('{"n":"staged"}'), MediaType.imageManifest);
    expect((await tx.readBlob(staged.digest, 1024, staged.size)).toString()).toBe('{"n":"staged"}');
    expect((await tx.readBlob(old.digest, 1024, old.size)).toString()).toBe('{"n":"stored"}');
    await expect(tx.readBlob(staged.digest, 1024, staged.size + 1)).rejects.toMatchObject({
      code: 'E_BLOB_SIZE_MISMATCH',
    });
    await expect(tx.readBlob(staged.digest, 4)).rejects.toMatchObject({ code: 'E_BLOB_TOO_LARGE' });
    await tx.abort();
  });
});
