/**
 * Coordination on etcd (3.4, through the etcd3 client): host leases, assignments, status,
 * leader election with a fencing epoch, and the users and roles that keep hosts apart.
 */
export { openCoordinationAdmin } from './admin.js';
export { openControlCoordination } from './control.js';
export { openHostCoordination } from './host.js';
