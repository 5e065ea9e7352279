import { createRequire } from 'node:module';
import type * as Zstd from 'zstd-napi';
import type * as ZstdBinding from 'zstd-napi/binding.js';

// zstd-napi is CommonJS whose exports Node cannot list for ESM imports: load it by require.
const require = createRequire(import.meta.url);

/** The zstd-napi library (bundled zstd, built from source at install). */
export const zstd = require('zstd-napi') as typeof Zstd;
export const zstdBinding = require('zstd-napi/binding') as typeof ZstdBinding;
