import { describe, expect, it } from 'vitest';
import type { Digest } from '../domain/digest.js';
import { MediaType } from '../domain/media-types.js';
import type { Descriptor, ImageIndex } from '../domain/oci.js';
import { choosePlatform } from './platform.js';

const entry = (n: number, platform?: Descriptor['platform']): Descriptor => ({
  mediaType: MediaType.imageManifest,
  digest: `sha256:${String(n).repeat(64)}` as Digest,
  size: 1,
  ...(platform && { platform }),
});

describe('choosePlatform', () => {
  const index: ImageIndex = {
    schemaVersion: 2,
    manifests: [
      entry(1), // an attestation or other artifact: no platform, never chosen
      entry(2, { os: 'linux', architecture: 'arm64', variant: 'v8' }),
      entry(3, { os: 'linux', architecture: 'amd64' }),
    ],
  };

  it('takes the entry of the platform asked for, arm64 with or without v8', () => {
    expect(choosePlatform(index, 'linux/amd64')).toEqual({ chosen: index.manifests[2] });
    expect(choosePlatform(index, 'linux/arm64')).toEqual({ chosen: index.manifests[1] });
  });

  it('says what the index offers when it lacks the platform', () => {
    expect(choosePlatform(index, 'linux/s390x')).toEqual({
      offered: '?, linux/arm64/v8, linux/amd64',
    });
    expect(choosePlatform({ schemaVersion: 2, manifests: [] }, 'linux/amd64')).toEqual({
      offered: '',
    });
  });
});
