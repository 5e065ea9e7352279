import { parseRuntimeContract } from '../core/runtime/contract.js';
import type { RuntimeContract } from '../domain/baseline.js';
import type { Digest } from '../domain/digest.js';
import { IngotError } from '../domain/errors.js';
import type { MeasuredEntry } from '../domain/measurement.js';
import { Annotation, MediaType } from '../domain/media-types.js';
import type { ImageConfig, ImageManifest } from '../domain/oci.js';
import type { Store } from '../ports/store.js';
import { MAX_DOCUMENT_BYTES, readDocument } from './attached-document.js';
import { readConfig, readManifest } from './inspect.js';

/** What a host needs of an artifact to run it, every piece read verified. */
export interface Artifact {
  readonly digest: Digest;
  readonly manifest: ImageManifest;
  readonly config: ImageConfig;
  readonly runtime: RuntimeContract;
  readonly measurement: {
    readonly digest: Digest;
    readonly bytes: Buffer;
    readonly entries: readonly MeasuredEntry[];
  };
}

export async function openArtifact(store: Store, digest: Digest): Promise<Artifact> {
  const descriptor = await store.resolve(digest);
  const manifest = await readManifest(store, descriptor);
  const config = await readConfig(store, manifest);
  const runtime = parseRuntimeContract(config.config?.Labels?.[Annotation.runtime]);
  if (!runtime)
    throw new IngotError('E_ARTIFACT_CONTRACT', `image ${digest} has a malformed runtime contract`);
  const attached = (await store.referrers(digest)).filter(
    (d) => d.artifactType === MediaType.measurement,
  );
  if (attached.length !== 1)
    throw new IngotError(
      'E_MEASUREMENT_MISSING',
      `image ${digest} has ${attached.length} measurements attached; it needs exactly one`,
    );
  const m = await readManifest(store, attached[0]!);
  if (m.subject?.digest !== digest)
    throw new IngotError('E_ATTACHMENT_INVALID', `the measurement does not describe ${digest}`);
  const document = await readDocument(store, m, MAX_DOCUMENT_BYTES);
  const bytes = document.bytes;
  let entries: MeasuredEntry[];
  try {
    entries = (JSON.parse(bytes.toString('utf8')) as { entries: MeasuredEntry[] }).entries;
    if (!Array.isArray(entries)) throw new Error('no entries');
  } catch {
    throw new IngotError('E_MEASUREMENT_INVALID', `the measurement of ${digest} is not readable`);
  }
  return {
    digest,
    manifest,
    config,
    runtime,
    measurement: { digest: document.digest, bytes, entries },
  };
}
