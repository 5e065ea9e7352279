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

/** The document as a value: what encodeSpdx writes, and what its tests compare with. */
export function buildSpdx(input: SbomInput): Json {
  const fileIds = fileIdsOf(input.files);
  const { head, imageId, packageIds } = headOf(input);
  const files = input.files.map((f, i) => ({
    SPDXID: fileIds[i]!,
    fileName: `.${f.path}`,
    checksums: [
      { algorithm: 'SHA1', checksumValue: f.sha1 },
      { algorithm: 'SHA256', checksumValue: f.sha256 },
    ],
    licenseConcluded: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
  }));
  return {
    ...head,
    files,
    relationships: [
      {
        spdxElementId: 'SPDXRef-DOCUMENT',
        relationshipType: 'DESCRIBES',
        relatedSpdxElement: imageId,
      },
      ...[...fileIds, ...packageIds].map((id) => ({
        spdxElementId: imageId,
        relationshipType: 'CONTAINS',
        relatedSpdxElement: id,
      })),
    ],
  };
}

function fileIdsOf(files: readonly SbomFile[]): string[] {
  const fileId = spdxIds('File');
  return files.map((f) => fileId(f.path));
}

/** Everything but the two lists that grow with the files: `files` and `relationships`. */
function headOf(input: SbomInput): { head: Json; imageId: string; packageIds: string[] } {
  const hex = input.imageDigest.replace(/^sha256:/, '');
  const imageId = 'SPDXRef-Image';
  const packageId = spdxIds('Package');
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
  const head = {
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
  };
  return { head, imageId, packageIds: packages.map((p) => p.SPDXID) };
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
 * buildSpdx(input) as canonical JSON, written without building it: the two lists that grow
 * with the files (an object, two checksums and a relationship per file) are written
 * directly, the rest goes through canonicalJson. sbom.test.ts holds the result to
 * canonicalJson(buildSpdx(input)) byte for byte.
 */
export function encodeSpdx(input: SbomInput): Buffer {
  const fileIds = fileIdsOf(input.files);
  const { head, imageId, packageIds } = headOf(input);
  const text = canonicalJson(head);
  // Keys sort as …"documentNamespace", "files", "name", "packages", "relationships",
  // "spdxVersion": the two lists go in at their places.
  const filesAt = text.indexOf(',"name":');
  const relationshipsAt = text.indexOf(',"spdxVersion":');
  if (filesAt < 0 || relationshipsAt < filesAt || !text.includes('"documentNamespace"'))
    throw new Error('unexpected SPDX document shape');
  const image = JSON.stringify(imageId);
  const parts: string[] = [text.slice(0, filesAt), ',"files":['];
  input.files.forEach((f, i) => {
    parts.push(
      `${i > 0 ? ',' : ''}{"SPDXID":${JSON.stringify(fileIds[i])},"checksums":[{"algorithm":"SHA1","checksumValue":${JSON.stringify(f.sha1)}},{"algorithm":"SHA256","checksumValue":${JSON.stringify(f.sha256)}}],"copyrightText":"NOASSERTION","fileName":${JSON.stringify(`.${f.path}`)},"licenseConcluded":"NOASSERTION"}`,
    );
  });
  parts.push(
    ']',
    text.slice(filesAt, relationshipsAt),
    `,"relationships":[{"relatedSpdxElement":${image},"relationshipType":"DESCRIBES","spdxElementId":"SPDXRef-DOCUMENT"}`,
  );
  for (const id of [...fileIds, ...packageIds])
    parts.push(
      `,{"relatedSpdxElement":${JSON.stringify(id)},"relationshipType":"CONTAINS","spdxElementId":${image}}`,
    );
  parts.push(']', text.slice(relationshipsAt));
  return Buffer.from(parts.join(''), 'utf8');
}
