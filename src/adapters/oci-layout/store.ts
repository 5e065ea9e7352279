import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative, isAbsolute } from 'node:path';
import { digestOf, isDigest, type Digest } from '../../domain/digest.js';
import { Annotation, MediaType } from '../../domain/media-types.js';
import { MAX_MANIFEST_BYTES, type Descriptor, type ImageIndex } from '../../domain/oci.js';
import type {
  CommitRequest,
  CommitResult,
  Store,
  StoreTransaction,
  TagEvent,
} from '../../ports/store.js';
import { fsyncDir, moveIntoPlace, syncFile, writeFileAtomic } from '../shared/atomic-file.js';
import { isIntact } from '../shared/intact-file.js';
import { OciLayout } from '../shared/layout-reader.js';
import { safeJson } from '../shared/safe-json.js';
import { StoreError } from '../shared/store-error.js';
import { sweepAbandonedStaging } from './abandoned-staging.js';
import { withLock } from './lock.js';

/** OCI image-layout ref.name grammar (image-layout.md, "index.json"). */
const REF_NAME =
  /^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:\/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$/;

/** A tag may not look like a digest, or `ingot verify <digest>` could be pointed elsewhere. */
function isValidTag(tag: string): boolean {
  return tag.length <= 255 && REF_NAME.test(tag) && !/^(sha256:)?[0-9a-f]{64}$/.test(tag);
}

export function checkTag(tag: string): void {
  if (!isValidTag(tag)) {
    throw new StoreError(
      'E_TAG_INVALID',
      `tag ${JSON.stringify(tag)} is not valid: use letters and digits separated by . _ - : @ + or /, such as "hello:1.0"`,
      { tag },
    );
  }
}

/**
 * Ingot's store: an OCI image layout that umoci and skopeo read as `oci:<root>`, plus a
 * `.ingot/` folder of Ingot's own (lock, staging area, tag history) that they ignore.
 */
export class OciLayoutStore implements Store {
  private readonly layout: OciLayout;
  private readonly meta: string;

  private constructor(
    readonly root: string,
    /** fsync a staged file (atomic-file.ts); a test gives one that fails. */
    readonly syncFile: (path: string) => Promise<void>,
  ) {
    this.layout = new OciLayout(root);
    this.meta = join(root, '.ingot');
  }

  /** Open the store, creating an empty layout if there is none. */
  static async open(
    root: string,
    options: { readonly syncFile?: (path: string) => Promise<void> } = {},
  ): Promise<OciLayoutStore> {
    const store = new OciLayoutStore(root, options.syncFile ?? syncFile);
    // Private folders whatever the umask: a store another user could write into would let
    // them plant blobs (verified on read, but a denial of service all the same).
    mkdirSync(join(root, 'blobs', 'sha256'), { recursive: true, mode: 0o700 });
    mkdirSync(join(store.meta, 'staging'), { recursive: true, mode: 0o700 });
    sweepAbandonedStaging(join(store.meta, 'staging'));
    if (!existsSync(join(root, 'oci-layout'))) {
      writeFileAtomic(join(root, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    }
    if (!existsSync(join(root, 'index.json'))) {
      writeFileAtomic(join(root, 'index.json'), JSON.stringify(emptyIndex()));
    }
    await store.layout.checkLayout();
    return store;
  }

  blobPath(digest: Digest): string {
    return this.layout.blobPath(digest);
  }

  readBlob(digest: Digest, maxBytes: number, expectedSize?: number): Promise<Buffer> {
    return this.layout.readBlob(digest, maxBytes, expectedSize);
  }

  checkBlob(digest: Digest, expectedSize: number): Promise<void> {
    return this.layout.checkBlob(digest, expectedSize);
  }

  hasBlob(digest: Digest): Promise<boolean> {
    return this.layout.hasBlob(digest);
  }

  index(): Promise<ImageIndex> {
    return this.layout.index();
  }

  async resolve(ref: string): Promise<Descriptor> {
    const index = await this.index();
    const images = index.manifests.filter((d) => d.annotations?.[Annotation.subject] === undefined);
    // A full digest names content and is looked up as such: index.json is writable by
    // whoever can write the store, and a "tag" spelled like a digest must not redirect it.
    if (!isDigest(ref)) {
      const byTag = images.find(
        (d) => d.annotations?.[Annotation.refName] === ref && isValidTag(ref),
      );
      if (byTag) return byTag;
    }
    if (isDigest(ref)) {
      const listed = index.manifests.find((d) => d.digest === ref);
      if (listed) return withoutRefName(listed);
      if (await this.hasBlob(ref)) {
        const bytes = await this.readBlob(ref, MAX_MANIFEST_BYTES);
        const doc = safeJson(bytes.toString('utf8')) as { mediaType?: unknown } | undefined;
        const mediaType =
          typeof doc?.mediaType === 'string' ? doc.mediaType : MediaType.imageManifest;
        return {
          mediaType,
          digest: ref,
          size: bytes.length,
        };
      }
      throw new StoreError('E_REF_NOT_FOUND', `no manifest ${ref} in the store at ${this.root}`, {
        ref,
      });
    }
    const prefix = /^(?:sha256:)?([0-9a-f]{4,64})$/.exec(ref)?.[1];
    if (prefix !== undefined) {
      const matches = [
        ...new Set(images.map((d) => d.digest).filter((d) => d.slice(7).startsWith(prefix))),
      ];
      if (matches.length === 1) return withoutRefName(images.find((d) => d.digest === matches[0])!);
      if (matches.length > 1) {
        throw new StoreError(
          'E_REF_AMBIGUOUS',
          `${ref} matches ${matches.length} images (${matches.slice(0, 3).join(', ')}…): give more digits`,
          { ref, matches },
        );
      }
    }
    const similar = images
      .map((d) => d.annotations?.[Annotation.refName])
      .filter((t): t is string => t !== undefined && t.startsWith(`${ref.split(':')[0]}:`));
    const hint =
      similar.length > 0
        ? ` (tags of that name: ${similar.slice(0, 5).join(', ')})`
        : ' (see `ingot images`)';
    throw new StoreError('E_REF_NOT_FOUND', `no image ${JSON.stringify(ref)} in the store${hint}`, {
      ref,
    });
  }

  async referrers(subject: Digest): Promise<Descriptor[]> {
    const index = await this.index();
    return index.manifests.filter((d) => d.annotations?.[Annotation.subject] === subject);
  }

  tagHistory(tag?: string): Promise<TagEvent[]> {
    const path = join(this.meta, 'tag-history.jsonl');
    if (!existsSync(path)) return Promise.resolve([]);
    const events: TagEvent[] = [];
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      const e = safeJson(line) as TagEvent | undefined;
      if (!e || typeof e.tag !== 'string' || !isDigest(e.to)) continue;
      if (tag === undefined || e.tag === tag) events.push(e);
    }
    return Promise.resolve(events);
  }

  begin(): Promise<StoreTransaction> {
    const dir = join(this.meta, 'staging', `${process.pid}-${randomBytes(6).toString('hex')}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return Promise.resolve(new LayoutTransaction(this, dir));
  }

  /**
   * Move staged blobs into place, then publish them in index.json: never the other way round.
   * The staged files are read-only and fsynced already (LayoutTransaction.stage).
   */
  async commitStaged(
    staged: ReadonlyMap<Digest, { path: string; size: number }>,
    request: CommitRequest,
  ): Promise<CommitResult> {
    // Refuse bad tags before anything moves: a refused commit leaves the store as it was.
    for (const { tags } of request.manifests) tags.forEach(checkTag);
    for (const [digest, { path, size }] of staged) {
      const final = this.blobPath(digest);
      if (isIntact(final, digest, size)) {
        rmSync(path, { force: true });
        continue;
      }
      // A damaged copy (after a crash, or tampered with) is replaced: content addressing
      // makes the staged one right by construction, and this is the one moment we hold it.
      // The folder is synced once for all of them, below.
      moveIntoPlace(path, final, { syncFolder: false, synced: true });
    }
    if (staged.size > 0) fsyncDir(join(this.root, 'blobs', 'sha256'));

    return withLock(join(this.meta, 'lock'), async () => {
      const index = await this.index();
      const { next, moved } = applyToIndex(index, request);
      if (moved.length > 0) {
        // History first: a move that became visible is always recorded.
        appendFileSync(
          join(this.meta, 'tag-history.jsonl'),
          moved.map((m) => JSON.stringify(m) + '\n').join(''),
          { mode: 0o644 },
        );
      }
      if (JSON.stringify(next) !== JSON.stringify(index)) {
        writeFileAtomic(join(this.root, 'index.json'), JSON.stringify(next, null, 2) + '\n');
      }
      return { moved };
    });
  }
}

class LayoutTransaction implements StoreTransaction {
  private readonly staged = new Map<Digest, { path: string; size: number }>();
  private done = false;
  /**
   * The fsyncs of the staged files, one after the other in the background, each started as
   * its file is staged: a pull's or a build's blobs reach the disk while the next ones are
   * still being fetched or encoded, and the commit waits only for what is left. One at a
   * time, so that at most one of libuv's four threads waits on the disk.
   */
  private syncing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: OciLayoutStore,
    readonly stagingDir: string,
  ) {}

  putBlob(bytes: Uint8Array, mediaType: string): Promise<Descriptor> {
    const digest = digestOf(bytes);
    if (!this.staged.has(digest)) {
      const path = join(this.stagingDir, digest.slice(7));
      const fd = openSync(path, 'wx', 0o644);
      try {
        let off = 0;
        while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      } finally {
        closeSync(fd);
      }
      this.stage(digest, path, bytes.length);
    }
    return Promise.resolve({ mediaType, digest, size: bytes.length });
  }

  adoptFile(path: string, digest: Digest, size: number): void {
    const rel = relative(this.stagingDir, path);
    if (rel.startsWith('..') || isAbsolute(rel))
      throw new Error(`${path} is not inside the staging directory`);
    const existing = this.staged.get(digest);
    if (existing && existing.path !== path) rmSync(path, { force: true });
    else if (!existing) this.stage(digest, path, size);
  }

  async readBlob(digest: Digest, maxBytes: number, expectedSize?: number): Promise<Buffer> {
    const staged = this.staged.get(digest);
    if (staged === undefined) return this.store.readBlob(digest, maxBytes, expectedSize);
    if (expectedSize !== undefined && staged.size !== expectedSize)
      throw new StoreError(
        'E_BLOB_SIZE_MISMATCH',
        `blob ${digest} has ${staged.size} bytes but its descriptor declares ${expectedSize}`,
        { digest, actual: staged.size, declared: expectedSize },
      );
    if (staged.size > maxBytes)
      throw new StoreError('E_BLOB_TOO_LARGE', `blob ${digest} is larger than ${maxBytes} bytes`, {
        digest,
      });
    // Our own file in a private folder, but read as any blob is: checked against its name.
    const bytes = await readFile(staged.path);
    if (bytes.length !== staged.size || digestOf(bytes) !== digest)
      throw new StoreError('E_BLOB_CORRUPT', `staged blob ${digest} is not what was staged`, {
        digest,
      });
    return bytes;
  }

  /** A complete file, made read-only and queued for its fsync before it is named. */
  private stage(digest: Digest, path: string, size: number): void {
    chmodSync(path, 0o444);
    this.staged.set(digest, { path, size });
    // After a failure the chain stays failed: a later fsync that succeeds does not make the
    // lost one good. Seen by commit(); an aborted transaction's failures by nobody.
    const next = this.syncing.then(() => this.store.syncFile(path));
    next.catch(() => undefined);
    this.syncing = next;
  }

  async commit(request: CommitRequest): Promise<CommitResult> {
    if (this.done) throw new Error('transaction already finished');
    try {
      await this.syncing;
      return await this.store.commitStaged(this.staged, request);
    } finally {
      await this.abort();
    }
  }

  abort(): Promise<void> {
    this.done = true;
    rmSync(this.stagingDir, { recursive: true, force: true });
    return Promise.resolve();
  }
}

/**
 * The new index: each manifest listed once per tag (once untagged when it has none), tags
 * moved off their old manifests. An image that loses its last tag stays listed, untagged,
 * so that it is neither lost nor garbage.
 */
export function applyToIndex(
  index: ImageIndex,
  request: CommitRequest,
): { next: ImageIndex; moved: TagEvent[] } {
  const moving = new Map<string, Digest>();
  for (const { descriptor, tags } of request.manifests)
    for (const t of tags) moving.set(t, descriptor.digest);

  const moved: TagEvent[] = [];
  const kept: Descriptor[] = [];
  const unlist = new Set(request.unlist ?? []);
  const listed = new Set(request.manifests.map((m) => m.descriptor.digest));
  for (const d of index.manifests) {
    // Only attachments go (never an image, never anything a tag names or this commit lists).
    if (
      unlist.has(d.digest) &&
      !listed.has(d.digest) &&
      d.annotations?.[Annotation.subject] !== undefined &&
      d.annotations[Annotation.refName] === undefined
    )
      continue;
    const tag = d.annotations?.[Annotation.refName];
    const target = tag === undefined ? undefined : moving.get(tag);
    if (tag !== undefined && target !== undefined && target !== d.digest) {
      moved.push({ time: request.time, tag, from: d.digest, to: target });
      kept.push(withoutRefName(d));
    } else kept.push(d);
  }
  for (const [tag, to] of moving) {
    const existed = index.manifests.some((d) => d.annotations?.[Annotation.refName] === tag);
    if (!existed) moved.push({ time: request.time, tag, from: null, to });
  }
  for (const { descriptor, tags } of request.manifests) {
    // A tag named twice in one request goes to the last manifest that names it.
    const own = tags.filter((t) => moving.get(t) === descriptor.digest);
    if (own.length === 0) kept.push(descriptor);
    for (const tag of own)
      kept.push({
        ...descriptor,
        annotations: { ...descriptor.annotations, [Annotation.refName]: tag },
      });
  }

  // One untagged entry per digest at most, and none when the digest is also tagged.
  const tagged = new Set(
    kept.filter((d) => d.annotations?.[Annotation.refName] !== undefined).map((d) => d.digest),
  );
  const seen = new Set<string>();
  const manifests = kept.filter((d) => {
    const key = `${d.digest} ${d.annotations?.[Annotation.refName] ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return d.annotations?.[Annotation.refName] !== undefined || !tagged.has(d.digest);
  });
  return { next: { ...index, manifests }, moved };
}

function withoutRefName(d: Descriptor): Descriptor {
  if (d.annotations?.[Annotation.refName] === undefined) return d;
  const { [Annotation.refName]: _ignored, ...rest } = d.annotations;
  const copy: Descriptor = { ...d };
  if (Object.keys(rest).length > 0) copy.annotations = rest;
  else delete copy.annotations;
  return copy;
}

function emptyIndex(): ImageIndex {
  return { schemaVersion: 2, mediaType: MediaType.imageIndex, manifests: [] };
}
