import { purlEncode, type DetectedPackage } from './packages.js';

const NPM_NAME = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;
const SIMPLE_LICENSE = /^[A-Za-z0-9.+-]+(?: (?:OR|AND) [A-Za-z0-9.+-]+)*$/;

/** An npm package from a package.json, or null when the file does not describe one. */
export function parseNpmPackage(text: string, foundIn: string): DetectedPackage | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return null;
  }
  if (doc === null || typeof doc !== 'object') return null;
  const { name, version, license } = doc as Record<string, unknown>;
  if (typeof name !== 'string' || name.length > 214 || !NPM_NAME.test(name)) return null;
  if (typeof version !== 'string' || version.length === 0 || version.length > 256) return null;
  const [scope, bare] = name.startsWith('@') ? name.split('/') : [undefined, name];
  const purlName = scope ? `${purlEncode(scope)}/${purlEncode(bare ?? '')}` : purlEncode(name);
  return {
    ecosystem: 'npm',
    name,
    version,
    purl: `pkg:npm/${purlName}@${purlEncode(version)}`,
    ...(typeof license === 'string' && SIMPLE_LICENSE.test(license) && { license }),
    foundIn,
  };
}
