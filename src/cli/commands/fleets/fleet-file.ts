import { parse as parseYaml } from 'yaml';
import { readSpecFile } from '../../../adapters/shared/spec-file.js';
import { parseFleet } from '../../../core/fleet/spec.js';
import { decodeSpec, MAX_SPEC_BYTES } from '../../../core/yaml-spec.js';

/**
 * The fleet file, checked here: every problem, with its line, before anything is sent; then
 * the document as the server takes it. Its own module, so that only `ingot deploy` loads the
 * YAML parser and the fleet's schema.
 */
export function readFleetFile(file: string): { artifact?: unknown } {
  // Read as every spec file is: a regular file within the bound (a FIFO does not hang it).
  const bytes = readSpecFile(file, file, MAX_SPEC_BYTES, {
    notFound: 'E_FLEET_NOT_FOUND',
    tooLarge: 'E_FLEET_TOO_LARGE',
  });
  const text = decodeSpec(bytes, file, 'E_FLEET_ENCODING');
  parseFleet(text, file);
  return parseYaml(text) as { artifact?: unknown };
}
