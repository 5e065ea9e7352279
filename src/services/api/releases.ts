import { parseReleaseParam, releaseOnWire } from '../../core/api/fleets.js';
import type { ApiHandlers } from '../../core/api/routes.js';
import {
  DEFAULT_RELEASE_PAGE,
  pageOf,
  rowsFor,
  type ReleasePageQuery,
} from '../../core/fleet/release-page.js';
import type { Digest } from '../../domain/digest.js';
import { IngotError } from '../../domain/errors.js';
import type { FleetStore } from '../../ports/fleet-store.js';

/**
 * A fleet's releases, a page at a time, and one release with the one before it. Releases are
 * never pruned, so no route reads them all: each asks the store for the rows it answers with
 * (a page and one more, or two), whatever the fleet's age. Admin only, as every API route.
 */
export function releaseApi(deps: {
  readonly fleets: FleetStore;
}): Pick<ApiHandlers, 'releases' | 'release'> {
  const mustExist = async (name: string) => {
    if ((await deps.fleets.fleet(name)) === null)
      throw new IngotError('E_FLEET_NOT_FOUND', `no fleet ${JSON.stringify(name)}`);
  };
  // A digest names one release of one fleet: another fleet's is not this fleet's.
  const byDigest = async (fleet: string, digest: Digest) => {
    const release = await deps.fleets.release(digest);
    if (release === null || release.fleet !== fleet) return [];
    const before =
      release.number > 1
        ? await deps.fleets.releases(fleet, { before: release.number, limit: 1 })
        : [];
    return [release, ...before];
  };
  return {
    async releases({ params, query }) {
      const page: ReleasePageQuery = {
        limit: query.limit ?? DEFAULT_RELEASE_PAGE,
        before: query.before ?? null,
      };
      const rows = await deps.fleets.releases(params.name, { ...page, limit: rowsFor(page) });
      if (rows.length === 0) await mustExist(params.name);
      const { items, next } = pageOf(rows, page);
      return { releases: items.map(releaseOnWire), next };
    },
    async release({ params }) {
      const ref = parseReleaseParam(params.release);
      if (ref === null)
        throw new IngotError(
          'E_REQUEST',
          `${JSON.stringify(params.release)}: name a release by its number (1, 2, …) or its digest (sha256:…)`,
        );
      // By number: it and the one before, in one read of at most two rows.
      const found =
        'number' in ref
          ? await deps.fleets.releases(params.name, { before: ref.number + 1, limit: 2 })
          : await byDigest(params.name, ref.digest);
      const [release, previous] = found;
      if (release === undefined || ('number' in ref && release.number !== ref.number)) {
        await mustExist(params.name);
        const [newest] = await deps.fleets.releases(params.name, { before: null, limit: 1 });
        throw new IngotError(
          'E_RELEASE_NOT_FOUND',
          `fleet ${params.name} has no release ${params.release}: ${newest === undefined ? 'it has none' : `its releases are 1–${newest.number}`} (\`ingot describe fleet ${params.name}\`)`,
        );
      }
      return {
        release: releaseOnWire(release),
        previous: previous === undefined ? null : releaseOnWire(previous),
      };
    },
  };
}
