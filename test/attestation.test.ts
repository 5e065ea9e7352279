import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { bundleFromJSON } from '@sigstore/bundle';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { describe, expect, it } from 'vitest';
import { InToto } from '../src/domain/attestation.js';
import { digestOf, type Digest } from '../src/domain/digest.js';
import { isIngotError } from '../src/domain/errors.js';
import { readDocument } from '../src/services/attached-document.js';
import { readManifest } from '../src/services/inspect.js';
import { buildWith, openStore, storeDir } from './helpers/app.js';
import {
  attachBundle,
  git,
  gitCommit,
  gitInit,
  signBundle,
  statementOf,
} from './helpers/attest.js';
import { ingot } from './helpers/cli.js';
import { snapshot, useTempDirs, writeTree } from './helpers/fs.js';

const tmp = useTempDirs();

interface Keys {
  dir: string;
  key: (name: string) => string;
  pub: (name: string) => string;
  id: (name: string) => string;
}

/** Key pairs made by the real CLI, as a user would. */
function keys(...names: string[]): Keys {
  const dir = tmp();
  const ids = new Map<string, string>();
  for (const name of names) {
    const r = ingot(['key', 'generate', '--out', dir, '--name', name]);
    expect(r.code, r.stderr).toBe(0);
    ids.set(name, r.stdout.trim());
  }
  return {
    dir,
    key: (n) => join(dir, `${n}.key`),
    pub: (n) => join(dir, `${n}.pub`),
    id: (n) => ids.get(n)!,
  };
}

/** A baseline in its own git repository. */
function repo(remote = 'https://ci-bot:s3cret@git.example/acme/web.git') {
  const dir = tmp();
  writeTree(dir, {
    '.gitignore': 'vendor/\n',
    'app/ingot.yaml':
      'name: web\nversion: "1.0"\nlayers:\n  - { source: site, destination: /srv }\n  - { source: vendor, destination: /opt }\n',
    'app/site/index.html': 'v1\n',
    'app/vendor/tool': 'vendored, not committed\n',
  });
  const commit = gitInit(dir, remote);
  return { dir, app: join(dir, 'app'), commit, home: join(tmp(), 'home') };
}

function trustedRootWithNothing() {
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  };
}

function sigstoreVerify(bundleJson: string, publicPem: string, hint: string): void {
  const bundle = bundleFromJSON(JSON.parse(bundleJson));
  const key = createPublicKey(publicPem);
  const trust = toTrustMaterial(trustedRootWithNothing(), (h: string) => {
    if (h !== hint) throw new Error(`unknown key ${h}`);
    return { publicKey: key, validFor: () => true };
  });
  const verifier = new Verifier(trust, {
    tlogThreshold: 0,
    ctlogThreshold: 0,
    timestampThreshold: 0,
  });
  verifier.verify(toSignedEntity(bundle));
}

describe('ingot key generate', () => {
  it('writes a P-256 pair, private 0600, prints the SPKI key id, never overwrites', () => {
    const k = keys('ci');
    const pub = createPublicKey(readFileSync(k.pub('ci')));
    expect(pub.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const id = createHash('sha256')
      .update(pub.export({ type: 'spki', format: 'der' }))
      .digest('hex');
    expect(k.id('ci')).toBe(id);
    expect(statSync(k.key('ci')).mode & 0o777).toBe(0o600);
    const before = readFileSync(k.key('ci'));
    const again = ingot(['key', 'generate', '--out', k.dir, '--name', 'ci']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('E_KEY_EXISTS');
    expect(readFileSync(k.key('ci'))).toEqual(before);
  });
});

describe('signed provenance', () => {
  it('is a Sigstore bundle that @sigstore/verify accepts with the public key alone', async () => {
    const r = repo();
    const k = keys('ci', 'other');
    const built = await buildWith(r.home, r.app, { keys: [k.key('ci')] });
    expect(built.attestations).toHaveLength(1);
    const out = ingot(['attestation', 'web:1.0'], { env: { INGOT_HOME: r.home } });
    expect(out.code, out.stderr).toBe(0);
    const bundleJson = out.stdout.trim();
    expect(() =>
      sigstoreVerify(bundleJson, readFileSync(k.pub('ci'), 'utf8'), k.id('ci')),
    ).not.toThrow();
    // The same library refuses it under another key, and refuses a tampered payload.
    expect(() =>
      sigstoreVerify(bundleJson, readFileSync(k.pub('other'), 'utf8'), k.id('ci')),
    ).toThrow();
    const doc = JSON.parse(bundleJson) as { dsseEnvelope: { payload: string } };
    const statement = statementOf(bundleJson);
    doc.dsseEnvelope.payload = Buffer.from(
      JSON.stringify({ ...statement, predicateType: 'https://evil' }),
    ).toString('base64');
    expect(() =>
      sigstoreVerify(JSON.stringify(doc), readFileSync(k.pub('ci'), 'utf8'), k.id('ci')),
    ).toThrow();
  });

  it('records subject, parameters, git source (without credentials), base and byproducts', async () => {
    const r = repo();
    const k = keys('ci');
    const built = await buildWith(r.home, r.app, {
      keys: [k.key('ci')],
      builderId: 'https://ci.example/runner/7',
      epoch: 1_700_000_000,
    });
    const [bundle] = await readBundles(r.home, built.digest);
    const s = statementOf(bundle!) as {
      _type: string;
      subject: { name: string; digest: { sha256: string } }[];
      predicateType: string;
      predicate: {
        buildDefinition: {
          externalParameters: Record<string, unknown>;
          internalParameters: Record<string, unknown>;
          resolvedDependencies: { name: string; uri?: string; digest: Record<string, string> }[];
        };
        runDetails: {
          builder: { id: string };
          byproducts: { name: string; digest: { sha256: string } }[];
        };
      };
    };
    expect(s._type).toBe(InToto.statementType);
    expect(s.predicateType).toBe(InToto.slsaProvenance);
    expect(s.subject).toEqual([{ name: 'web:1.0', digest: { sha256: built.digest.slice(7) } }]);
    const baselineBytes = readFileSync(join(r.app, 'ingot.yaml'));
    expect(s.predicate.buildDefinition.externalParameters).toEqual({
      baseline: {
        path: 'app/ingot.yaml',
        digest: { sha256: createHash('sha256').update(baselineBytes).digest('hex') },
      },
      tag: 'web:1.0',
      compression: 'gzip',
      sourceDateEpoch: 1_700_000_000,
    });
    // The builder's own setting: earlier builds' parts and digests could be used.
    expect(s.predicate.buildDefinition.internalParameters).toEqual({ buildCache: 'enabled' });
    const deps = s.predicate.buildDefinition.resolvedDependencies;
    expect(deps.find((d) => d.name === 'git')).toEqual({
      name: 'git',
      uri: 'git+https://git.example/acme/web.git',
      digest: { gitCommit: r.commit },
      // app/vendor/tool is read by the build but ignored by git.
      annotations: { dirty: false, ignoredInputs: 1 },
    });
    expect(JSON.stringify(s)).not.toContain('s3cret');
    expect(deps.find((d) => d.name === 'source-tree')?.digest['sha256']).toBe(
      built.source.tree.slice(7),
    );
    expect(s.predicate.runDetails.builder.id).toBe('https://ci.example/runner/7');
    const store = await openStore(r.home);
    const measurement = (await store.referrers(built.digest)).find(
      (d) => d.artifactType === 'application/vnd.ingot.measurement.v1+json',
    )!;
    // The measurement is stored in gzip parts: provenance names the document they make.
    const mManifest = await readManifest(store, measurement);
    const document = await readDocument(store, mManifest, 1 << 24);
    expect(
      s.predicate.runDetails.byproducts.find((b) => b.name === 'measurement')?.digest.sha256,
    ).toBe(digestOf(document.bytes).slice(7));
  });

  it('marks a build from uncommitted changes as dirty, and signing never changes the image', async () => {
    const r = repo();
    const k = keys('ci');
    const unsigned = await buildWith(join(tmp(), 'h'), r.app);
    writeFileSync(join(r.app, 'notes.txt'), 'not committed\n');
    const signed = await buildWith(r.home, r.app, { keys: [k.key('ci')] });
    expect(signed.digest).toBe(unsigned.digest);
    expect(signed.source.git).toEqual({
      commit: r.commit,
      remote: 'https://git.example/acme/web.git',
      dirty: true,
      ignoredInputs: 1,
    });
  });

  it('refuses bad signing keys before doing any work, each with its own code', async () => {
    const r = repo();
    const k = keys('ci');
    await buildWith(r.home, r.app);
    const before = snapshot(storeDir(r.home));
    const code = async (keyFile: string) => {
      try {
        await buildWith(r.home, r.app, { keys: [keyFile], tag: 'web:other' });
      } catch (err) {
        expect(snapshot(storeDir(r.home))).toEqual(before);
        if (isIngotError(err)) return err.code;
        throw err;
      }
      return 'signed';
    };
    const dir = tmp();
    const write = (name: string, text: string, mode = 0o600) => {
      writeFileSync(join(dir, name), text, { mode });
      chmodSync(join(dir, name), mode);
      return join(dir, name);
    };
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const ed = generateKeyPairSync('ed25519');
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const pem = (k: { privateKey: { export(o: object): string | Buffer } }) =>
      k.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(await code(join(dir, 'missing.key'))).toBe('E_KEY_NOT_FOUND');
    expect(await code(write('garbage.key', 'not a key'))).toBe('E_KEY_INVALID');
    expect(await code(k.pub('ci'))).toBe('E_KEY_PERMISSIONS'); // 0644, and public anyway
    expect(await code(write('ci.pub.copy', readFileSync(k.pub('ci'), 'utf8')))).toBe('E_KEY_TYPE');
    expect(await code(write('rsa.key', pem(rsa)))).toBe('E_KEY_TYPE');
    expect(await code(write('ed.key', pem(ed)))).toBe('E_KEY_TYPE');
    expect(await code(write('p384.key', pem(p384)))).toBe('E_KEY_TYPE');
    chmodSync(k.key('ci'), 0o640);
    expect(await code(k.key('ci'))).toBe('E_KEY_PERMISSIONS');
    // Verifiers take public keys only: a private key passed to verify is a leak waiting to happen.
    const v = ingot(['verify', 'web:1.0', '--key', write('priv.pem', pem(p384))], {
      env: { INGOT_HOME: r.home },
    });
    expect(v.code).toBe(1);
    expect(v.stderr).toContain('E_KEY_TYPE');
  });
});

async function readBundles(home: string, digest: Digest): Promise<Buffer[]> {
  const { readAttestations } = await import('../src/services/attestation.js');
  return (await readAttestations(await openStore(home), digest)).map((a) => a.bundle);
}

interface VerifyJson {
  ok: boolean;
  problems: { code: string }[];
  decision: {
    allowed: boolean;
    reasons: { code: string; message: string }[];
    signers: { id: string; name: string }[];
  };
  provenance: { git: { commit: string } | null; builderId: string } | null;
  blobs: { count: number } | null;
}

function verifyCli(
  home: string,
  args: string[],
  env: Record<string, string> = {},
): VerifyJson & { code: number; text: string } {
  const r = ingot(['verify', ...args, '-o', 'json'], { env: { ...env, INGOT_HOME: home } });
  if (r.stdout.trim() === '') throw new Error(`verify printed nothing: ${r.stderr}`);
  const parsed = JSON.parse(r.stdout) as VerifyJson & { error?: { code: string } };
  if (parsed.error) throw new Error(`verify failed: ${parsed.error.code}`);
  return { ...parsed, code: r.code, text: r.stderr };
}

describe('ingot verify', () => {
  it('prints who built it, from what commit and base, and exits 0 when everything holds', () => {
    const r = repo();
    const k = keys('ci', 'release');
    // Repeated --key options, then the positional folder: each key signs once.
    const env = { INGOT_HOME: r.home };
    const build = ingot(['build', '-q', '--key', k.key('ci'), '--key', k.key('release'), r.app], {
      env,
    });
    expect(build.code, build.stderr).toBe(0);
    expect(build.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    const bundles = ingot(['attestation', 'web:1.0', '--all'], { env }).stdout.trim().split('\n');
    expect(bundles).toHaveLength(2);
    // Two signers: which bundle to print must be said, and --key prints exactly its own.
    const ambiguous = ingot(['attestation', 'web:1.0'], { env });
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toContain('E_ATTESTATION_AMBIGUOUS');
    expect(ambiguous.stdout).toBe('');
    for (const name of ['ci', 'release']) {
      const one = ingot(['attestation', 'web:1.0', '--key', k.pub(name)], { env });
      expect(one.code, one.stderr).toBe(0);
      expect(one.stdout.trim().split('\n')).toHaveLength(1);
      expect(() =>
        sigstoreVerify(one.stdout.trim(), readFileSync(k.pub(name), 'utf8'), k.id(name)),
      ).not.toThrow();
    }
    // Rebuilt twice more, unchanged: still one bundle per key, the newest.
    for (let i = 0; i < 2; i++)
      expect(
        ingot(['build', '-q', '--key', k.key('ci'), '--key', k.key('release'), r.app], { env })
          .code,
      ).toBe(0);
    const after = ingot(['attestation', 'web:1.0', '--all'], { env }).stdout.trim().split('\n');
    expect(after).toHaveLength(2);
    expect(after.filter((b) => bundles.includes(b))).toEqual([]);
    const text = ingot(['verify', 'web:1.0', '--key', k.pub('ci')], {
      env: { INGOT_HOME: r.home },
    });
    expect(text.code, text.stdout + text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^verified web:1\.0 sha256:/);
    expect(text.stdout).toContain(`https://git.example/acme/web.git @ ${r.commit.slice(0, 12)}`);
    expect(text.stdout).toMatch(/signed by +ci \(/);
    expect(text.stdout).toMatch(/base +scratch/);
    expect(text.stdout).toMatch(/measurement +sha256:[0-9a-f]{64} \(signed\)/);
    const json = verifyCli(r.home, ['web:1.0', '--key', k.pub('ci')]);
    expect(json).toMatchObject({ ok: true, code: 0, problems: [] });
    expect(json.blobs?.count).toBeGreaterThan(5);
  });

  it('applies the policy file: keys, threshold, builders, sources, dirty trees, bases, mode', async () => {
    const r = repo();
    const k = keys('ci', 'release', 'stranger');
    // A base in an OCI layout, pinned in the policy by tag.
    const baseDir = tmp();
    writeTree(baseDir, {
      'ingot.yaml': 'name: base\nversion: "1"\nlayers: [{ source: etc, destination: /etc }]\n',
      'etc/os-release': 'ID=test\n',
    });
    const baseHome = join(tmp(), 'base-home');
    const base = await buildWith(baseHome, baseDir);
    writeFileSync(
      join(r.app, 'ingot.yaml'),
      `name: web\nversion: "1.0"\nfrom: { layout: ${join(baseHome, 'store')}, tag: "base:1" }\nlayers:\n  - { source: site, destination: /srv }\n`,
    );
    gitCommit(r.dir, 'on a base');
    await buildWith(r.home, r.app, { keys: [k.key('ci'), k.key('release')] });

    const policyDir = tmp();
    const policy = (extra: string, threshold = 2) => {
      const file = join(policyDir, `p${Math.random().toString(16).slice(2)}.yaml`);
      writeFileSync(
        file,
        [
          `threshold: ${threshold}`,
          'keys:',
          `  - { name: ci, file: ${k.pub('ci')}, id: ${k.id('ci')} }`,
          `  - { name: release, pem: ${JSON.stringify(readFileSync(k.pub('release'), 'utf8'))} }`,
          extra,
        ].join('\n'),
      );
      return file;
    };
    const ok = verifyCli(r.home, [
      'web:1.0',
      '--policy',
      policy(
        [
          'builders: ["https://ingot.dev/builders/local/v1"]',
          'sources: ["https://git.example/acme/**"]',
          `bases: [{ layout: ${join(baseHome, 'store')}, tag: "base:1" }]`,
        ].join('\n'),
      ),
    ]);
    expect(ok).toMatchObject({ ok: true, code: 0 });
    expect(ok.decision.signers.map((s) => s.name).sort()).toEqual(['ci', 'release']);

    const denied = (extra: string, threshold = 2) =>
      verifyCli(r.home, ['web:1.0', '--policy', policy(extra, threshold)]);
    const builder = denied('builders: ["https://ci.example/trusted"]');
    expect(builder).toMatchObject({ ok: false, code: 1 });
    expect(builder.decision.reasons).toEqual([
      {
        code: 'E_POLICY_BUILDER',
        message: 'built by https://ingot.dev/builders/local/v1, which is not an allowed builder',
      },
    ]);
    expect(denied('sources: ["https://github.com/acme/*"]').decision.reasons[0]).toEqual({
      code: 'E_POLICY_SOURCE',
      message: 'built from https://git.example/acme/web.git, which is not allowed',
    });
    expect(denied('bases: [scratch]').decision.reasons[0]).toEqual({
      code: 'E_POLICY_BASE',
      message: `base ${base.digest} (base:1) is not in the allowed bases`,
    });
    const three = join(policyDir, 'three.yaml');
    writeFileSync(
      three,
      `threshold: 3\nkeys:\n  - { name: ci, file: ${k.pub('ci')} }\n  - { name: release, file: ${k.pub('release')} }\n  - { name: stranger, file: ${k.pub('stranger')} }\n`,
    );
    expect(verifyCli(r.home, ['web:1.0', '--policy', three]).decision.reasons[0]?.code).toBe(
      'E_POLICY_THRESHOLD',
    );
    // Warn mode admits, and says why it would not have.
    const warn = denied('mode: warn\nbuilders: ["https://ci.example/trusted"]');
    expect(warn).toMatchObject({ ok: true, code: 0 });
    expect(warn.decision.reasons[0]?.code).toBe('E_POLICY_BUILDER');
    // An unknown signer: only the stranger's key is trusted.
    const strangerOnly = verifyCli(r.home, ['web:1.0', '--key', k.pub('stranger')]);
    expect(strangerOnly.code).toBe(1);
    expect(strangerOnly.decision.reasons.map((x) => x.code)).toEqual(
      expect.arrayContaining(['E_KEY_UNKNOWN']),
    );
    expect(strangerOnly.decision.reasons[0]?.message).toMatch(
      /^signed by unknown key [0-9a-f]{12}…$/,
    );

    // A build from uncommitted changes is refused when sources are pinned.
    writeFileSync(join(r.app, 'site', 'index.html'), 'hot fix\n');
    await buildWith(r.home, r.app, { keys: [k.key('ci'), k.key('release')], tag: 'web:dirty' });
    const dirty = verifyCli(r.home, [
      'web:dirty',
      '--policy',
      policy('sources: ["https://git.example/acme/**"]'),
    ]);
    expect(dirty.decision.reasons.map((x) => x.code)).toEqual(['E_POLICY_DIRTY']);
  });

  it('refuses tampered, misattributed and malformed attestations, each with its own code', async () => {
    const r = repo();
    const k = keys('ci', 'stranger');
    const unsigned = await buildWith(r.home, r.app);
    const other = await buildWith(r.home, r.app, {
      keys: [k.key('ci')],
      tag: 'web:other',
      epoch: 99,
    });
    const [otherBundle] = await readBundles(r.home, other.digest);
    const goodStatement = statementOf(otherBundle!) as {
      subject: { digest: { sha256: string } }[];
    };
    const aboutUnsigned = Buffer.from(
      JSON.stringify({
        ...goodStatement,
        subject: [{ name: 'web:1.0', digest: { sha256: unsigned.digest.slice(7) } }],
      }),
    );
    const valid = signBundle(k.key('ci'), k.id('ci'), aboutUnsigned);
    const validDoc = JSON.parse(valid.toString()) as {
      dsseEnvelope: { payload: string; payloadType: string; signatures: unknown[] };
    };
    const edited = (edit: (d: typeof validDoc) => void) => {
      const copy = structuredClone(validDoc);
      edit(copy);
      return Buffer.from(JSON.stringify(copy));
    };

    const cases: [string, Buffer, string][] = [
      ['no attestation', Buffer.alloc(0), 'E_NO_ATTESTATION'],
      [
        'tampered payload',
        edited((d) => {
          d.dsseEnvelope.payload = Buffer.from(
            aboutUnsigned.toString().replace('ingot.dev/builders', 'evil.example/builders'),
          ).toString('base64');
        }),
        'E_SIGNATURE_INVALID',
      ],
      [
        'unknown key',
        signBundle(k.key('stranger'), k.id('stranger'), aboutUnsigned),
        'E_KEY_UNKNOWN',
      ],
      ['copied from another artifact', otherBundle!, 'E_SUBJECT_MISMATCH'],
      [
        'wrong payloadType',
        signBundle(k.key('ci'), k.id('ci'), aboutUnsigned, 'application/json'),
        'E_PAYLOAD_TYPE',
      ],
      [
        'two signatures',
        edited((d) => d.dsseEnvelope.signatures.push(d.dsseEnvelope.signatures[0])),
        'E_BUNDLE_SIGNATURES',
      ],
      ['truncated', valid.subarray(0, valid.length / 2), 'E_BUNDLE_NOT_JSON'],
      ['not JSON', Buffer.from('<html>hello</html>'), 'E_BUNDLE_NOT_JSON'],
      ['huge', Buffer.alloc(2 * 1024 * 1024, 0x20), 'E_BUNDLE_TOO_LARGE'],
      [
        'signed measurement is not the attached one',
        signBundle(
          k.key('ci'),
          k.id('ci'),
          Buffer.from(
            aboutUnsigned
              .toString()
              .replace(/"name":"measurement"/, '"name":"x"')
              .replace(/"name":"sbom"/, '"name":"measurement"'),
          ),
        ),
        'E_MEASUREMENT_MISMATCH',
      ],
    ];
    for (const [what, bytes, expected] of cases) {
      const home = join(tmp(), 'home');
      const copy = await buildWith(home, r.app);
      expect(copy.digest).toBe(unsigned.digest);
      if (bytes.length > 0) await attachBundle(home, copy.digest, bytes);
      const v = verifyCli(home, ['web:1.0', '--key', k.pub('ci')]);
      const codes = [...v.problems.map((p) => p.code), ...v.decision.reasons.map((x) => x.code)];
      expect({ what, code: v.code, first: codes[0] }).toEqual({ what, code: 1, first: expected });
    }
    // The untampered bundle passes, so each case above failed for its own reason.
    const home = join(tmp(), 'home');
    await buildWith(home, r.app);
    await attachBundle(home, unsigned.digest, valid);
    expect(verifyCli(home, ['web:1.0', '--key', k.pub('ci')])).toMatchObject({ ok: true });
  });

  it('re-hashes every blob: a flipped byte in a layer is caught, and --no-blobs skips it', async () => {
    const r = repo();
    const k = keys('ci');
    const built = await buildWith(r.home, r.app, { keys: [k.key('ci')] });
    const layer = built.layers[0]!.descriptor.digest;
    const path = join(storeDir(r.home), 'blobs', 'sha256', layer.slice(7));
    const bytes = readFileSync(path);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    chmodSync(path, 0o644);
    writeFileSync(path, bytes);
    const v = verifyCli(r.home, ['web:1.0', '--key', k.pub('ci')]);
    expect(v.code).toBe(1);
    expect(v.problems.map((p) => p.code)).toEqual(['E_BLOB_CORRUPT']);
    const quick = verifyCli(r.home, ['web:1.0', '--key', k.pub('ci'), '--no-blobs']);
    expect(quick).toMatchObject({ ok: true, blobs: null });
  });

  it('admits the example under examples/policy.yaml, as the README shows', async () => {
    const root = tmp();
    const example = join(root, 'examples', 'policy.yaml');
    mkdirSync(join(root, 'examples'));
    copyFileSync(fileURLToPath(new URL('../examples/policy.yaml', import.meta.url)), example);
    // The README's commands, in a shell whose HOME is `user`: the shell turns
    // `--out ~/.config/ingot/keys` into this path, and the policy's `~/` names the same.
    const user = tmp();
    const env = { HOME: user };
    const keyDir = join(user, '.config', 'ingot', 'keys');
    const gen = ingot(['key', 'generate', '--out', keyDir, '--name', 'ci'], { env });
    expect(gen.code, gen.stderr).toBe(0);
    expect(statSync(keyDir).mode & 0o777).toBe(0o700);
    const home = join(root, 'home');
    // A copy, so that edits to the example in this checkout cannot make the test flaky.
    const hello = join(root, 'hello');
    cpSync(fileURLToPath(new URL('../examples/hello', import.meta.url)), hello, {
      recursive: true,
      verbatimSymlinks: true,
    });
    // As in this checkout: a git work tree, where the README's commands run; the key is
    // not in it.
    writeFileSync(join(root, '.gitignore'), 'home/\n');
    gitInit(root, 'https://git.example/acme/ingot.git');
    await buildWith(home, hello, { keys: [join(keyDir, 'ci.key')] });
    const v = verifyCli(home, ['hello:1.0.0', '--policy', example], env);
    expect(v).toMatchObject({ ok: true, code: 0 });
    // The same build from outside any work tree is refused by the example's defaults.
    rmSync(join(root, '.git'), { recursive: true, force: true });
    const untracked = join(root, 'untracked-home');
    await buildWith(untracked, hello, { keys: [join(keyDir, 'ci.key')] });
    const refused = verifyCli(untracked, ['hello:1.0.0', '--policy', example], env);
    expect(refused.ok).toBe(false);
    expect(refused.decision.reasons.map((r) => r.code)).toEqual(['E_POLICY_UNTRACKED']);
    expect(v.decision.signers).toEqual([{ id: gen.stdout.trim(), name: 'ci' }]);
    // Under another HOME the policy names another (here: no) key: loading it fails.
    const other = ingot(['verify', 'hello:1.0.0', '--policy', example], {
      env: { INGOT_HOME: home, HOME: tmp() },
    });
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('E_KEY_NOT_FOUND');
  });

  it('needs something to trust: given nothing, a home with no key of its own trusts nothing', () => {
    const r = ingot(['verify', 'web:1.0'], { env: { INGOT_HOME: tmp() } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('E_NO_TRUST');
    expect(r.stderr).toContain('local.pub');
  });

  it("given nothing, trusts the home's own key, as `ingot up` admits, and says so", async () => {
    const r = repo();
    // The pair `ingot up` makes on a first start; `ingot build` signs with it when given no key.
    const made = ingot(['key', 'generate', '--out', join(r.home, 'keys'), '--name', 'local']);
    expect(made.code, made.stderr).toBe(0);
    await buildWith(r.home, r.app);
    const v = verifyCli(r.home, ['web:1.0']);
    expect(v).toMatchObject({ ok: true, code: 0 });
    expect(v.decision.signers).toEqual([{ id: made.stdout.trim(), name: 'local' }]);
    expect(v.text).toContain(`trusting this home's key ${join(r.home, 'keys', 'local.pub')}`);

    // Signed by another key only: the home's key did not sign it, so it is refused, as a
    // deploy to this home's server would be.
    const other = keys('ci');
    const elsewhere = join(tmp(), 'home');
    mkdirSync(join(elsewhere, 'keys'), { recursive: true, mode: 0o700 });
    for (const half of ['local.key', 'local.pub'])
      copyFileSync(join(r.home, 'keys', half), join(elsewhere, 'keys', half));
    await buildWith(elsewhere, r.app, { keys: [other.key('ci')] });
    const refused = verifyCli(elsewhere, ['web:1.0']);
    expect(refused.code).toBe(1);
    expect(refused.decision.reasons.map((x) => x.code)).toContain('E_KEY_UNKNOWN');
    // Anything given replaces the home's key.
    expect(verifyCli(elsewhere, ['web:1.0', '--key', other.pub('ci')]).code).toBe(0);
    expect(verifyCli(elsewhere, ['web:1.0', '--key', other.pub('ci')]).text).not.toContain(
      'trusting',
    );
  });
});

describe('ingot rebuild --check', () => {
  it('reproduces the artifact from its commit, and refuses other commits and dirty trees', async () => {
    const r = repo();
    const k = keys('ci');
    await buildWith(r.home, r.app, { keys: [k.key('ci')], compression: 'zstd', epoch: 1234 });
    const check = (...extra: string[]) =>
      ingot(['rebuild', '--check', 'web:1.0', ...extra], {
        cwd: r.dir,
        env: { INGOT_HOME: r.home },
      });
    const same = check('--key', k.pub('ci'));
    expect(same.code, same.stdout + same.stderr).toBe(0);
    expect(same.stdout).toMatch(/^reproduced sha256:/);
    expect(same.stdout).toContain('provenance  verified');

    // An ignored, vendored input changed: same commit, clean tree, different artifact.
    writeFileSync(join(r.app, 'vendor', 'tool'), 'another vendored version\n');
    const differs = check();
    expect(differs.code).toBe(1);
    expect(differs.stdout).toMatch(/^NOT reproduced/);
    expect(differs.stdout).toMatch(/source tree differs/);
    writeFileSync(join(r.app, 'vendor', 'tool'), 'vendored, not committed\n');

    writeFileSync(join(r.app, 'site', 'index.html'), 'v2\n');
    const dirty = check();
    expect(dirty.code).toBe(1);
    expect(dirty.stderr).toContain('E_REBUILD_DIRTY');
    gitCommit(r.dir, 'v2');
    const moved = check();
    expect(moved.code).toBe(1);
    expect(moved.stderr).toContain('E_REBUILD_COMMIT');
    expect(moved.stderr).toContain(`git checkout ${r.commit}`);
    expect(ingot(['rebuild', 'web:1.0'], { cwd: r.dir, env: { INGOT_HOME: r.home } }).code).toBe(2);
  });

  it('refuses an artifact built from uncommitted changes, or from no repository', async () => {
    const r = repo();
    const k = keys('ci');
    writeFileSync(join(r.app, 'site', 'extra.html'), 'uncommitted\n');
    await buildWith(r.home, r.app, { keys: [k.key('ci')] });
    const dirty = ingot(['rebuild', '--check', 'web:1.0'], {
      cwd: r.dir,
      env: { INGOT_HOME: r.home },
    });
    expect(dirty.code).toBe(1);
    expect(dirty.stderr).toContain('E_REBUILD_DIRTY');

    const plain = tmp();
    writeTree(plain, {
      'ingot.yaml': 'name: p\nversion: "1"\nlayers: [{ source: f, destination: /f }]\n',
      f: 'x',
    });
    const home = join(tmp(), 'home');
    await buildWith(home, plain, { keys: [k.key('ci')] });
    const none = ingot(['rebuild', '--check', 'p:1'], { cwd: plain, env: { INGOT_HOME: home } });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('E_REBUILD_NO_GIT');
  });
});

describe('hostile repositories, stores and files', () => {
  it('never runs the filters a repository configures for itself', async () => {
    const r = repo();
    const k = keys('ci');
    const marker = join(tmp(), 'PWNED');
    writeFileSync(join(r.dir, '.gitattributes'), '* filter=pwn\n');
    gitCommit(r.dir, 'attributes');
    git(r.dir, 'config', 'filter.pwn.clean', `sh -c "touch ${marker}; cat"`);
    git(r.dir, 'config', 'filter.pwn.process', `sh -c "touch ${marker}"`);
    // A new mtime makes git re-read the file, through its filter if it had one.
    utimesSync(join(r.app, 'site', 'index.html'), new Date(), new Date(2001, 1, 1));
    const built = await buildWith(r.home, r.app, { keys: [k.key('ci')] });
    expect(built.source.git?.commit).toBe(git(r.dir, 'rev-parse', 'HEAD'));
    expect(existsSync(marker)).toBe(false);
  });

  it('looks a full digest up as content, never through a tag spelled like one', async () => {
    const r = repo();
    const k = keys('ci');
    const signed = await buildWith(r.home, r.app, { keys: [k.key('ci')] });
    const unsigned = await buildWith(r.home, r.app, { tag: 'web:unsigned', epoch: 5 });
    const indexPath = join(storeDir(r.home), 'index.json');
    const index = JSON.parse(readFileSync(indexPath, 'utf8')) as {
      manifests: { digest: string; annotations?: Record<string, string> }[];
    };
    for (const m of index.manifests)
      if (m.digest === signed.digest && m.annotations?.['org.opencontainers.image.ref.name'])
        m.annotations['org.opencontainers.image.ref.name'] = unsigned.digest;
    writeFileSync(indexPath, JSON.stringify(index));
    const v = verifyCli(r.home, [unsigned.digest, '--key', k.pub('ci')]);
    expect(v).toMatchObject({ ok: false, code: 1 });
    expect(v.decision.reasons[0]?.code).toBe('E_NO_ATTESTATION');
  });

  it('reports an attachment that is not a manifest as a problem, not a crash', async () => {
    const r = repo();
    const k = keys('ci');
    const built = await buildWith(r.home, r.app, { keys: [k.key('ci')] });
    const store = await openStore(r.home);
    const tx = await store.begin();
    const junk = await tx.putBlob(Buffer.from('this is not JSON'), 'text/plain');
    await tx.commit({
      manifests: [
        {
          descriptor: {
            ...junk,
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
            annotations: { 'dev.ingot.subject': built.digest },
          },
          tags: [],
        },
      ],
      time: new Date().toISOString(),
    });
    const v = verifyCli(r.home, ['web:1.0', '--key', k.pub('ci')]);
    expect(v.code).toBe(1);
    expect(v.problems.map((p) => p.code)).toEqual(['E_NOT_AN_IMAGE']);
  });

  it('refuses a measurement that no trusted provenance vouches for', async () => {
    const r = repo();
    const k = keys('ci');
    const built = await buildWith(r.home, r.app);
    const statement = Buffer.from(
      JSON.stringify({
        _type: InToto.statementType,
        subject: [{ name: 'web:1.0', digest: { sha256: built.digest.slice(7) } }],
        predicateType: 'https://example.com/approved/v1',
        predicate: {},
      }),
    );
    await attachBundle(r.home, built.digest, signBundle(k.key('ci'), k.id('ci'), statement));
    const policy = join(tmp(), 'approved.yaml');
    writeFileSync(
      policy,
      `keys: [{ name: ci, file: ${k.pub('ci')} }]\npredicateTypes: [https://example.com/approved/v1]\n`,
    );
    const v = verifyCli(r.home, ['web:1.0', '--policy', policy]);
    expect(v.decision.allowed).toBe(true);
    expect(v).toMatchObject({ ok: false, code: 1 });
    expect(v.problems.map((p) => p.code)).toEqual(['E_MEASUREMENT_UNSIGNED']);
  });

  it('keeps rebuild inside the checkout whatever an unsigned provenance says', async () => {
    const r = repo();
    const k = keys('ci');
    const built = await buildWith(r.home, r.app);
    const other = join(tmp(), 'h');
    const signed = await buildWith(other, r.app, { keys: [k.key('ci')] });
    const [genuine] = await readBundles(other, signed.digest);
    const s = statementOf(genuine!) as {
      subject: unknown;
      predicate: { buildDefinition: { externalParameters: { baseline: { path: string } } } };
    };
    s.subject = [{ name: 'web:1.0', digest: { sha256: built.digest.slice(7) } }];
    s.predicate.buildDefinition.externalParameters.baseline.path = '../../../etc/ingot.yaml';
    await attachBundle(
      r.home,
      built.digest,
      signBundle(k.key('ci'), k.id('ci'), Buffer.from(JSON.stringify(s))),
    );
    const out = ingot(['rebuild', '--check', 'web:1.0'], {
      cwd: r.dir,
      env: { INGOT_HOME: r.home },
    });
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('E_REBUILD_PATH');
  });

  it('refuses folders, FIFOs, duplicate keys and half-made pairs with their own codes', () => {
    const k = keys('ci');
    const dir = tmp();
    const home = join(tmp(), 'home');
    const run = (...args: string[]) => ingot(args, { env: { INGOT_HOME: home } });
    expect(run('verify', 'x', '--policy', dir).stderr).toContain('E_POLICY_NOT_FOUND');
    const fifo = join(dir, 'key.fifo');
    execFileSync('mkfifo', [fifo]);
    const hung = run('verify', 'x', '--key', fifo);
    expect(hung.code).toBe(1);
    expect(hung.stderr).toContain('E_KEY_INVALID');
    const twice = join(dir, 'twice.yaml');
    writeFileSync(
      twice,
      `keys:\n  - { name: a, file: ${k.pub('ci')} }\n  - { name: b, file: ${k.pub('ci')} }\n`,
    );
    expect(run('verify', 'x', '--policy', twice).stderr).toContain('E_POLICY_INVALID');
    writeFileSync(join(dir, 'half.pub'), 'someone else’s\n');
    const half = run('key', 'generate', '--out', dir, '--name', 'half');
    expect(half.stderr).toContain('E_KEY_EXISTS');
    expect(existsSync(join(dir, 'half.key'))).toBe(false);
  });
});
