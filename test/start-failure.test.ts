import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sleep } from './helpers/agent.js';
import { HELLO, useServer } from './helpers/server.js';

/**
 * Deploys that can never start, against a real server, runc and store (issue 15, item 4):
 * what runc would refuse is refused at deploy; what fails only on the host is backed off,
 * fails the rollout with the reason within seconds, and leaves a bounded ledger.
 */
describe('a deploy that can never start', () => {
  const server = useServer('startfail');
  const cli = (...args: string[]) => server.cli(...args);
  const status = (name: string) => server.fleet(name)!;
  const ledger = (fleet: string) => server.ledger(fleet);
  const fleetFile = (name: string, lines: string[]) => server.writeFleet(name, lines);
  const variant = (dir: string, edit: (yaml: string) => string) => server.helloVariant(dir, edit);

  beforeAll(() => {
    server.up();
    expect(cli('build', '-q', HELLO).code).toBe(0);
  }, 120_000);

  it('refuses at deploy a memory limit runc cannot set, with its field and a code of its own', () => {
    const r = cli(
      'deploy',
      fleetFile('tiny', ['artifact: hello:1.0.0', 'replicas: 1', 'resources: { memory: 1 }']),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('E_FLEET_UNRUNNABLE');
    expect(r.stderr).toMatch(/resources\.memory: 1 bytes is below/);
    // Nothing was recorded: no fleet, no release, nothing to retry.
    expect(cli('status', 'tiny').stderr).toContain('E_FLEET_NOT_FOUND');
    // What runc takes passes.
    const ok = cli(
      'deploy',
      fleetFile('small', ['artifact: hello:1.0.0', 'replicas: 1', 'resources: { memory: 6Mi }']),
      '--wait',
      '--timeout',
      '60',
    );
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(cli('deploy', fleetFile('small', ['artifact: hello:1.0.0', 'replicas: 0'])).code).toBe(
      0,
    );
  }, 90_000);

  it('a first deploy runc refuses at every start fails in seconds with the reason; the ledger stays bounded', async () => {
    // Passes every check at deploy; runc refuses it: its entrypoint does not exist.
    const dir = variant('nope', (y) =>
      y
        .replace(/entrypoint: \[[^\n]*\]/, 'entrypoint: [/bin/nope]')
        .replace("version: '1.0.0'", "version: '0.0.1'"),
    );
    expect(cli('build', '-q', dir).code).toBe(0);
    const began = Date.now();
    const r = cli(
      'deploy',
      fleetFile('nope', ['artifact: hello:0.0.1', 'replicas: 2']),
      '--wait',
      '--timeout',
      '60',
    );
    const took = Date.now() - began;
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /failed: it failed to start 3 times in a row: runc create .*exec: "\/bin\/nope": stat \/bin\/nope: no such file/,
    );
    // Promptly: three rounds backed off (2 s, 4 s), not the progress deadline (10 min).
    expect(took).toBeLessThan(30_000);
    const f = status('nope');
    expect(f.rollout).toBe('failed');
    expect(f.reason).toMatch(/\/bin\/nope/);
    expect(f.reasons.join('\n')).toMatch(/nothing of it is started until it is deployed again/);
    const history = cli('history', 'nope').stdout;
    expect(history).toMatch(/start-failed +release [0-9a-f]{12} failed to start once in a row/);
    expect(history).toMatch(/failed +it failed to start 3 times in a row/);
    // Nothing more is tried: the ledger does not grow while the fleet stays failed.
    const after = ledger('nope').length;
    expect(after).toBeLessThanOrEqual(12);
    await sleep(6_000);
    expect(ledger('nope')).toHaveLength(after);
    expect(status('nope').instances.filter((i) => i.state !== 'stopped')).toEqual([]);
  }, 90_000);

  it('a release whose blob is tampered after admission is refused on the host, backed off, and its rollout fails with the reason', async () => {
    // v1 serves; v2 (one more page, so a layer of its own) runs as a preview beside it, with
    // no automatic rollback: before, its refusals were retried every pass for ever.
    const v1 = cli(
      'deploy',
      fleetFile('tamp', ['artifact: hello:1.0.0', 'replicas: 2']),
      '--wait',
      '--timeout',
      '60',
    );
    expect(v1.code, v1.stdout + v1.stderr).toBe(0);
    const dir = variant('v2', (y) => y.replace("version: '1.0.0'", "version: '2.0.0'"));
    writeFileSync(join(dir, 'www', 'new.html'), 'v2\n');
    expect(cli('build', '-q', dir).code).toBe(0);
    const preview = fleetFile('tamp', [
      'artifact: hello:2.0.0',
      'replicas: 2',
      'autoRollback: false',
      'strategy: { blueGreen: { previewReplicas: 1 } }',
    ]);
    const step = cli('deploy', preview, '--wait', '--timeout', '60');
    expect(step.code, step.stdout + step.stderr).toBe(0);
    expect(step.stdout).toMatch(/ingot promote tamp/);
    const serving = status('tamp').instances.filter((i) => i.state === 'healthy');
    expect(serving).toHaveLength(3);
    // Tampered in the store after deploy admission: v2's own layer, one byte.
    const layer = ownLayer(server.home, 'hello:2.0.0', 'hello:1.0.0');
    const bytes = readFileSync(layer);
    const at = bytes.length >> 1;
    bytes[at] = bytes[at]! ^ 0xff;
    writeFileSync(layer, bytes);
    const before = ledger('tamp').length;
    const began = Date.now();
    expect(cli('promote', 'tamp').code).toBe(0);
    let f = status('tamp');
    while (f.rollout === 'progressing' && Date.now() - began < 40_000) {
      await sleep(250);
      f = status('tamp');
    }
    expect(f.rollout).toBe('failed');
    expect(f.reason).toMatch(/^it failed to start 3 times in a row: .*sha256:/);
    expect(Date.now() - began).toBeLessThan(30_000);
    // Refused on the host three rounds running; recorded at the first and second, not each.
    const since = () => ledger('tamp').slice(before);
    const refusals = since().filter((e) => e.kind === 'admission' && e.detail['allowed'] === false);
    expect(refusals.length).toBeGreaterThanOrEqual(1);
    expect(refusals.length).toBeLessThanOrEqual(2);
    expect(cli('history', 'tamp').stdout).toMatch(/failed +it failed to start 3 times in a row/);
    // Nothing more is tried, and the fleet keeps serving at its size (promoting let one of
    // the three go: the preview was ready), with instances that ran before.
    const healthy = () =>
      status('tamp')
        .instances.filter((i) => i.state === 'healthy')
        .map((i) => i.id)
        .sort();
    const recorded = since().length;
    const after = healthy();
    await sleep(6_000);
    expect(since()).toHaveLength(recorded);
    expect(healthy()).toEqual(after);
    expect(after).toHaveLength(2);
    for (const id of after) expect(serving.map((i) => i.id)).toContain(id);
  }, 150_000);
});

/** The path of a layer blob of `tag`'s image that `other`'s image does not have. */
function ownLayer(home: string, tag: string, other: string): string {
  const store = join(home, 'store');
  const blob = (digest: string) => join(store, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));
  const index = JSON.parse(readFileSync(join(store, 'index.json'), 'utf8')) as {
    manifests: { digest: string; annotations?: Record<string, string> }[];
  };
  const layers = (t: string) => {
    const m = index.manifests.find(
      (x) => x.annotations?.['org.opencontainers.image.ref.name'] === t,
    );
    if (!m) throw new Error(`no ${t} in the store`);
    const manifest = JSON.parse(readFileSync(blob(m.digest), 'utf8')) as {
      layers: { digest: string }[];
    };
    return manifest.layers.map((l) => l.digest);
  };
  const theirs = new Set(layers(other));
  const mine = layers(tag).filter((d) => !theirs.has(d));
  if (mine.length === 0) throw new Error(`${tag} has no layer of its own`);
  return blob(mine[0]!);
}
