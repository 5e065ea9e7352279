/**
 * The integrity monitor: measures running instances against their artifact (files by
 * event and in full, processes, mounts, executables) and reports drift as evidence.
 */
export type { DriftFinding, FileId, IntegrityDeps, MonitoredInstance } from './contracts.js';
export { IntegrityError } from './error.js';
export { IntegrityMonitor } from './monitor.js';
