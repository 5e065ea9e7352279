import type { RegistryFactory } from '../../ports/registry.js';
import { DistributionRegistry } from './client.js';

export { DistributionRegistry } from './client.js';
export { readAuthFile } from './credentials-file.js';
export { connectRegistry, type ConnectOptions } from './connect.js';

/** The registry client the composition roots wire in. */
export const openRegistry: RegistryFactory = (options) => new DistributionRegistry(options);
