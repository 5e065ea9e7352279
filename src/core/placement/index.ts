/** Placement: which host runs each instance, decided as data (issue 18). */
export * from './constraint.js';
export * from './errors.js';
export { place } from './place.js';
export * from './rules.js';
export * from './types.js';
