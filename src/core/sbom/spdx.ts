import { createHash } from 'node:crypto';
import { canonicalJson } from '../canonical-json.js';
import { fnv1a64 } from '../fnv.js';
import type { DetectedPackage } from './packages.js';

/**
 * An SPDX 2.3 JSON document for an image: one package for the image itself (files analysed,
 * with its verification code), every regular file with SHA-1 (mandatory in SPDX 2.3 §8.4)
 * and SHA-256, and the packages the image reveals.
 */
export interface SbomFile {
  readonly path: string;
  readonly sha256: string;
  readonly sha1: string;
}

export interface SbomInput {
  readonly name: string;
  readonly version: string;
  readonly imageDigest: string;
  readonly created: string;
  readonly tool: string;
  readonly files: readonly SbomFile[];
  readonly packages: readonly DetectedPackage[];
}

type Json = Record<string, unknown>;

export function buildSpdx(input: SbomInput): Json {
  const hex = input.imageDigest.replace(/^sha256:/, '');
  const imageId = 'SPDXRef-Image';
  const fileId = spdxIds('File');
  const packageId = spdxIds('Package');
  const files = input.files.map((f) => ({
    SPDXID: fileId(f.path),
    fileName: `.${f.path}`,
    checksums: [
      { algorithm: 'SHA1', checksumValue: f.sha1 },
      { algorithm: 'SHA256', checksumValue: f.sha256 },
    ],
    licenseConcluded: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
  }));
  const seen = new Set<string>();
  const packages = input.packages
    .filter((p) => (seen.has(p.purl) ? false : (seen.add(p.purl), true)))
    .map((p) => ({
      SPDXID: packageId(p.purl),
      name: p.name,
      versionInfo: p.version,
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      supplier: p.supplier ? `Organization: ${p.supplier.replace(/\n/g, ' ')}` : 'NOASSERTION',
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: p.license ?? 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      externalRefs: [
        { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: p.purl },
      ],
      sourceInfo: `found in ${p.foundIn}`,
    }));

  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${input.name}-${input.version}`,
    documentNamespace: `https://spdx.org/spdxdocs/ingot/${encodeURIComponent(input.name)}-${encodeURIComponent(input.version)}-${hex}`,
    creationInfo: { created: input.created, creators: [`Tool: ${input.tool}`] },
    packages: [
      {
        SPDXID: imageId,
        name: input.name,
        versionInfo: input.version,
        downloadLocation: 'NOASSERTION',
        filesAnalyzed: true,
        packageVerificationCode: { packageVerificationCodeValue: verificationCode(input.files) },
        checksums: [{ algorithm: 'SHA256', checksumValue: hex }],
        primaryPackagePurpose: 'CONTAINER',
        licenseConcluded: 'NOASSERTION',
        licenseDeclared: 'NOASSERTION',
        copyrightText: 'NOASSERTION',
      },
      ...packages,
    ],
    files,
    relationships: [
      {
        spdxElementId: 'SPDXRef-DOCUMENT',
        relationshipType: 'DESCRIBES',
        relatedSpdxElement: imageId,
      },
      ...files.map((f) => ({
        spdxElementId: imageId,
        relationshipType: 'CONTAINS',
        relatedSpdxElement: f.SPDXID,
      })),
      ...packages.map((p) => ({
        spdxElementId: imageId,
        relationshipType: 'CONTAINS',
        relatedSpdxElement: p.SPDXID,
      })),
    ],
  };
}

/** SPDX 2.3 §7.9: SHA-1 over the sorted, concatenated SHA-1 values of the package's files. */
export function verificationCode(files: readonly { sha1: string }[]): string {
  const sorted = files.map((f) => f.sha1).sort();
  return createHash('sha1').update(sorted.join('')).digest('hex');
}

/**
 * SPDX identifiers allow letters, digits, "." and "-": derive one from a stable key (path or
 * purl), so the same file keeps its id across builds. A 64-bit FNV-1a is plenty for that;
 * the rare collision gets a suffix, so ids stay unique.
 */
function spdxIds(kind: string): (key: string) => string {
  const used = new Set<string>();
  return (key) => {
    const base = `SPDXRef-${kind}-${fnv1a64(key)}`;
    let id = base;
    for (let n = 2; used.has(id); n++) id = `${base}-${n}`;
    used.add(id);
    return id;
  };
}

/**
 * The document as canonical JSON. The `files` list (one object per file of the image, by
 * far the bulk) and the `relationships` (one per file too) are written directly; the rest
 * goes through canonicalJson. spdx.test.ts holds the result to canonicalJson's bytes.
 */
export function encodeSpdx(doc: Json): Buffer {
  const { files, relationships, ...rest } = doc as Json & {
    files: SpdxFile[];
    relationships: SpdxRelationship[];
  };
  const head = canonicalJson(rest);
  // Keys sort as …"documentNamespace", "files", "name", "packages", "relationships",
  // "spdxVersion": splice the two lists in at their places.
  const filesAt = head.indexOf(',"name":');
  const relationshipsAt = head.indexOf(',"spdxVersion":');
  if (filesAt < 0 || relationshipsAt < filesAt || !head.includes('"documentNamespace"'))
    throw new Error('unexpected SPDX document shape');
  const parts: string[] = [head.slice(0, filesAt), ',"files":['];
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    const [sha1, sha256] = f.checksums;
    parts.push(
      `${i > 0 ? ',' : ''}{"SPDXID":${JSON.stringify(f.SPDXID)},"checksums":[{"algorithm":"SHA1","checksumValue":${JSON.stringify(sha1.checksumValue)}},{"algorithm":"SHA256","checksumValue":${JSON.stringify(sha256.checksumValue)}}],"copyrightText":"NOASSERTION","fileName":${JSON.stringify(f.fileName)},"licenseConcluded":"NOASSERTION"}`,
    );
  }
  parts.push(']', head.slice(filesAt, relationshipsAt), ',"relationships":[');
  for (let i = 0; i < relationships.length; i++) {
    const r = relationships[i]!;
    parts.push(
      `${i > 0 ? ',' : ''}{"relatedSpdxElement":${JSON.stringify(r.relatedSpdxElement)},"relationshipType":${JSON.stringify(r.relationshipType)},"spdxElementId":${JSON.stringify(r.spdxElementId)}}`,
    );
  }
  parts.push(']', head.slice(relationshipsAt));
  return Buffer.from(parts.join(''), 'utf8');
}

interface SpdxRelationship {
  relatedSpdxElement: string;
  relationshipType: string;
  spdxElementId: string;
}

interface SpdxFile {
  SPDXID: string;
  fileName: string;
  checksums: [{ checksumValue: string }, { checksumValue: string }];
}
