import type {
  ArtifactEvidence,
  ArtifactListed,
  ArtifactReader,
  MeasurementPage,
} from '../../core/ui/artifact-view.js';
import type { Digest } from '../../domain/digest.js';
import type { MeasuredEntry } from '../../domain/measurement.js';
import type { Store } from '../../ports/store.js';
import { inspectImage, listImages, readMeasurement } from '../inspect.js';
import type { LoadedPolicy } from '../policy.js';
import { verifyArtifact } from '../verify.js';

export const MAX_PACKAGES = 2000;
export const MAX_MEASUREMENT_PAGE = 200;

export interface ArtifactEvidenceDeps {
  readonly store: Store;
  readonly trust: () => Promise<LoadedPolicy>;
  /** Each fleet's name and the artifact its current release runs. */
  readonly fleets: () => Promise<readonly { name: string; artifact: string }[]>;
}

/**
 * What the dashboard's artifacts view asks of the store. Measurements are large (a path is a
 * few hundred bytes; 20,000 paths is some megabytes): the last two read are kept parsed, so
 * paging through one does not read and inflate it again for every page.
 */
export class ArtifactEvidenceService implements ArtifactReader {
  private readonly measurements = new Map<Digest, Promise<readonly MeasuredEntry[]>>();

  constructor(private readonly deps: ArtifactEvidenceDeps) {}

  async list(): Promise<ArtifactListed[]> {
    const [images, fleets] = await Promise.all([listImages(this.deps.store), this.deps.fleets()]);
    const running = (d: string) => fleets.filter((f) => f.artifact === d).map((f) => f.name);
    return images
      .map((i) => ({
        digest: i.digest,
        tags: i.tags,
        name: i.name ?? null,
        version: i.version ?? null,
        fleets: running(i.digest).sort(),
      }))
      .sort((a, b) => b.fleets.length - a.fleets.length || a.digest.localeCompare(b.digest));
  }

  async evidence(digest: Digest): Promise<ArtifactEvidence> {
    const details = await inspectImage(this.deps.store, digest);
    const trust = await this.deps.trust();
    const report = await verifyArtifact(this.deps.store, {
      ref: details.digest,
      policy: trust.policy,
      keys: trust.keys,
      rehash: false,
      resources: null,
    });
    const summary = details.measurement?.summary;
    return {
      digest: details.digest,
      tags: details.tags,
      name: details.name ?? null,
      version: details.version ?? null,
      platform: details.platform,
      base: { digest: details.base.digest ?? null, name: details.base.name ?? null },
      provenance: report.provenance,
      attestations: report.attestations,
      decision: report.decision,
      problems: report.problems,
      ok: report.ok,
      measurement: {
        digest: report.measurement.digest,
        signed: report.measurement.signed,
        files: summary?.files ?? 0,
        bytes: summary?.bytes ?? 0,
      },
      sbom: details.sbom && {
        digest: details.sbom.digest,
        files: details.sbom.files,
        packages: details.sbom.packages.slice(0, MAX_PACKAGES),
        total: details.sbom.packages.length,
      },
    };
  }

  /** Entries `offset`… of the measurement whose path contains `filter`, at most `limit`. */
  async measurement(
    digest: Digest,
    query: { offset: number; limit: number; filter: string },
  ): Promise<MeasurementPage> {
    const entries = await this.readMeasurement(digest);
    const matched =
      query.filter === '' ? entries : entries.filter((e) => e.path.includes(query.filter));
    const limit = Math.min(Math.max(1, query.limit), MAX_MEASUREMENT_PAGE);
    return {
      total: entries.length,
      matched: matched.length,
      offset: query.offset,
      entries: matched.slice(query.offset, query.offset + limit),
    };
  }

  private readMeasurement(digest: Digest): Promise<readonly MeasuredEntry[]> {
    let read = this.measurements.get(digest);
    if (read === undefined) {
      read = readMeasurement(this.deps.store, digest);
      read.catch(() => this.measurements.delete(digest));
      this.measurements.set(digest, read);
      while (this.measurements.size > 2) {
        const oldest = this.measurements.keys().next().value as Digest;
        this.measurements.delete(oldest);
      }
    }
    return read;
  }
}
