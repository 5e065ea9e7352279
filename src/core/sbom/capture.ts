import { basename } from '../paths.js';

/**
 * Files whose content the SBOM needs. They are kept while the build reads them anyway, so
 * the SBOM costs no second read. Each has a size cap: a 2 GB "package.json" is not one.
 */
export function captureLimit(imagePath: string): number {
  if (imagePath === '/var/lib/dpkg/status') return 64 * 1024 * 1024;
  if (imagePath.startsWith('/var/lib/dpkg/status.d/')) return 1024 * 1024;
  if (imagePath === '/etc/os-release' || imagePath === '/usr/lib/os-release') return 64 * 1024;
  if (basename(imagePath) === 'package.json') return 1024 * 1024;
  return 0;
}

export function wantsContent(imagePath: string, size: number): boolean {
  const limit = captureLimit(imagePath);
  return limit > 0 && size <= limit;
}
