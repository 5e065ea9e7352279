import { epochToRfc3339, parsePlatform } from '../../core/image.js';
import { sourceFilesOf } from '../../core/layer-plan.js';
import { formatReference } from '../../core/registry/reference.js';
import { changedBetweenWalks } from '../../core/source-identity.js';
import type { Baseline } from '../../domain/baseline.js';
import { SourceError } from '../../domain/build-errors.js';
import type { Platform } from '../../domain/oci.js';
import type { SourceListing } from '../../domain/source.js';
import type { OpenedBase } from '../../ports/base-image.js';
import type { Signer } from '../../ports/signer.js';
import { fetchRegistryBase, type RegistryBase } from './fetch-base.js';
import { loadBaseline, type LoadedBaseline } from './load-baseline.js';
import type { BuildDeps, BuildRequest, Progress } from './types.js';

/** Everything a build is made from, checked before any content is encoded. */
export interface BuildInputs extends LoadedBaseline {
  readonly signers: readonly Signer[];
  readonly tag: string;
  /** The artifact's timestamps (SOURCE_DATE_EPOCH as RFC 3339). */
  readonly created: string;
  readonly base: OpenedBase | null;
  readonly platform: Platform;
  /** Per layer of the baseline, what its source holds. */
  readonly listings: readonly SourceListing[];
}

/**
 * Read the baseline, load the signing keys, resolve the base and list every source; then
 * let the encoder start hashing while the caller plans. Whatever can be refused (spec,
 * keys, base, sources) is refused here.
 */
export async function readInputs(
  deps: BuildDeps,
  request: BuildRequest,
  progress: Progress,
): Promise<BuildInputs> {
  const loaded = loadBaseline(deps, request.path);
  const { baseline, contextDir } = loaded;
  // Keys are checked before any work: a build meant to be signed must not end unsigned.
  const signers = [
    ...new Map((request.signingKeys ?? []).map(deps.loadSigner).map((s) => [s.keyId, s])).values(),
  ];
  const tag = request.tag ?? `${baseline.name}:${baseline.version}`;
  const created = epochToRfc3339(request.sourceDateEpoch);
  const base = await openBase(deps, baseline, contextDir, progress);
  const platform: Platform =
    baseline.platform !== undefined
      ? parsePlatform(baseline.platform)
      : (base?.platform ?? { os: 'linux', architecture: 'amd64' });
  const listings = listSources(deps, baseline, contextDir, progress);
  hashAhead(deps, request, baseline, listings, progress);
  return {
    ...loaded,
    signers,
    tag,
    created,
    base,
    platform,
    listings,
  };
}

async function openBase(
  deps: BuildDeps,
  baseline: Baseline,
  contextDir: string,
  progress: Progress,
): Promise<OpenedBase | null> {
  const { from } = baseline;
  if (from.kind === 'scratch') return null;
  if (from.kind === 'registry') return openRegistryBase(deps, from, baseline.platform, progress);
  progress({
    phase: 'plan',
    message: `resolving base ${from.layout}${from.tag ? `:${from.tag}` : ''}`,
  });
  return deps.bases.open(
    {
      layoutDir: from.layout,
      ...(from.tag !== undefined && { tag: from.tag }),
      ...(from.digest !== undefined && { digest: from.digest }),
      ...(baseline.platform !== undefined && { platform: baseline.platform }),
    },
    contextDir,
  );
}

/**
 * Fetched by its pin into the base cache (fetch-base.ts), then read from there exactly as a
 * layout base is: one reader, one set of checks, whatever brought the bytes.
 */
async function openRegistryBase(
  deps: BuildDeps,
  from: RegistryBase,
  platform: string | undefined,
  progress: Progress,
): Promise<OpenedBase> {
  const shown = formatReference(from.image);
  progress({ phase: 'plan', message: `resolving base ${shown}@${from.digest}` });
  const { registryBases } = deps;
  const cache = await registryBases.cache();
  const registry = await registryBases.connect(from.image);
  try {
    await fetchRegistryBase(
      { cache, registry, locations: registryBases.locations, now: deps.now },
      from,
      platform,
      progress,
    );
  } finally {
    await registry.close();
  }
  const opened = await deps.bases.open(
    { layoutDir: cache.root, digest: from.digest, ...(platform !== undefined && { platform }) },
    cache.root,
  );
  return { ...opened, location: shown };
}

function listSources(
  deps: BuildDeps,
  baseline: Baseline,
  contextDir: string,
  progress: Progress,
): SourceListing[] {
  if (baseline.layers.length > 0) deps.encoder.warmUp();
  progress({ phase: 'plan', message: `reading ${baseline.layers.length} layer source(s)` });
  const listings = baseline.layers.map((spec) => deps.walk(contextDir, spec));
  const changed = changedBetweenWalks(listings);
  if (changed)
    throw new SourceError(
      'E_SOURCE_CHANGED',
      changed.abs,
      'changed between two looks while the build listed its sources (it is listed more than once: by two layers, symlinks or hard links); run the build again once the sources are settled',
    );
  return listings;
}

/** Reading starts now, on the encoder's threads, while this one plans. */
function hashAhead(
  deps: BuildDeps,
  request: BuildRequest,
  baseline: Baseline,
  listings: readonly SourceListing[],
  progress: Progress,
): void {
  baseline.layers.forEach((spec, i) => {
    deps.encoder.hashAhead({
      files: sourceFilesOf(spec, listings[i]!),
      compression: request.compression,
      ...(request.level !== undefined && { level: request.level }),
      onProgress: (done, total) =>
        progress({
          phase: 'layer',
          layer: i + 1,
          layers: baseline.layers.length,
          source: spec.source,
          step: 'hash',
          done,
          total,
        }),
    });
  });
}
