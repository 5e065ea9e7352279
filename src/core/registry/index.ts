/** The distribution-spec decisions that need no network: what the registry client relies on. */
export * from './challenge.js';
export * from './credentials.js';
export * from './reference.js';
export * from './referrers.js';
export * from './retry.js';
