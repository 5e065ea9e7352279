import { join } from 'node:path';
import type { LayerLimits } from '../../src/adapters/base-image/index.js';
import { makeApp } from '../../src/bin/app.js';
import type { LayerCompression } from '../../src/domain/media-types.js';
import type { BuildResult } from '../../src/services/build/index.js';
import type { Store } from '../../src/ports/store.js';

/** Build in-process with the same wiring as the CLI. */
export async function buildWith(
  home: string,
  path: string,
  options: {
    compression?: LayerCompression;
    tag?: string;
    epoch?: number;
    workers?: number;
    limits?: LayerLimits;
    level?: number;
    keys?: string[];
    builderId?: string;
    noCache?: boolean;
  } = {},
): Promise<BuildResult> {
  const app = makeApp({
    home,
    ...(options.workers !== undefined && { workers: options.workers }),
    ...(options.limits && { layerLimits: options.limits }),
  });
  try {
    return await app.build({
      path,
      compression: options.compression ?? 'gzip',
      sourceDateEpoch: options.epoch ?? 0,
      ...(options.tag !== undefined && { tag: options.tag }),
      ...(options.level !== undefined && { level: options.level }),
      ...(options.keys && { signingKeys: options.keys }),
      ...(options.builderId !== undefined && { builderId: options.builderId }),
      ...(options.noCache && { noCache: true }),
    });
  } finally {
    await app.close();
  }
}

export async function openStore(home: string): Promise<Store> {
  return makeApp({ home }).store();
}

export function storeDir(home: string): string {
  return join(home, 'store');
}
