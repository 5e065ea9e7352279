import type { OsRelease } from './os-release.js';
import { purlEncode, type DetectedPackage } from './packages.js';

const MAX_PACKAGES = 100_000;

/**
 * Installed packages from a dpkg status file (deb-control(5) stanzas separated by blank
 * lines; continuation lines start with a space). Only packages whose Status says
 * "installed" count: removed ones leave config-files stanzas behind.
 */
export function parseDpkgStatus(text: string, foundIn: string, os: OsRelease): DetectedPackage[] {
  const out: DetectedPackage[] = [];
  const distro = os.id ?? 'debian';
  for (const stanza of text.split(/\n\s*\n/)) {
    if (out.length >= MAX_PACKAGES) break;
    const fields = new Map<string, string>();
    for (const line of stanza.split('\n')) {
      if (line.startsWith(' ') || line.startsWith('\t')) continue;
      const i = line.indexOf(':');
      if (i > 0) fields.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
    }
    const name = fields.get('package');
    const version = fields.get('version');
    const status = fields.get('status');
    if (!name || !version || !/^[a-z0-9][a-z0-9+.-]*$/.test(name)) continue;
    if (status !== undefined && status.split(/\s+/)[2] !== 'installed') continue;
    const arch = fields.get('architecture');
    const qualifiers = [
      ...(arch ? [`arch=${purlEncode(arch)}`] : []),
      ...(os.versionId ? [`distro=${purlEncode(`${distro}-${os.versionId}`)}`] : []),
    ];
    const maintainer = fields.get('maintainer');
    out.push({
      ecosystem: 'deb',
      name,
      version,
      purl: `pkg:deb/${purlEncode(distro)}/${purlEncode(name)}@${purlEncode(version)}${qualifiers.length ? `?${qualifiers.join('&')}` : ''}`,
      ...(maintainer && { supplier: maintainer.slice(0, 256) }),
      foundIn,
    });
  }
  return out;
}
