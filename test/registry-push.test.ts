import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DistributionRegistry } from '../src/adapters/registry/client.js';
import { OciLayoutStore } from '../src/adapters/oci-layout/store.js';
import { FileBlobLocations } from '../src/adapters/registry/blob-locations.js';
import { makeApp } from '../src/bin/app.js';
import { parseReference } from '../src/core/registry/reference.js';
import { digestOf, type Digest } from '../src/domain/digest.js';
import { isIngotError } from '../src/domain/errors.js';
import { pullImage } from '../src/services/registry/pull.js';
import { verifyArtifact } from '../src/services/verify.js';
import { MediaType } from '../src/domain/media-types.js';
import { ingot, ingotAsync } from './helpers/cli.js';
import { pushUmociImage, startRegistry, type TestRegistry } from './helpers/registry.js';
import { requireTool, run } from './helpers/tools.js';

/**
 * `ingot push` of the example, read back by skopeo and by a plain HTTP client; `ingot pull`
 * of it into fresh homes, admitted before any layer is fetched.
 */

const HELLO = fileURLToPath(new URL('../examples/hello', import.meta.url));
let plain: TestRegistry;
let secure: TestRegistry;
let root: string;
let env: Record<string, string>;
let digest: string;

beforeAll(async () => {
  requireTool('skopeo');
  root = mkdtempSync(join(tmpdir(), 'ingot-push-'));
  env = { INGOT_HOME: join(root, 'home') };
  [plain, secure] = await Promise.all([
    startRegistry(),
    startRegistry({ tls: true, auth: { username: 'ci', password: 'pushing s3cret' } }),
  ]);
  const key = ingot(['key', 'generate', '--out', join(root, 'keys'), '--name', 'ci']);
  expect(key.code, key.stderr).toBe(0);
  const build = ingot(['build', '-q', '--key', join(root, 'keys', 'ci.key'), HELLO], { env });
  expect(build.code, build.stderr).toBe(0);
  digest = build.stdout.trim();
});

afterAll(async () => {
  await Promise.all([plain?.stop(), secure?.stop()]);
  rmSync(root, { recursive: true, force: true });
});

/** A plain HTTP GET, as any client without Ingot would read the registry. */
function get(
  authority: string,
  path: string,
  accept: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const [host, port] = authority.split(':');
    const req = request({ host, port: Number(port), path, headers: { accept } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('ingot push', () => {
  it('pushes the image that skopeo reads, and the attachments a plain client finds by the fallback tag', async () => {
    const dest = `${plain.authority}/ingot/hello:1.0.0`;
    const r = ingot(['push', 'hello:1.0.0', dest, '--plain-http'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').at(-1)).toBe(digest);

    const inspected = JSON.parse(
      run('skopeo', ['inspect', '--tls-verify=false', `docker://${dest}`]),
    ) as {
      Digest: string;
      Labels: Record<string, string>;
    };
    expect(inspected.Digest).toBe(digest);
    expect(inspected.Labels['dev.ingot.runtime.v1']).toBeDefined();
    // skopeo copy reads every layer back, checking each against its digest.
    const copied = join(root, 'copied');
    run('skopeo', ['copy', '--src-tls-verify=false', `docker://${dest}`, `oci:${copied}:hello`]);
    const copiedIndex = JSON.parse(readFileSync(join(copied, 'index.json'), 'utf8')) as {
      manifests: { digest: string }[];
    };
    expect(copiedIndex.manifests.map((m) => m.digest)).toEqual([digest]);

    const tag = `sha256-${digest.slice(7)}`;
    const index = await get(
      plain.authority,
      `/v2/ingot/hello/manifests/${tag}`,
      MediaType.imageIndex,
    );
    expect(index.status).toBe(200);
    const listed = JSON.parse(index.body) as {
      mediaType: string;
      manifests: { digest: string; artifactType: string }[];
    };
    expect(listed.mediaType).toBe(MediaType.imageIndex);
    expect(listed.manifests.map((m) => m.artifactType).sort()).toEqual(
      [MediaType.spdx, MediaType.sigstoreBundle, MediaType.measurement].sort(),
    );
    for (const m of listed.manifests) {
      const referrer = await get(
        plain.authority,
        `/v2/ingot/hello/manifests/${m.digest}`,
        MediaType.imageManifest,
      );
      expect(referrer.status).toBe(200);
      const manifest = JSON.parse(referrer.body) as {
        subject: { digest: string };
        config: { mediaType: string };
      };
      expect(manifest.subject.digest).toBe(digest);
      expect(manifest.config.mediaType).toBe(MediaType.empty);
    }
  });

  it('sends nothing the registry has, leaves the fallback index alone, and mounts into another repository', () => {
    const again = ingot(
      ['push', 'hello:1.0.0', `${plain.authority}/ingot/hello:1.0.0`, '--plain-http', '-o', 'json'],
      {
        env,
      },
    );
    expect(again.code, again.stderr).toBe(0);
    const report = JSON.parse(again.stdout) as {
      digest: string;
      blobs: { uploaded: number; present: number };
      referrers: { via: string; updated: boolean };
    };
    expect(report.digest).toBe(digest);
    expect(report.blobs.uploaded).toBe(0);
    expect(report.blobs.present).toBeGreaterThan(3);
    expect(report.referrers).toMatchObject({ via: 'tag-schema', updated: false });

    // To another repository of the same registry: every blob mounted, none uploaded.
    const elsewhere = ingot(
      ['push', 'hello:1.0.0', `${plain.authority}/mirror/hello:1`, '--plain-http', '-o', 'json'],
      {
        env,
      },
    );
    expect(elsewhere.code, elsewhere.stderr).toBe(0);
    const mirrored = JSON.parse(elsewhere.stdout) as {
      blobs: { uploaded: number; mounted: number };
    };
    expect(mirrored.blobs.uploaded).toBe(0);
    expect(mirrored.blobs.mounted).toBeGreaterThan(3);
  });

  it('pushes over TLS with a private CA and credentials from --creds or $REGISTRY_AUTH_FILE; refuses without', () => {
    const dest = `${secure.authority}/team/hello:1`;
    const ca = ['--ca-file', secure.caFile!];
    const anonymous = ingot(['push', 'hello:1.0.0', dest, ...ca, '-o', 'json'], {
      env: { ...env, HOME: root },
    });
    expect(anonymous.code).toBe(1);
    expect(JSON.parse(anonymous.stdout)).toMatchObject({
      error: { code: 'E_REGISTRY_UNAUTHORIZED' },
    });
    const noCa = ingot(
      ['push', 'hello:1.0.0', dest, '--creds', 'ci:pushing s3cret', '-o', 'json'],
      { env },
    );
    expect(JSON.parse(noCa.stdout)).toMatchObject({ error: { code: 'E_REGISTRY_CONNECT' } });

    const withFlag = ingot(['push', 'hello:1.0.0', dest, ...ca, '--creds', 'ci:pushing s3cret'], {
      env,
    });
    expect(withFlag.code, withFlag.stderr).toBe(0);
    const authFile = join(root, 'auth.json');
    const auth = Buffer.from('ci:pushing s3cret').toString('base64');
    writeFileSync(authFile, JSON.stringify({ auths: { [secure.authority]: { auth } } }));
    const withFile = ingot(['push', 'hello:1.0.0', `${secure.authority}/team/other`, ...ca], {
      env: { ...env, REGISTRY_AUTH_FILE: authFile },
    });
    expect(withFile.code, withFile.stderr).toBe(0);
    expect(withFile.stdout.trim().split('\n').at(-1)).toBe(digest);
  });

  it('refuses a destination that is not HOST/REPO[:TAG], before touching the network', () => {
    for (const [dest, code] of [
      ['hello', 'E_REGISTRY_REF_INVALID'],
      [`${plain.authority}/Hello`, 'E_REGISTRY_REPO_INVALID'],
      [`${plain.authority}/hello@${digest}`, 'E_REGISTRY_REF_INVALID'],
    ] as const) {
      const r = ingot(['push', 'hello:1.0.0', dest, '--plain-http', '-o', 'json'], { env });
      expect(r.code, dest).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({ error: { code } });
    }
  });
});

/** Blobs in a home's store (none in a home that was never written to). */
function storeBlobs(home: string): string[] {
  const dir = join(home, 'store', 'blobs', 'sha256');
  return existsSync(dir) ? readdirSync(dir) : [];
}

describe('ingot pull', () => {
  it('pulls into a fresh home what ingot verify then admits, blobs re-hashed', () => {
    const fresh = { INGOT_HOME: join(root, 'fresh') };
    const src = `${plain.authority}/ingot/hello:1.0.0`;
    const pub = join(root, 'keys', 'ci.pub');
    const r = ingot(['pull', src, '--plain-http', '--key', pub], { env: fresh });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout.trim().split('\n').at(-1)).toBe(digest);
    const v = ingot(['verify', src, '--key', pub, '-o', 'json'], { env: fresh });
    expect(v.code, v.stdout).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, digest, measurement: { signed: true } });
    // Pulling again fetches no layer.
    const again = ingot(
      [
        'pull',
        `${plain.authority}/ingot/hello@${digest}`,
        '--plain-http',
        '--key',
        pub,
        '-o',
        'json',
      ],
      {
        env: fresh,
      },
    );
    expect(again.code, again.stderr).toBe(0);
    const report = JSON.parse(again.stdout) as { timings: { started: string; decided: string } };
    expect(report).toMatchObject({ ok: true, layers: { fetched: 0 } });
    // The decision's time, which bench/registry compares with the first layer request.
    expect(Date.parse(report.timings.decided)).toBeGreaterThanOrEqual(
      Date.parse(report.timings.started),
    );
  });

  it('refuses a tag that moved between the manifest and the commit, writing nothing', async () => {
    const dest = `${plain.authority}/race/hello:1`;
    expect(ingot(['push', 'hello:1.0.0', dest, '--plain-http'], { env }).code).toBe(0);
    const client = new DistributionRegistry({
      authority: plain.authority,
      plainHttp: true,
      credentials: null,
    });
    const home = join(root, 'race-home');
    const app = makeApp({ home });
    const trust = await app.loadTrust({ keyFiles: [join(root, 'keys', 'ci.pub')] });
    const store = await OciLayoutStore.open(join(home, 'store'));
    let moved = false;
    const pull = pullImage(
      {
        store,
        registry: client,
        verify: async (documents, d: Digest) => {
          const report = await verifyArtifact(documents, {
            ref: d,
            policy: trust.policy,
            keys: trust.keys,
            rehash: false,
            resources: null,
          });
          // Somebody pushes another image to the tag while we admit this one.
          const other = (await client.getManifest('race/hello', `sha256-${d.slice(7)}`)).bytes;
          await client.putManifest('race/hello', '1', MediaType.imageIndex, other);
          moved = true;
          return report;
        },
        now: () => new Date(),
        locations: new FileBlobLocations(join(root, 'race-locations.json')),
      },
      { src: parseReference(dest), tag: 'race:1' },
    );
    let code = 'none';
    try {
      await pull;
    } catch (err) {
      if (isIngotError(err)) code = err.code;
      else throw err;
    }
    await app.close();
    expect(moved).toBe(true);
    expect(code).toBe('E_REGISTRY_TAG_MOVED');
    expect(storeBlobs(home)).toEqual([]);
  });

  it('refuses an image no trusted key signed, before any layer, writing nothing', async () => {
    // Every layer damaged in the registry: had any been fetched, the pull would fail on its
    // digest instead of ending in the admission's refusal.
    const manifest = await get(
      plain.authority,
      `/v2/ingot/hello/manifests/${digest}`,
      MediaType.imageManifest,
    );
    for (const layer of (
      JSON.parse(manifest.body) as { layers: { digest: string; size: number }[] }
    ).layers)
      writeFileSync(plain.blobFile(layer.digest), Buffer.alloc(layer.size, 1));
    const home = join(root, 'stranger-home');
    const stranger = ingot(['key', 'generate', '--out', join(root, 'keys'), '--name', 'stranger']);
    expect(stranger.code).toBe(0);
    const r = ingot(
      [
        'pull',
        `${plain.authority}/ingot/hello:1.0.0`,
        '--plain-http',
        '--key',
        join(root, 'keys', 'stranger.pub'),
        '-o',
        'json',
      ],
      { env: { INGOT_HOME: home } },
    );
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as {
      ok: boolean;
      layers: unknown;
      verify: { decision: { reasons: { code: string }[] } };
    };
    expect(report).toMatchObject({ ok: false, layers: null });
    expect(report.verify.decision.reasons.length).toBeGreaterThan(0);
    expect(storeBlobs(home)).toEqual([]);

    // Admitted, then the damaged layer is refused as it streams: still nothing in the store.
    const trusting = join(root, 'trusting-home');
    const admitted = ingot(
      [
        'pull',
        `${plain.authority}/ingot/hello:1.0.0`,
        '--plain-http',
        '--key',
        join(root, 'keys', 'ci.pub'),
        '-o',
        'json',
      ],
      { env: { INGOT_HOME: trusting } },
    );
    expect(admitted.code).toBe(1);
    expect(JSON.parse(admitted.stdout)).toMatchObject({
      error: { code: 'E_REGISTRY_DIGEST_MISMATCH' },
    });
    expect(storeBlobs(trusting)).toEqual([]);
  });

  it("refuses a fallback index that lists another image's referrer, writing nothing", async () => {
    const repo = 'evil/hello';
    const push = ingot(['push', 'hello:1.0.0', `${plain.authority}/${repo}:1`, '--plain-http'], {
      env,
    });
    expect(push.code, push.stderr).toBe(0);
    const client = new DistributionRegistry({
      authority: plain.authority,
      plainHttp: true,
      credentials: null,
    });
    // A signature-shaped artifact about another image, slipped into this image's list.
    const foreign = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.imageManifest,
        artifactType: MediaType.sigstoreBundle,
        config: { mediaType: MediaType.empty, digest: digestOf('{}'), size: 2 },
        layers: [],
        subject: { mediaType: MediaType.imageManifest, digest: digestOf('another image'), size: 1 },
      }),
    );
    const foreignDigest = await client.putManifest(
      repo,
      digestOf(foreign),
      MediaType.imageManifest,
      foreign,
    );
    const tag = `sha256-${digest.slice(7)}`;
    const index = JSON.parse((await client.getManifest(repo, tag)).bytes.toString('utf8')) as {
      manifests: { digest: string }[];
    };
    index.manifests.unshift({
      mediaType: MediaType.imageManifest,
      digest: foreignDigest,
      size: foreign.length,
      artifactType: MediaType.sigstoreBundle,
    } as { digest: string });
    await client.putManifest(repo, tag, MediaType.imageIndex, Buffer.from(JSON.stringify(index)));

    const home = join(root, 'evil-home');
    const r = ingot(
      [
        'pull',
        `${plain.authority}/${repo}:1`,
        '--plain-http',
        '--key',
        join(root, 'keys', 'ci.pub'),
        '-o',
        'json',
      ],
      { env: { INGOT_HOME: home } },
    );
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'E_REGISTRY_REFERRER_SUBJECT' } });
    expect(storeBlobs(home)).toEqual([]);
    expect(readFileSync(join(root, 'keys', 'ci.pub'), 'utf8')).toContain('PUBLIC KEY');
  });

  it('reads an unsigned image skopeo pushed (made with umoci) and refuses it with the codes of verify', () => {
    const src = `${plain.authority}/base/umoci:v1`;
    pushUmociImage(root, src);

    const home = join(root, 'umoci-home');
    const r = ingot(
      ['pull', src, '--plain-http', '--key', join(root, 'keys', 'ci.pub'), '-o', 'json'],
      {
        env: { INGOT_HOME: home },
      },
    );
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as {
      ok: boolean;
      layers: unknown;
      verify: { problems: { code: string }[]; decision: { reasons: { code: string }[] } };
    };
    expect(report).toMatchObject({ ok: false, layers: null });
    const codes = [...report.verify.problems, ...report.verify.decision.reasons].map((p) => p.code);
    expect(codes).toEqual(expect.arrayContaining(['E_MEASUREMENT_MISSING', 'E_NO_ATTESTATION']));
    expect(storeBlobs(home)).toEqual([]);
  });
});

describe('ingot push and pull exit once done', () => {
  it('do not wait on a connection the registry would keep open for ten minutes', async () => {
    const seen: string[] = [];
    const open = new Set<Socket>();
    const server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res
        .writeHead(403, { 'content-type': 'application/json' })
        .end('{"errors":[{"code":"DENIED","message":"not today"}]}');
    });
    // Announced as Keep-Alive: timeout=600: a client that let its idle connection hold the
    // process would outlive this test.
    server.keepAliveTimeout = 600_000;
    server.on('connection', (socket) => {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const authority = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      for (const args of [
        ['push', 'hello:1.0.0', `${authority}/held/hello:1`],
        ['pull', `${authority}/held/hello:1`, '--key', join(root, 'keys', 'ci.pub')],
      ]) {
        const r = await ingotAsync([...args, '--plain-http', '-o', 'json'], {
          env,
          timeoutMs: 60_000,
        });
        expect(r.code, `${args[0]}: ${r.stderr}`).toBe(1);
        expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'E_REGISTRY_UNAUTHORIZED' } });
        // Start-up, the store and one refused request: well under a second on an idle machine.
        expect(r.ms, args[0]).toBeLessThan(20_000);
      }
      expect(seen.length).toBeGreaterThanOrEqual(2);
      await expect.poll(() => open.size, { timeout: 5_000 }).toBe(0);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
