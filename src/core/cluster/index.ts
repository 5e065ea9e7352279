/** Coordination decisions that need no etcd: key layout, value encoding, RBAC, host states. */
export * from './assignment-fit.js';
export * from './fit-status.js';
export * from './host-call.js';
export * from './hosts.js';
export * from './keys.js';
export * from './rbac.js';
export * from './values.js';
