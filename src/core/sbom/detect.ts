import { basename } from '../paths.js';
import { parseDpkgStatus } from './dpkg.js';
import { parseNpmPackage } from './npm.js';
import { parseOsRelease } from './os-release.js';
import type { DetectedPackage } from './packages.js';

/**
 * Packages revealed by the captured files of the flattened rootfs (see capture.ts), sorted
 * by purl so that the SBOM does not depend on the order layers were read in.
 */
export function detectPackages(captured: ReadonlyMap<string, Uint8Array>): DetectedPackage[] {
  const text = (path: string): string | undefined => {
    const bytes = captured.get(path);
    return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
  };
  const os = parseOsRelease(text('/etc/os-release') ?? text('/usr/lib/os-release') ?? '');
  const found: DetectedPackage[] = [];
  for (const path of captured.keys()) {
    if (path === '/var/lib/dpkg/status' || path.startsWith('/var/lib/dpkg/status.d/')) {
      found.push(...parseDpkgStatus(text(path) ?? '', path, os));
    } else if (basename(path) === 'package.json') {
      const pkg = parseNpmPackage(text(path) ?? '', path);
      if (pkg) found.push(pkg);
    }
  }
  return found.sort((a, b) =>
    a.purl < b.purl ? -1 : a.purl > b.purl ? 1 : a.foundIn < b.foundIn ? -1 : 1,
  );
}
