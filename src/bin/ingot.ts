#!/usr/bin/env node
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { LayoutBaseImages } from '../adapters/base-image/index.js';
import { ParallelLayerEncoder } from '../adapters/layer-encoder/encoder.js';
import { OciLayoutStore } from '../adapters/oci-layout/store.js';
import { walkSource } from '../adapters/source/walk.js';
import { main } from '../cli/main.js';
import type { AppFactory } from '../cli/io.js';
import { build } from '../services/build.js';

/** Composition root of the `ingot` command: the only place adapters meet services. */

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const makeApp: AppFactory = ({ home }) => {
  let store: Promise<OciLayoutStore> | null = null;
  let encoder: ParallelLayerEncoder | null = null;
  const openStore = () => (store ??= OciLayoutStore.open(join(home, 'store')));
  return {
    store: openStore,
    async build(request) {
      const s = await openStore();
      encoder = new ParallelLayerEncoder({
        workers: Math.max(1, Math.min(availableParallelism(), 8)),
        cacheFile: join(home, 'cache', 'segments-v1.json'),
        blobPath: (d) => s.blobPath(d),
        blobExists: (d) => existsSync(s.blobPath(d)),
      });
      return build(
        {
          store: s,
          encoder,
          bases: new LayoutBaseImages(),
          walk: walkSource,
          now: () => new Date(),
          tool: `ingot-${pkg.version}`,
        },
        request,
      );
    },
    async close() {
      await encoder?.close();
    },
  };
};

const code = await main(
  process.argv.slice(2),
  {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    errIsTty: process.stderr.isTTY,
    columns: process.stderr.columns || 80,
    env: process.env,
  },
  makeApp,
  pkg.version,
);
process.exitCode = code;
