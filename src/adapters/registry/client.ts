import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, rmSync, statSync } from 'node:fs';
import { isValidRegistryTag, isValidRepository } from '../../core/registry/reference.js';
import { parseReferrersIndex } from '../../core/registry/referrers.js';
import { digestOf, isDigest, parseDigest, type Digest } from '../../domain/digest.js';
import { isIngotError } from '../../domain/errors.js';
import { MediaType } from '../../domain/media-types.js';
import { MAX_MANIFEST_BYTES, type Descriptor, type ImageIndex } from '../../domain/oci.js';
import { RegistryError } from '../../domain/registry.js';
import type { BlobSource, FetchedManifest, Registry } from '../../ports/registry.js';
import { safeJson } from '../shared/safe-json.js';
import { Session, type SessionOptions } from './session.js';
import { discard, eachChunk, readBounded, type Answer } from './transport.js';

/** Every manifest type we read; a registry converts or refuses what is not listed. */
const MANIFEST_ACCEPT = [
  MediaType.imageManifest,
  MediaType.imageIndex,
  MediaType.dockerManifest,
  MediaType.dockerManifestList,
].join(', ');

/**
 * The OCI distribution-spec client (push and pull endpoints, referrers). HTTP, auth,
 * retries and redirects are the session's; here every answer's status, size and digest
 * are checked before anything in it is believed.
 */
export class DistributionRegistry implements Registry {
  readonly authority: string;
  private readonly session: Session;
  /** Upload sessions a refused mount opened (202): the next upload of that blob uses it. */
  private readonly openUploads = new Map<string, string>();

  constructor(options: SessionOptions) {
    this.authority = options.authority;
    this.session = new Session(options);
  }

  close(): Promise<void> {
    return this.session.close();
  }

  async hasBlob(repo: string, blob: Descriptor): Promise<boolean> {
    const a = await this.session.send({
      method: 'HEAD',
      path: `/v2/${checkRepo(repo)}/blobs/${blob.digest}`,
      scope: scope(repo, 'pull'),
    });
    await discard(a);
    if (a.status === 404) return false;
    if (a.status !== 200) throw await unexpected(a, 'HEAD', `blob ${blob.digest}`);
    // A registry that lists the blob at another size has something else under that name.
    const length = a.headers['content-length'];
    return length === undefined || Number(length) === blob.size;
  }

  async mountBlob(repo: string, blob: Descriptor, from: string): Promise<boolean> {
    const q = new URLSearchParams({ mount: blob.digest, from: checkRepo(from) });
    const a = await this.session.send({
      method: 'POST',
      path: `/v2/${checkRepo(repo)}/blobs/uploads/?${q.toString()}`,
      scope: scope(repo, 'pull,push'),
      headers: { 'content-length': '0' },
    });
    // Registries that do not mount may also refuse outright; the caller uploads instead.
    if (![201, 202, 400, 404, 405].includes(a.status))
      throw await unexpected(a, 'POST (mount)', `blob ${blob.digest}`);
    await discard(a);
    const location = a.headers.location;
    if (a.status === 202 && location !== undefined)
      this.openUploads.set(`${repo}@${blob.digest}`, location);
    return a.status === 201;
  }

  async pushBlob(repo: string, blob: Descriptor, source: BlobSource): Promise<void> {
    checkRepo(repo);
    // Before the upload session is opened: a refused push leaves no upload behind it.
    checkSourceSize(blob, source);
    const key = `${repo}@${blob.digest}`;
    let location = this.openUploads.get(key);
    this.openUploads.delete(key);
    if (location === undefined) {
      const start = await this.session.send({
        method: 'POST',
        path: `/v2/${repo}/blobs/uploads/`,
        scope: scope(repo, 'pull,push'),
        headers: { 'content-length': '0' },
      });
      const loc = start.headers.location;
      if (start.status !== 202 || loc === undefined)
        throw await unexpected(start, 'POST (upload)', `blob ${blob.digest}`);
      await discard(start);
      location = loc;
    }
    const url = new URL(location, this.session.origin);
    url.searchParams.set('digest', blob.digest);
    const body =
      'bytes' in source ? { bytes: source.bytes } : { path: source.path, size: blob.size };
    const put = await this.session.send({
      method: 'PUT',
      path: url.href,
      scope: scope(repo, 'pull,push'),
      headers: { 'content-type': 'application/octet-stream' },
      body,
    });
    if (put.status !== 201) throw await unexpected(put, 'PUT (upload)', `blob ${blob.digest}`);
    await discard(put);
    checkDigestHeader(put, blob.digest, `blob ${blob.digest}`);
  }

  async getManifest(
    repo: string,
    reference: string,
    maxBytes = MAX_MANIFEST_BYTES,
  ): Promise<FetchedManifest> {
    const a = await this.session.send({
      method: 'GET',
      path: `/v2/${checkRepo(repo)}/manifests/${checkReference(reference)}`,
      scope: scope(repo, 'pull'),
      headers: { accept: MANIFEST_ACCEPT },
    });
    if (a.status === 404) {
      await discard(a);
      throw new RegistryError(
        'E_REGISTRY_NOT_FOUND',
        `${this.authority}/${repo} has no manifest ${reference}`,
        {
          repository: repo,
          reference,
        },
      );
    }
    if (a.status !== 200) throw await unexpected(a, 'GET', `manifest ${reference}`);
    const bytes = await readBounded(
      a,
      Math.min(maxBytes, MAX_MANIFEST_BYTES),
      `manifest ${reference} of ${this.authority}/${repo}`,
    );
    const digest = digestOf(bytes);
    // By digest, the content must be what we asked for; by tag, what the registry says it is.
    if (isDigest(reference) && digest !== reference)
      throw mismatch(`manifest ${reference}`, digest);
    checkDigestHeader(a, digest, `manifest ${reference}`);
    const doc = safeJson(bytes.toString('utf8')) as { mediaType?: unknown } | undefined;
    const header = a.headers['content-type']?.split(';')[0]?.trim();
    const mediaType =
      typeof doc?.mediaType === 'string' ? doc.mediaType : (header ?? MediaType.imageManifest);
    return { digest, mediaType, bytes };
  }

  async resolveTag(repo: string, tag: string): Promise<Digest | null> {
    const a = await this.session.send({
      method: 'HEAD',
      path: `/v2/${checkRepo(repo)}/manifests/${checkReference(tag)}`,
      scope: scope(repo, 'pull'),
      headers: { accept: MANIFEST_ACCEPT },
    });
    await discard(a);
    if (a.status === 404) return null;
    const header = a.headers['docker-content-digest'];
    if (a.status !== 200 || typeof header !== 'string')
      throw await unexpected(a, 'HEAD', `manifest ${tag}`);
    return parseDigest(header, `${this.authority}/${repo}:${tag} Docker-Content-Digest`);
  }

  async putManifest(
    repo: string,
    reference: string,
    mediaType: string,
    bytes: Uint8Array,
  ): Promise<Digest> {
    if (bytes.length > MAX_MANIFEST_BYTES)
      throw new RegistryError(
        'E_REGISTRY_TOO_LARGE',
        `a manifest of ${bytes.length} bytes (more than ${MAX_MANIFEST_BYTES})`,
      );
    const digest = digestOf(bytes);
    const a = await this.session.send({
      method: 'PUT',
      path: `/v2/${checkRepo(repo)}/manifests/${checkReference(reference)}`,
      scope: scope(repo, 'pull,push'),
      headers: { 'content-type': mediaType },
      body: { bytes },
    });
    if (a.status !== 201) throw await unexpected(a, 'PUT', `manifest ${reference}`);
    await discard(a);
    checkDigestHeader(a, digest, `manifest ${reference}`);
    return digest;
  }

  async fetchBlob(repo: string, blob: Descriptor, path: string): Promise<void> {
    const a = await this.getBlobAnswer(repo, blob);
    // 'wx': never write through a file (or link) somebody put there before us. Up to 1 MiB
    // queued for the disk before the body is paused: at the default 16 KiB every 64 KiB chunk
    // paused it, and each pause stops and restarts reading the socket.
    const out = createWriteStream(path, { flags: 'wx', mode: 0o644, highWaterMark: 1 << 20 });
    // Settles when the file is closed, or fails with its first error (awaited below).
    const written = new Promise<void>((resolve, reject) => {
      out.once('error', reject).once('close', resolve);
    });
    written.catch(() => undefined);
    const hash = createHash('sha256');
    let size = 0;
    try {
      await eachChunk(a, (chunk) => {
        size += chunk.length;
        // Threat: an endless or oversized body; stop at the first byte past the descriptor.
        if (size > blob.size) throw sizeMismatch(blob, size);
        hash.update(chunk);
        if (out.write(chunk)) return undefined;
        return Promise.race([once(out, 'drain'), written]).then(() => undefined);
      });
      if (size !== blob.size) throw sizeMismatch(blob, size);
      out.end();
      await written;
      const actual = `sha256:${hash.digest('hex')}`;
      if (actual !== blob.digest) throw mismatch(`blob ${blob.digest}`, actual);
    } catch (err) {
      a.body.destroy();
      out.destroy();
      await written.catch(() => undefined);
      rmSync(path, { force: true });
      throw err;
    }
  }

  async getBlob(repo: string, blob: Descriptor, maxBytes: number): Promise<Buffer> {
    if (blob.size > maxBytes)
      throw new RegistryError(
        'E_REGISTRY_TOO_LARGE',
        `blob ${blob.digest} declares ${blob.size} bytes (more than ${maxBytes})`,
        { digest: blob.digest, max: maxBytes },
      );
    const a = await this.getBlobAnswer(repo, blob);
    // Threat: an endless body; cut off at the first byte past the descriptor's size.
    const bytes = await readBounded(a, blob.size, `blob ${blob.digest}`).catch((err) => {
      throw isIngotError(err) && err.code === 'E_REGISTRY_TOO_LARGE'
        ? sizeMismatch(blob, blob.size + 1)
        : err;
    });
    if (bytes.length !== blob.size) throw sizeMismatch(blob, bytes.length);
    const actual = digestOf(bytes);
    if (actual !== blob.digest) throw mismatch(`blob ${blob.digest}`, actual);
    return bytes;
  }

  /** The answer to a blob GET whose status and declared size are as they must be. */
  private async getBlobAnswer(repo: string, blob: Descriptor): Promise<Answer> {
    const a = await this.session.send({
      method: 'GET',
      path: `/v2/${checkRepo(repo)}/blobs/${blob.digest}`,
      scope: scope(repo, 'pull'),
    });
    if (a.status === 404) {
      await discard(a);
      throw new RegistryError(
        'E_REGISTRY_NOT_FOUND',
        `${this.authority}/${repo} has no blob ${blob.digest}`,
        {
          digest: blob.digest,
        },
      );
    }
    if (a.status !== 200) throw await unexpected(a, 'GET', `blob ${blob.digest}`);
    const declared = a.headers['content-length'];
    if (declared !== undefined && Number(declared) !== blob.size) {
      a.body.destroy();
      throw sizeMismatch(blob, Number(declared));
    }
    return a;
  }

  async referrers(repo: string, subject: Digest): Promise<ImageIndex | null> {
    const a = await this.session.send({
      method: 'GET',
      path: `/v2/${checkRepo(repo)}/referrers/${subject}`,
      scope: scope(repo, 'pull'),
      headers: { accept: MediaType.imageIndex },
    });
    // Distribution 2.8 answers 404 here: no API, the caller falls back to the tag schema.
    if (a.status !== 200) {
      await discard(a);
      if (a.status >= 400 && a.status < 500) return null;
      throw await unexpected(a, 'GET', `referrers of ${subject}`);
    }
    return parseReferrersIndex(await readBounded(a, MAX_MANIFEST_BYTES, `referrers of ${subject}`));
  }
}

function scope(repo: string, actions: string): string {
  return `repository:${repo}:${actions}`;
}

/** Names go into URL paths: check them here too, whoever called us. */
function checkRepo(repo: string): string {
  if (!isValidRepository(repo))
    throw new RegistryError(
      'E_REGISTRY_REPO_INVALID',
      `repository ${JSON.stringify(repo.slice(0, 200))} is not valid`,
    );
  return repo;
}

function checkReference(reference: string): string {
  if (!isDigest(reference) && !isValidRegistryTag(reference))
    throw new RegistryError(
      'E_REGISTRY_TAG_INVALID',
      `${JSON.stringify(reference.slice(0, 200))} is neither a tag nor a digest`,
    );
  return reference;
}

function checkDigestHeader(a: Answer, digest: Digest, what: string): void {
  const header = a.headers['docker-content-digest'];
  if (typeof header === 'string' && header !== digest) throw mismatch(what, header);
}

function mismatch(what: string, actual: string): RegistryError {
  return new RegistryError(
    'E_REGISTRY_DIGEST_MISMATCH',
    `${what}: the registry's content hashes to ${actual.slice(0, 80)}`,
    {
      actual: actual.slice(0, 80),
    },
  );
}

function sizeMismatch(blob: Descriptor, actual: number): RegistryError {
  return new RegistryError(
    'E_REGISTRY_SIZE_MISMATCH',
    `blob ${blob.digest}: the registry sent ${actual} bytes or more, the descriptor says ${blob.size}`,
    { digest: blob.digest, expected: blob.size, actual },
  );
}

/** An answer the spec does not allow here; the registry's own error code, if any, is named. */
async function unexpected(a: Answer, method: string, what: string): Promise<RegistryError> {
  let said = '';
  try {
    const text = (await readBounded(a, 16 * 1024, 'an error answer')).toString('utf8');
    const doc = safeJson(text) as { errors?: { code?: unknown; message?: unknown }[] } | undefined;
    const first = Array.isArray(doc?.errors) ? doc.errors[0] : undefined;
    if (typeof first?.code === 'string')
      said = `: ${first.code.slice(0, 64)}${typeof first.message === 'string' ? ` (${first.message.slice(0, 200)})` : ''}`;
  } catch {
    // The body was only for the message.
  }
  return new RegistryError(
    'E_REGISTRY_PROTOCOL',
    `${method} ${what}: unexpected answer ${a.status}${said}`,
    {
      status: a.status,
    },
  );
}

/**
 * What is about to be sent is the size its descriptor gives. Threat: a store file damaged or
 * changed under the push would send other bytes than the digest names (a longer one, its
 * first bytes as a whole body); E_REGISTRY_SIZE_MISMATCH before anything goes out. undici
 * checks the length again while the body streams.
 */
function checkSourceSize(blob: Descriptor, source: BlobSource): void {
  let size: number;
  if ('bytes' in source) size = source.bytes.length;
  else {
    try {
      size = statSync(source.path).size;
    } catch (err) {
      throw new RegistryError(
        'E_REGISTRY_SIZE_MISMATCH',
        `blob ${blob.digest}: cannot read ${source.path} (${(err as NodeJS.ErrnoException).code ?? String(err)}): the store is damaged`,
        { digest: blob.digest, path: source.path },
        err,
      );
    }
  }
  if (size !== blob.size)
    throw new RegistryError(
      'E_REGISTRY_SIZE_MISMATCH',
      `blob ${blob.digest}: ${size} bytes to send, its descriptor says ${blob.size}: the store is damaged or changed under the push`,
      { digest: blob.digest, actual: size, declared: blob.size },
    );
}
