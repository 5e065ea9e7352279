import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingot, INGOT_BIN } from './helpers/cli.js';
import { startRegistry, type TestRegistry } from './helpers/registry.js';

/**
 * A push or a pull killed mid-way (SIGKILL: no clean-up runs) leaves nothing half-visible —
 * no tag in the registry, no image in the store — and running it again finishes the job.
 * A proxy in front of a real registry holds the largest layer's transfer open so that the
 * kill lands while its bytes are moving.
 */

const HELLO = fileURLToPath(new URL('../examples/hello', import.meta.url));
let registry: TestRegistry;
let root: string;
let builder: Record<string, string>;
let digest: string;
let largest: string;

/** The largest layer of an image in a home, by `ingot inspect -o json`. */
function largestLayer(env: Record<string, string>, image: string): string {
  const r = ingot(['inspect', image, '-o', 'json'], { env });
  const layers = (
    JSON.parse(r.stdout) as { manifest: { layers: { digest: string; size: number }[] } }
  ).manifest.layers;
  return [...layers].sort((a, b) => b.size - a.size)[0]!.digest;
}

/**
 * Forwards to the registry, except that a transfer of `blob` (its GET, or the upload that
 * names it) is held: a GET gets its headers and a first part of the bytes, an upload is read
 * and never answered. `held` resolves when that happens.
 */
function holdingProxy(
  target: string,
  blob: string,
): Promise<{
  server: Server;
  authority: string;
  held: Promise<void>;
}> {
  let markHeld: () => void = () => undefined;
  const held = new Promise<void>((r) => (markHeld = r));
  const [host, port] = target.split(':');
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    const isBlob = url.includes(blob.replace('sha256:', ''));
    const isUpload = req.method === 'PUT' && url.includes('digest=');
    const forward = (answer: (up: IncomingMessage) => void) => {
      const up = request(
        { host, port: Number(port), method: req.method, path: url, headers: req.headers },
        answer,
      );
      up.on('error', () => res.destroy());
      req.pipe(up);
    };
    if (isBlob && isUpload) {
      req.resume();
      req.on('end', markHeld);
      return; // never answered
    }
    if (isBlob && req.method === 'GET') {
      forward((up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.once('data', (chunk: Buffer) => {
          res.write(chunk);
          up.pause();
          markHeld();
        });
      });
      return;
    }
    forward((up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const p = typeof address === 'object' && address ? address.port : 0;
      resolve({ server, authority: `127.0.0.1:${p}`, held });
    }),
  );
}

/** Run the CLI until the proxy holds the transfer, then SIGKILL it. */
async function killWhileHeld(
  args: string[],
  env: Record<string, string>,
  held: Promise<void>,
): Promise<void> {
  const child = spawn(process.execPath, [INGOT_BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const first = await Promise.race([held.then(() => 'held'), exited.then(() => 'exited')]);
  expect(first, `ingot ${args.join(' ')} finished before the transfer was held`).toBe('held');
  child.kill('SIGKILL');
  await exited;
}

function manifestStatus(authority: string, path: string): Promise<number> {
  const [host, port] = authority.split(':');
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host,
        port: Number(port),
        method: 'HEAD',
        path,
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  registry = await startRegistry();
  root = mkdtempSync(join(tmpdir(), 'ingot-interrupted-'));
  builder = { INGOT_HOME: join(root, 'builder') };
  expect(ingot(['key', 'generate', '--out', join(root, 'keys'), '--name', 'ci']).code).toBe(0);
  const build = ingot(['build', '-q', '--key', join(root, 'keys', 'ci.key'), HELLO], {
    env: builder,
  });
  expect(build.code, build.stderr).toBe(0);
  digest = build.stdout.trim();
  largest = largestLayer(builder, digest);
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('an interrupted transfer', () => {
  it('push: no tag appears until everything is there; pushing again completes it', async () => {
    const proxy = await holdingProxy(registry.authority, largest);
    try {
      await killWhileHeld(
        ['push', digest, `${proxy.authority}/cut/hello:1.0.0`, '--plain-http'],
        builder,
        proxy.held,
      );
    } finally {
      proxy.server.closeAllConnections();
      proxy.server.close();
    }
    expect(await manifestStatus(registry.authority, '/v2/cut/hello/manifests/1.0.0')).toBe(404);
    const again = ingot(['push', digest, `${registry.authority}/cut/hello:1.0.0`, '--plain-http'], {
      env: builder,
    });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.trim().split('\n').at(-1)).toBe(digest);
    expect(await manifestStatus(registry.authority, '/v2/cut/hello/manifests/1.0.0')).toBe(200);
  }, 120_000);

  it('pull: the store shows nothing of it, and pulling again fetches it and clears the debris', async () => {
    const pushed = ingot(
      ['push', digest, `${registry.authority}/whole/hello:1.0.0`, '--plain-http'],
      {
        env: builder,
      },
    );
    expect(pushed.code, pushed.stderr).toBe(0);
    const home = join(root, 'fresh');
    const env = { INGOT_HOME: home };
    const key = join(root, 'keys', 'ci.pub');
    const proxy = await holdingProxy(registry.authority, largest);
    try {
      await killWhileHeld(
        ['pull', `${proxy.authority}/whole/hello:1.0.0`, '--plain-http', '--key', key],
        env,
        proxy.held,
      );
    } finally {
      proxy.server.closeAllConnections();
      proxy.server.close();
    }
    const store = join(home, 'store');
    const index = JSON.parse(readFileSync(join(store, 'index.json'), 'utf8')) as {
      manifests: unknown[];
    };
    expect(index.manifests).toEqual([]);
    expect(existsSync(join(store, 'blobs', 'sha256', largest.slice(7)))).toBe(false);
    // What the killed pull was fetching is still there, invisible, until the next open.
    expect(readdirSync(join(store, '.ingot', 'staging')).length).toBeGreaterThan(0);

    const again = ingot(
      ['pull', `${registry.authority}/whole/hello:1.0.0`, '--plain-http', '--key', key],
      { env },
    );
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.trim().split('\n').at(-1)).toBe(digest);
    expect(readdirSync(join(store, '.ingot', 'staging'))).toEqual([]);
    const verify = ingot(['verify', digest, '--key', key], { env });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  }, 120_000);
});
