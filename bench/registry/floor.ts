import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { Agent, get, request } from 'node:http';
import { join } from 'node:path';

/**
 * The least a Node.js client does, spawned as its own process (bundled by the bench into
 * plain JavaScript) so that its time includes Node's start-up as Ingot's and skopeo's include
 * theirs: what is left between it and skopeo is the platform, not Ingot's code.
 *
 * - `pull HOST:PORT REPO DIR DIGEST...`: GET the layers, 4 at a time over kept-alive
 *   connections (as Ingot's pull), check each one's SHA-256 as it streams and write it to a
 *   file. No manifest, admission, attachments, fsync or store.
 * - `push HOST:PORT REPO FILE DIGEST`: upload one blob (POST, then PUT of the file), the part
 *   a re-push cannot avoid sending. No HEADs, manifests or referrers.
 */

const [mode = '', authority = '', repo = '', ...rest] = process.argv.slice(2);
const agent = new Agent({ keepAlive: true });
const IN_FLIGHT = 4;

function fetchLayer(file: string, digest: string): Promise<void> {
  return new Promise((resolve, reject) => {
    get(`http://${authority}/v2/${repo}/blobs/${digest}`, { agent }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`${digest}: ${res.statusCode}`));
        return;
      }
      const hash = createHash('sha256');
      const out = createWriteStream(file, { highWaterMark: 1 << 20 });
      res.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        if (!out.write(chunk)) {
          res.pause();
          out.once('drain', () => res.resume());
        }
      });
      res.on('error', reject);
      res.on('end', () => {
        out.end();
        out.once('close', () =>
          `sha256:${hash.digest('hex')}` === digest
            ? resolve()
            : reject(new Error(`${digest}: other bytes`)),
        );
      });
    }).on('error', reject);
  });
}

function answer(method: string, url: URL, body?: { path: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent }, (res) => {
      res.resume();
      res.on('end', () =>
        (res.statusCode ?? 0) < 300
          ? resolve(res.headers.location ?? '')
          : reject(new Error(`${method} ${url.pathname}: ${res.statusCode}`)),
      );
    }).on('error', reject);
    if (body === undefined) req.end();
    else {
      req.setHeader('content-length', statSync(body.path).size);
      createReadStream(body.path, { highWaterMark: 1 << 20 }).pipe(req);
    }
  });
}

async function pushBlob(path: string, digest: string): Promise<void> {
  const origin = `http://${authority}`;
  const location = await answer('POST', new URL(`/v2/${repo}/blobs/uploads/`, origin));
  const url = new URL(location, origin);
  url.searchParams.set('digest', digest);
  await answer('PUT', url, { path });
}

if (mode === 'pull') {
  const [dir = '', ...digests] = rest;
  let next = 0;
  const fetchInto = (digest: string) => fetchLayer(join(dir, digest.slice(7)), digest);
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < digests.length) await fetchInto(digests[next++]!);
    }),
  );
} else if (mode === 'push') await pushBlob(rest[0] ?? '', rest[1] ?? '');
else throw new Error(`floor: no mode ${mode}`);
agent.destroy();
