import type { LayerChanges } from '../core/apply-layer.js';
import type { Digest } from '../domain/digest.js';
import type { DroppedEntry, FileExtra } from '../domain/measurement.js';
import type { Descriptor, ImageConfig, ImageManifest, Platform } from '../domain/oci.js';

export interface BaseRequest {
  /** The layout's folder, relative to the baseline's folder or absolute. */
  readonly layoutDir: string;
  readonly tag?: string;
  readonly digest?: Digest;
  readonly platform?: string;
}

/** A base image found and verified down to its config; layers are read on demand. */
export interface OpenedBase {
  readonly descriptor: Descriptor;
  readonly manifest: ImageManifest;
  readonly config: ImageConfig;
  readonly platform: Platform;
  readonly location: string;
  readLayer(
    index: number,
    options: { copyTo: string | null; onBytes?: (done: number) => void },
  ): Promise<{
    changes: LayerChanges<FileExtra>;
    uncompressedBytes: number;
    /** Device nodes under /dev that the layer carried and the rootfs leaves out. */
    dropped: readonly DroppedEntry[];
  }>;
}

export interface BaseImageSource {
  open(request: BaseRequest, contextDir: string): Promise<OpenedBase>;
}
