import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaType } from '../src/domain/media-types.js';
import { ingot } from './helpers/cli.js';
import { startRegistry, type TestRegistry } from './helpers/registry.js';
import { requireTool, run } from './helpers/tools.js';

/** `ingot push` of the example, read back by skopeo and by a plain HTTP client. */

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

  it('sends nothing the registry has and leaves the fallback index alone on a second push', () => {
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
