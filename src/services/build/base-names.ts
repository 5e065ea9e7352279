import { OCI_SCHEME } from '../../core/attest/provenance.js';
import { formatReference } from '../../core/registry/reference.js';
import type { BaseRef } from '../../domain/baseline.js';
import type { Digest } from '../../domain/digest.js';
import { registryAuthority } from '../../domain/registry.js';

/** How the image, its provenance and the build's report name the base it was built on. */
export interface BaseNames {
  /** The tag the baseline named, if any. */
  readonly tag?: string;
  /**
   * `org.opencontainers.image.base.name`: a layout base's tag (as images built before
   * registries had it, so their digests stay), a registry base's `HOST[:PORT]/REPO[:TAG]`.
   */
  readonly annotation?: string;
  /** `oci://HOST[:PORT]/REPO` of a registry base, for provenance. */
  readonly uri?: string;
  /** The index the baseline pinned, when the image built on was chosen from it. */
  readonly index?: Digest;
}

/** `built`: the digest of the image manifest the build's layers start with. Pure. */
export function baseNames(from: BaseRef, built: Digest): BaseNames {
  if (from.kind === 'layout')
    return from.tag === undefined ? {} : { tag: from.tag, annotation: from.tag };
  if (from.kind === 'scratch') return {};
  const { image } = from;
  return {
    ...(image.tag !== null && { tag: image.tag }),
    annotation: formatReference(image),
    uri: `${OCI_SCHEME}${registryAuthority(image)}/${image.repository}`,
    ...(from.digest !== built && { index: from.digest }),
  };
}
