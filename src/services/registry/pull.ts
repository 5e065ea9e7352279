import { join } from 'node:path';
import {
  checkReferrerSubject,
  parseReferrersIndex,
  referrersTag,
} from '../../core/registry/referrers.js';
import { formatReference } from '../../core/registry/reference.js';
import { digestHex, type Digest } from '../../domain/digest.js';
import { IngotError, isIngotError } from '../../domain/errors.js';
import { MAX_BUNDLE_BYTES } from '../../domain/attestation.js';
import { Annotation, MediaType } from '../../domain/media-types.js';
import {
  manifestSchema,
  MAX_CONFIG_BYTES,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
} from '../../domain/oci.js';
import { RegistryError, type RegistryReference } from '../../domain/registry.js';
import type { BlobLocations, Registry } from '../../ports/registry.js';
import type { Store, StoreReader, StoreTransaction } from '../../ports/store.js';
import {
  checkPartsWeight,
  inParts,
  MAX_DOCUMENT_BYTES,
  readDocument,
} from '../attached-document.js';
import type { VerifyReport } from '../verify.js';
import { FetchedDocuments } from './fetched-documents.js';
import { allOrNothing, DOCUMENTS, inParallel, TRANSFERS } from './in-parallel.js';

/**
 * A referrer's manifest is at most this large: a bundle's or a document's names a few blobs
 * (a 512 MiB document in parts, about 1,000 of them: 0.2 MiB). Well below a manifest's 4 MiB,
 * as a thousand referrers may be listed.
 */
const MAX_REFERRER_BYTES = 1024 * 1024;

/**
 * The attachments a pull keeps: those admission reads (signature bundles) and vouches for
 * (the measurement, the SBOM beside it). Another tool's stay in the registry: nothing here
 * reads them, so nothing would bound what they cost.
 */
const KEPT: ReadonlySet<string> = new Set([
  MediaType.sigstoreBundle,
  MediaType.measurement,
  MediaType.spdx,
]);

export interface PullRequest {
  readonly src: RegistryReference;
  /** The local tag to give it; null for none. */
  readonly tag: string | null;
}

export interface PullDeps {
  readonly store: Store;
  readonly registry: Registry;
  /**
   * Admission, as `ingot verify` does it (signatures, subject, measurement, policy), over
   * the documents fetched for it, held in memory: nothing of a refused image is written.
   */
  readonly verify: (documents: StoreReader, digest: Digest) => Promise<VerifyReport>;
  readonly now: () => Date;
  /** Remember where the blobs came from, so that a push to another repository mounts them. */
  readonly locations: BlobLocations;
}

export interface PullReport {
  readonly ok: boolean;
  readonly digest: Digest;
  readonly source: string;
  readonly tag: string | null;
  readonly verify: VerifyReport;
  /** Layers fetched, and those the store already had (null: refused before any layer). */
  readonly layers: {
    readonly fetched: number;
    readonly fetchedBytes: number;
    readonly present: number;
  } | null;
  /**
   * When the pull began and when admission decided (ISO 8601, deps.now()): the decision
   * comes before any layer is requested. For benchmarks and logs; nothing depends on it.
   */
  readonly timings: { readonly started: string; readonly decided: string };
}

interface Fetched {
  readonly descriptor: Descriptor;
  readonly manifest: ImageManifest;
  readonly bytes: Buffer;
}

/** The image and its referrers as fetched, and what admission reads of them. */
interface Admission {
  readonly image: Fetched;
  readonly attachments: readonly Fetched[];
  readonly documents: FetchedDocuments;
}

/**
 * Pull an image by tag or digest: the manifest, its referrers, the config and the signature
 * bundles first, in parallel, admitted from memory by the same verification as `ingot verify`
 * before any layer is fetched; then, a few at a time, the attachments' other blobs
 * (measurement, SBOM) and the layers that the store lacks, in that order, each hashed as it
 * streams; all of it committed in one transaction, once each document in parts is found
 * (while the layers stream) to make the document its attachment names. Attachments of other
 * types are not pulled.
 */
export async function pullImage(deps: PullDeps, request: PullRequest): Promise<PullReport> {
  const { registry, store } = deps;
  const { src } = request;
  const started = deps.now().toISOString();
  const repo = src.repository;
  const reference = src.digest ?? src.tag;
  if (reference === null)
    throw new RegistryError(
      'E_REGISTRY_REF_INVALID',
      `pull ${formatReference(src)}: name a :TAG or an @sha256: digest`,
    );

  const { image, attachments, documents } = await fetchForAdmission(
    registry,
    repo,
    src.digest,
    reference,
  );
  const digest = image.descriptor.digest;
  const report = await deps.verify(documents, digest);
  const timings = { started, decided: deps.now().toISOString() };
  const source = formatReference({ ...src, digest });
  if (!report.ok)
    return { ok: false, digest, source, tag: null, verify: report, layers: null, timings };

  const kept = attachments.filter((a) => KEPT.has(a.manifest.artifactType ?? ''));
  // Every bound checked here, before anything is fetched.
  const blobs = allBlobs(image, kept);
  const tx = await store.begin();
  try {
    const layers = { fetched: 0, fetchedBytes: 0, present: 0 };
    const isLayer = new Set(image.manifest.layers.map((l) => l.digest));
    const toFetch: Descriptor[] = [];
    for (const blob of blobs) {
      if (await store.hasBlob(blob.digest)) {
        if (isLayer.has(blob.digest)) layers.present++;
      } else if (documents.has(blob.digest)) {
        // What admission read, from memory (verified as it was fetched).
        await tx.putBlob(
          await documents.readBlob(blob.digest, blob.size, blob.size),
          blob.mediaType,
        );
      } else toFetch.push(blob);
    }
    // The attachments' blobs first (the measurement's and the SBOM's parts: small), so that
    // the documents in parts are reassembled and checked (zlib works in libuv's threads)
    // while the layers stream; then the layers, the largest first, so that the transfer that
    // finishes last is a short one.
    const layerLast = (b: Descriptor) => Number(isLayer.has(b.digest));
    toFetch.sort((x, y) => layerLast(x) - layerLast(y) || y.size - x.size);
    let partsLeft = toFetch.filter((b) => !isLayer.has(b.digest)).length;
    const check: { running: Promise<void> | null } = { running: null };
    const checkNow = () => {
      check.running = checkDocuments(tx, kept);
      check.running.catch(() => undefined); // awaited below, whatever happens
    };
    if (partsLeft === 0) checkNow();
    try {
      await inParallel(toFetch, TRANSFERS, async (blob) => {
        const path = join(tx.stagingDir, digestHex(blob.digest));
        await registry.fetchBlob(repo, blob, path);
        tx.adoptFile(path, blob.digest, blob.size);
        if (isLayer.has(blob.digest)) {
          layers.fetched++;
          layers.fetchedBytes += blob.size;
        } else if (--partsLeft === 0) checkNow();
      });
    } finally {
      // Nothing left reading the staging folder when the caller removes it.
      await check.running?.catch(() => undefined);
    }
    await (check.running ?? checkDocuments(tx, kept));
    // A tag that moved while we pulled names something we did not admit: refuse to name it.
    if (src.digest === null && src.tag !== null) {
      const current = await registry.resolveTag(repo, src.tag);
      if (current !== digest)
        throw new RegistryError(
          'E_REGISTRY_TAG_MOVED',
          `${formatReference({ ...src, digest: null })} moved from ${digest} to ${current ?? 'nothing'} during the pull: pull again, or by digest`,
          { from: digest, to: current },
        );
    }
    const tags = request.tag === null ? [] : [request.tag];
    await tx.commit({
      manifests: listing(image, kept, tags),
      time: deps.now().toISOString(),
    });
    deps.locations.record(
      registry.authority,
      repo,
      blobs.map((b) => b.digest),
    );
    return { ok: true, digest, source, tag: request.tag, verify: report, layers, timings };
  } catch (err) {
    await tx.abort();
    throw err;
  }
}

/**
 * Each document in parts, reassembled from what is staged (or stored already) and checked
 * against the digest its attachment names, before anything is committed. Admission compared
 * only that name (the measurement's against the digest provenance signs), without the parts.
 * Threat: a registry that serves parts making another document; committed, the image would
 * be admitted here, fail E_DOCUMENT_INVALID before every start, and never be pulled again.
 */
async function checkDocuments(
  tx: StoreTransaction,
  attachments: readonly Fetched[],
): Promise<void> {
  for (const a of attachments) {
    if (!inParts(a.manifest)) continue;
    try {
      await readDocument(tx, a.manifest, MAX_DOCUMENT_BYTES);
    } catch (err) {
      if (!isIngotError(err) || err.code !== 'E_DOCUMENT_INVALID') throw err;
      throw new RegistryError(
        'E_REGISTRY_DOCUMENT_INVALID',
        `the ${a.manifest.artifactType ?? 'attached'} document of ${a.descriptor.digest}, as the registry served it: ${err.message}; nothing of the pull was stored`,
        { digest: a.descriptor.digest },
        err,
      );
    }
  }
}

/**
 * Everything admission reads, fetched with as few round trips in a row as the protocol
 * allows: by digest, the manifest and both kinds of referrers list at once; then every
 * referrer's manifest and the config at once; each signature bundle as soon as its
 * manifest is in.
 */
async function fetchForAdmission(
  registry: Registry,
  repo: string,
  pinned: Digest | null,
  reference: string,
): Promise<Admission> {
  const [image, index] = await allOrNothing([
    fetchManifest(registry, repo, reference),
    pinned === null ? Promise.resolve(null) : referrersIndex(registry, repo, pinned),
  ]);
  const digest = image.descriptor.digest;
  const documents = new FetchedDocuments(image.descriptor);
  documents.add(image.bytes);
  // By tag, the digest (and so where the referrers are) is known only now.
  const entries = pinned === null ? await referrersIndex(registry, repo, digest) : index;
  const unique = [...new Set((entries?.manifests ?? []).map((e) => e.digest))];
  const attachments: (Fetched | undefined)[] = [];
  const config = image.manifest.config;
  await allOrNothing([
    registry.getBlob(repo, config, MAX_CONFIG_BYTES).then((b) => documents.add(b)),
    inParallel([...unique.keys()], DOCUMENTS, async (i) => {
      const fetched = await fetchReferrer(registry, repo, unique[i]!, digest);
      attachments[i] = fetched;
      documents.add(fetched.bytes);
      const bundle = signatureBundle(fetched.manifest);
      if (bundle) documents.add(await registry.getBlob(repo, bundle, MAX_BUNDLE_BYTES));
    }),
  ]);
  // In the order the list gave them, as admission would have read them one by one.
  const ordered = attachments.filter((a): a is Fetched => a !== undefined);
  for (const a of ordered) documents.attach(a.descriptor);
  return { image, attachments: ordered, documents };
}

async function fetchManifest(
  registry: Registry,
  repo: string,
  reference: string,
  maxBytes?: number,
): Promise<Fetched> {
  const fetched = await registry.getManifest(repo, reference, maxBytes);
  const manifest = parseManifest(fetched.bytes, fetched.digest);
  return {
    descriptor: {
      mediaType: fetched.mediaType,
      digest: fetched.digest,
      size: fetched.bytes.length,
    },
    manifest,
    bytes: fetched.bytes,
  };
}

function parseManifest(bytes: Buffer, digest: Digest): ImageManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    doc = undefined;
  }
  const parsed = manifestSchema.safeParse(doc);
  if (!parsed.success)
    throw new IngotError(
      'E_NOT_AN_IMAGE',
      `${digest} is not an image manifest (an index, or not OCI at all)`,
    );
  return parsed.data;
}

/**
 * The referrers list of `subject`: the registry's API, else the tag-schema index, both asked
 * at once (a registry with the API answers the first; one without, the second).
 */
async function referrersIndex(
  registry: Registry,
  repo: string,
  subject: Digest,
): Promise<ImageIndex | null> {
  const fallback = fallbackIndex(registry, repo, referrersTag(subject)).then(
    (index) => ({ index }),
    (error: unknown) => ({ index: null, error }),
  );
  const api = await registry.referrers(repo, subject).catch(async (err: unknown) => {
    await fallback; // settled, never rejects: nothing left running behind the failure
    throw err;
  });
  if (api !== null) return api;
  const answer = await fallback;
  if ('error' in answer) throw answer.error;
  return answer.index;
}

async function fallbackIndex(
  registry: Registry,
  repo: string,
  tag: string,
): Promise<ImageIndex | null> {
  try {
    return parseReferrersIndex((await registry.getManifest(repo, tag)).bytes);
  } catch (err) {
    if (isIngotError(err) && err.code === 'E_REGISTRY_NOT_FOUND') return null;
    throw err;
  }
}

/**
 * A referrer's manifest, fetched by digest; it must name `subject`: the fallback index is
 * anybody's to write who may push, and could lend another image's signature to this one.
 */
async function fetchReferrer(
  registry: Registry,
  repo: string,
  digest: Digest,
  subject: Digest,
): Promise<Fetched> {
  const fetched = await fetchManifest(registry, repo, digest, MAX_REFERRER_BYTES);
  checkReferrerSubject(fetched.manifest, digest, subject);
  return {
    ...fetched,
    descriptor: {
      ...fetched.descriptor,
      ...(fetched.manifest.artifactType !== undefined && {
        artifactType: fetched.manifest.artifactType,
      }),
    },
  };
}

/**
 * The blob of a signature bundle that admission will read: one of a bundle's shape and
 * size (admission refuses any other without reading it).
 */
function signatureBundle(manifest: ImageManifest): Descriptor | null {
  const blob = manifest.layers[0];
  if (manifest.artifactType !== MediaType.sigstoreBundle || manifest.layers.length !== 1)
    return null;
  return blob !== undefined && blob.size <= MAX_BUNDLE_BYTES ? blob : null;
}

/** Every blob of the image and its attachments, manifests included, each once. */
function allBlobs(image: Fetched, attachments: readonly Fetched[]): Descriptor[] {
  const all = [
    image.descriptor,
    image.manifest.config,
    ...image.manifest.layers,
    ...attachments.flatMap((a) => [a.descriptor, ...attachmentBlobs(a)]),
  ];
  return [...new Map(all.map((d) => [d.digest, d])).values()];
}

/**
 * An attachment's config and layers, each within what its readers after the pull accept,
 * and a document's parts together within what the document compresses to (the bound
 * readDocument enforces). Threat: a registry that, once the image is admitted, serves
 * attachments that would fill the disk; they are refused before any blob is fetched.
 */
function attachmentBlobs(a: Fetched): Descriptor[] {
  const { config, layers, artifactType } = a.manifest;
  try {
    checkPartsWeight(a.manifest, MAX_DOCUMENT_BYTES);
  } catch (err) {
    if (!isIngotError(err)) throw err;
    throw new RegistryError(
      'E_REGISTRY_TOO_LARGE',
      `attachment ${a.descriptor.digest}: ${err.message}`,
      { digest: a.descriptor.digest },
      err,
    );
  }
  const max = artifactType === MediaType.sigstoreBundle ? MAX_BUNDLE_BYTES : MAX_DOCUMENT_BYTES;
  const bounded = [
    { blob: config, max: MAX_CONFIG_BYTES },
    ...layers.map((blob) => ({ blob, max })),
  ];
  for (const { blob, max } of bounded)
    if (blob.size > max)
      throw new RegistryError(
        'E_REGISTRY_TOO_LARGE',
        `blob ${blob.digest} of attachment ${a.descriptor.digest} declares ${blob.size} bytes (more than ${max})`,
        { digest: blob.digest, max },
      );
  return [config, ...layers];
}

/** index.json entries as the store keeps them: attachments annotated with their subject. */
function listing(image: Fetched, attachments: readonly Fetched[], tags: readonly string[]) {
  return [
    { descriptor: image.descriptor, tags },
    ...attachments.map((a) => ({
      descriptor: {
        ...a.descriptor,
        annotations: { [Annotation.subject]: image.descriptor.digest },
      },
      tags: [] as string[],
    })),
  ];
}
