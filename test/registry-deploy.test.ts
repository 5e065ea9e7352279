import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerEntryDraft } from '../src/core/ledger/index.js';
import type { Digest } from '../src/domain/digest.js';
import type { ObservedInstance } from '../src/domain/instance.js';
import { hostResidue, makeAgent, removeNet, sleep, testNet } from './helpers/agent.js';
import { ingot } from './helpers/cli.js';
import { passableTempDir } from './helpers/fs.js';
import { startRegistry, type TestRegistry } from './helpers/registry.js';
import { useServer } from './helpers/server.js';

/**
 * A fleet names its artifact by registry reference: the server pulls it at deploy (admitted
 * before any layer), pins the digest in the release, and a host whose store lacks it pulls it
 * by that digest. Real docker-registry, real server, real instances.
 */

const server = useServer('regdeploy');
let registry: TestRegistry;
let keys: string;
/** The builder's home: it builds and pushes; the server's home never builds. */
let builder: Record<string, string>;
let digest: Digest;
let rogue: { digest: Digest; layers: string[] };

/** Layer digests of an image in a home's store, by reading its manifest blob. */
function layersOf(home: string, image: Digest): string[] {
  const r = ingot(['inspect', image, '-o', 'json'], { env: { INGOT_HOME: home } });
  expect(r.code, r.stderr).toBe(0);
  return (
    JSON.parse(r.stdout) as { manifest: { layers: { digest: string }[] } }
  ).manifest.layers.map((l) => l.digest);
}

function storeBlobs(home: string): Set<string> {
  const dir = join(home, 'store', 'blobs', 'sha256');
  return new Set(existsSync(dir) ? readdirSync(dir).map((h) => `sha256:${h}`) : []);
}

beforeAll(async () => {
  registry = await startRegistry();
  keys = join(server.root, 'keys');
  builder = { INGOT_HOME: join(server.root, 'builder') };
  for (const name of ['ci', 'rogue'])
    expect(ingot(['key', 'generate', '--out', keys, '--name', name]).code).toBe(0);
  const build = (dir: string, key: string) => {
    const r = ingot(['build', '-q', '--key', join(keys, `${key}.key`), dir], { env: builder });
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim() as Digest;
  };
  const push = (ref: string, dest: string) => {
    const r = ingot(['push', ref, `${registry.authority}/${dest}`, '--plain-http'], {
      env: builder,
    });
    expect(r.code, r.stderr).toBe(0);
  };
  const hello = server.helloVariant('hello', (y) => y);
  digest = build(hello, 'ci');
  push(digest, 'team/hello:1.0.0');
  // Another image (a layer of its own) signed by a key the server does not trust.
  const other = server.helloVariant('rogue', (y) => y.replace(/^name: hello$/m, 'name: rogue'));
  writeFileSync(join(other, 'www', 'index.html'), 'not from the pipeline\n');
  const rogueDigest = build(other, 'rogue');
  push(rogueDigest, 'team/rogue:1');
  rogue = { digest: rogueDigest, layers: layersOf(builder['INGOT_HOME']!, rogueDigest) };
  server.up('--key', join(keys, 'ci.pub'), '--insecure-registry', registry.authority);
}, 180_000);

afterAll(async () => {
  await registry?.stop();
});

describe('deploy of a registry reference', () => {
  it('pulls the image at deploy, pins its digest in the release, and runs it', () => {
    const file = server.writeFleet('web', [
      `artifact: ${registry.authority}/team/hello:1.0.0`,
      'replicas: 2',
      'minReadySeconds: 0',
    ]);
    const r = server.cli('deploy', file, '--wait', '-o', 'json');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const fleet = server.fleet('web')!;
    expect(fleet.artifact).toBe(digest);
    expect(fleet.instances.map((i) => [i.state, i.artifact])).toEqual([
      ['healthy', digest],
      ['healthy', digest],
    ]);
    // In the server's store now, tagged as the reference was typed, and admitted at deploy.
    const images = server.cli('images', '-o', 'json');
    expect(images.stdout).toContain(`${registry.authority}/team/hello:1.0.0`);
    const admissions = server.ledger('web').filter((e) => e.kind === 'admission');
    expect(admissions[0]?.detail).toMatchObject({ where: 'deploy', allowed: true });
  }, 180_000);

  it('refuses an image admission refuses, having fetched none of its layers', () => {
    const before = storeBlobs(server.home);
    const file = server.writeFleet('rogue', [
      `artifact: ${registry.authority}/team/rogue:1`,
      'replicas: 1',
    ]);
    const r = server.cli('deploy', file);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('E_DEPLOY_REFUSED');
    expect(server.fleet('rogue')).toBeUndefined();
    const after = storeBlobs(server.home);
    for (const layer of rogue.layers) expect(after.has(layer), layer).toBe(before.has(layer));
    const refusal = server
      .ledger('rogue')
      .find((e) => e.kind === 'admission' && e.detail['allowed'] === false);
    expect(refusal?.detail['source']).toBe(`${registry.authority}/team/rogue:1@${rogue.digest}`);
  }, 120_000);
});

describe('a host whose store lacks the artifact', () => {
  it('pulls it by the digest the release pinned, and refuses to run what it cannot get', async () => {
    const root = passableTempDir('ingot-regagent-');
    const home = join(root, 'home');
    mkdirSync(home, { recursive: true });
    const net = testNet();
    const events: LedgerEntryDraft[] = [];
    const agent = await makeAgent(home, net, join(keys, 'ci.pub'), {
      stopGraceMs: 1000,
      registries: { insecure: [registry.authority] },
      onEvent: (e) => events.push(e),
    });
    agent.run(100);
    const missing = `sha256:${'0'.repeat(64)}` as Digest;
    const ids = ['pulled-0', 'pulled-1', 'absent-0'];
    try {
      await agent.apply([
        ...['pulled-0', 'pulled-1'].map((id) => ({
          id,
          fleet: 'pulled',
          artifact: digest,
          source: `${registry.authority}/team/hello@${digest}`,
        })),
        {
          id: 'absent-0',
          fleet: 'absent',
          artifact: missing,
          source: `${registry.authority}/team/hello@${missing}`,
        },
      ]);
      let seen: ObservedInstance[] = [];
      for (const until = Date.now() + 60_000; Date.now() < until; await sleep(200)) {
        seen = await agent.observe();
        if (seen.filter((i) => i.state === 'healthy').length === 2) break;
      }
      const state = Object.fromEntries(seen.map((i) => [i.id, i.state]));
      expect(state).toMatchObject({ 'pulled-0': 'healthy', 'pulled-1': 'healthy' });
      // Two starts of one artifact, one pull; recorded with where it came from.
      const pulls = events.filter((e) => e.kind === 'artifact-pulled');
      expect(pulls.map((e) => e.detail['source'])).toEqual([
        `${registry.authority}/team/hello@${digest}`,
      ]);
      // A digest the registry does not have: the start fails with the registry's answer,
      // and nothing of an instance is made for it.
      const absent = seen.find((i) => i.id === 'absent-0');
      expect(absent?.state).toBe('failed');
      expect(absent?.reason).toContain('E_REGISTRY_NOT_FOUND');
      await agent.apply([]);
      for (const [what, left] of Object.entries(hostResidue(home, net, ids)))
        expect(left, what).toEqual([]);
    } finally {
      // Also when an assertion failed: nothing of the test may outlive it.
      await agent.apply([]).catch(() => undefined);
      await agent.releaseNetwork().catch(() => undefined);
      await agent.close();
      removeNet(net);
      rmSync(root, { recursive: true, force: true });
    }
  }, 180_000);
});
