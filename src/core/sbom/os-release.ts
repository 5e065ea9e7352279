/** The few os-release(5) fields an SBOM needs, from untrusted text. */
export interface OsRelease {
  readonly id?: string;
  readonly versionId?: string;
  readonly prettyName?: string;
}

export function parseOsRelease(text: string): OsRelease {
  const fields = new Map<string, string>();
  for (const line of text.split('\n').slice(0, 200)) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (!m?.[1] || m[2] === undefined) continue;
    fields.set(m[1], m[2].replace(/^["']|["']$/g, '').slice(0, 256));
  }
  const id = fields.get('ID');
  const versionId = fields.get('VERSION_ID');
  const prettyName = fields.get('PRETTY_NAME');
  return {
    ...(id !== undefined && /^[a-z0-9._-]+$/.test(id) && { id }),
    ...(versionId !== undefined && { versionId }),
    ...(prettyName !== undefined && { prettyName }),
  };
}
