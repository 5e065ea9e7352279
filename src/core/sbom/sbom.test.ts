import { describe, expect, it } from 'vitest';
import { detectPackages } from './detect.js';
import fc from 'fast-check';
import { canonicalJson } from '../canonical-json.js';
import type { DetectedPackage } from './packages.js';
import { buildSpdx, encodeSpdx, verificationCode } from './spdx.js';

const status = `Package: busybox-static
Status: install ok installed
Priority: optional
Architecture: amd64
Maintainer: Debian Busybox Team <busybox@packages.debian.org>
Version: 1:1.35.0-4+b3
Description: Standalone rescue shell
 with tons of builtin utilities

Package: gone
Status: deinstall ok config-files
Version: 1.0
`;

describe('package detection', () => {
  it('finds installed dpkg packages and npm packages, with purls', () => {
    const pkgs = detectPackages(
      new Map([
        ['/var/lib/dpkg/status', Buffer.from(status)],
        ['/usr/lib/os-release', Buffer.from('ID=debian\nVERSION_ID="12"\n')],
        [
          '/app/node_modules/@scope/lib/package.json',
          Buffer.from('{"name":"@scope/lib","version":"2.0.0","license":"MIT"}'),
        ],
        ['/app/broken/package.json', Buffer.from('{nope')],
      ]),
    );
    expect(pkgs.map((p) => p.purl)).toEqual([
      'pkg:deb/debian/busybox-static@1%3A1.35.0-4%2Bb3?arch=amd64&distro=debian-12',
      'pkg:npm/%40scope/lib@2.0.0',
    ]);
    expect(pkgs[1]?.license).toBe('MIT');
  });
});

describe('SPDX document', () => {
  it('has the fields SPDX 2.3 requires and a correct verification code', () => {
    const files = [
      { path: '/b', sha1: 'b'.repeat(40), sha256: 'b'.repeat(64) },
      { path: '/a', sha1: 'a'.repeat(40), sha256: 'a'.repeat(64) },
    ];
    const doc = buildSpdx({
      name: 'hello',
      version: '1',
      imageDigest: 'sha256:' + 'c'.repeat(64),
      created: '1970-01-01T00:00:00Z',
      tool: 'ingot-0',
      files,
      packages: [],
    });
    expect(doc).toMatchObject({
      spdxVersion: 'SPDX-2.3',
      dataLicense: 'CC0-1.0',
      SPDXID: 'SPDXRef-DOCUMENT',
    });
    expect(verificationCode(files)).toBe(verificationCode([...files].reverse()));
    const pkgs = doc['packages'] as { SPDXID: string; packageVerificationCode?: unknown }[];
    expect(pkgs[0]?.packageVerificationCode).toEqual({
      packageVerificationCodeValue: verificationCode(files),
    });
    const ids = (doc['files'] as { SPDXID: string }[]).map((f) => f.SPDXID);
    for (const id of ids) expect(id).toMatch(/^SPDXRef-[A-Za-z0-9.-]+$/);
    expect(new Set(ids).size).toBe(2);
  });
});

describe('encodeSpdx', () => {
  it('writes exactly the canonical JSON of the document', () => {
    const fileArb = fc.record({
      path: fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).map((p) => `/${p}`),
      sha1: hex(40),
      sha256: hex(64),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(fileArb, { selector: (f) => f.path, maxLength: 6 }),
        fc.string({ unit: 'binary', maxLength: 10 }),
        fc.boolean(),
        (files, name, withPackages) => {
          const input = {
            name: name || 'x',
            version: '1',
            imageDigest: 'sha256:' + 'c'.repeat(64),
            created: '1970-01-01T00:00:00Z',
            tool: 'ingot-0',
            files,
            packages: withPackages ? PACKAGES : [],
          };
          expect(encodeSpdx(input).toString('utf8')).toBe(canonicalJson(buildSpdx(input)));
        },
      ),
    );
  });
});

const PACKAGES: DetectedPackage[] = [
  {
    ecosystem: 'deb',
    name: 'a',
    version: '1',
    purl: 'pkg:deb/debian/a@1',
    foundIn: '/var/lib/dpkg/status',
  },
  {
    ecosystem: 'npm',
    name: 'b"',
    version: '2',
    purl: 'pkg:npm/b@2',
    foundIn: '/app/package.json',
    license: 'MIT',
    supplier: 'B\nInc',
  },
];

function hex(length: number): fc.Arbitrary<string> {
  return fc.string({
    unit: fc.constantFrom(...'0123456789abcdef'),
    minLength: length,
    maxLength: length,
  });
}
