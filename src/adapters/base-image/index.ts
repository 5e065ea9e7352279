import type { BaseImageSource, BaseRequest, OpenedBase } from '../../ports/base-image.js';
import { openBase } from './resolve.js';
import { DEFAULT_LAYER_LIMITS, type LayerLimits } from '../shared/layer-reader/limits.js';
import { readBaseLayer } from '../shared/layer-reader/read-layer.js';

/** Base images from OCI layouts on disk. */
export class LayoutBaseImages implements BaseImageSource {
  constructor(private readonly limits: LayerLimits = DEFAULT_LAYER_LIMITS) {}

  async open(request: BaseRequest, contextDir: string): Promise<OpenedBase> {
    const base = await openBase(request, contextDir);
    const limits = this.limits;
    return {
      descriptor: base.descriptor,
      manifest: base.manifest,
      config: base.config,
      platform: base.platform,
      location: base.layout.root,
      readLayer(index, options) {
        const descriptor = base.manifest.layers[index];
        const diffId = base.config.rootfs.diff_ids[index];
        if (!descriptor || !diffId) throw new RangeError(`base has no layer ${index}`);
        return readBaseLayer(base.layout, descriptor, diffId, {
          limits,
          copyTo: options.copyTo,
          ...(options.onBytes && { onBytes: options.onBytes }),
        });
      },
    };
  }
}

export { DEFAULT_LAYER_LIMITS, type LayerLimits } from '../shared/layer-reader/limits.js';
