import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { LayoutBaseImages, type LayerLimits } from '../adapters/base-image/index.js';
import { ParallelLayerEncoder } from '../adapters/layer-encoder/encoder.js';
import { OciLayoutStore } from '../adapters/oci-layout/store.js';
import { walkSource } from '../adapters/source/walk.js';
import type { AppFactory, CliApp } from '../cli/io.js';
import { build } from '../services/build.js';

/** Composition root of the `ingot` command: the only place adapters meet services. */

export const version = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

export interface AppOptions {
  readonly home: string;
  /** Encoder threads (default: one per core, at most 8). */
  readonly workers?: number;
  readonly layerLimits?: LayerLimits;
}

export function makeApp(options: AppOptions): CliApp {
  const { home } = options;
  let store: Promise<OciLayoutStore> | null = null;
  let encoder: ParallelLayerEncoder | null = null;
  const openStore = () => (store ??= OciLayoutStore.open(join(home, 'store')));
  return {
    store: openStore,
    async build(request) {
      const s = await openStore();
      encoder ??= new ParallelLayerEncoder({
        workers: options.workers ?? Math.max(1, Math.min(availableParallelism(), 8)),
        cacheFile: join(home, 'cache', 'segments-v1.json'),
        blobPath: (d) => s.blobPath(d),
        blobExists: (d) => existsSync(s.blobPath(d)),
      });
      return build(
        {
          store: s,
          encoder,
          bases: new LayoutBaseImages(options.layerLimits),
          walk: walkSource,
          now: () => new Date(),
          tool: `ingot-${version}`,
        },
        request,
      );
    },
    async close() {
      await encoder?.close();
      encoder = null;
    },
  };
}

export const appFactory: AppFactory = ({ home }) => makeApp({ home });
