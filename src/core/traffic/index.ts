/**
 * The traffic edge, pure: the state Ingot wants in front of its fleets, HAProxy's
 * configuration rendered from it, the Runtime API commands that move a running HAProxy to
 * it, canary weights, and readers of HAProxy's answers. No I/O: adapters/haproxy does that.
 */
export * from './address.js';
export * from './analysis.js';
export * from './canary-weights.js';
export * from './drain.js';
export * from './edge.js';
export * from './edge-of.js';
export * from './errors.js';
export * from './names.js';
export * from './observed.js';
export * from './observed-share.js';
export * from './service-checks.js';
export * from './plan-runtime.js';
export * from './render-config.js';
export * from './runtime-command.js';
export * from './servers-state.js';
export * from './service-spec.js';
export * from './show-proc.js';
export * from './stat.js';
export * from './validate.js';
