/**
 * The tamper-evident ledger's pure core: entries, the RFC 9162 Merkle tree and its proofs,
 * C2SP checkpoints and signed notes, the export format and the offline verifier. No I/O
 * and no clock: the SQLite adapter stores what this computes.
 */
export * from './checkpoint.js';
export * from './entry.js';
export * from './entry-query.js';
export * from './exported-ledger.js';
export * from './errors.js';
export * from './export-format.js';
export * from './merkle.js';
export * from './note.js';
export * from './tree-builder.js';
export * from './verify.js';
export * from './what-ran.js';
