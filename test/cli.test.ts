import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { Digest } from '../src/domain/digest.js';
import { Annotation, MediaType } from '../src/domain/media-types.js';
import { readManifest } from '../src/services/inspect.js';
import { openStore } from './helpers/app.js';
import { useTempDirs, writeTree } from './helpers/fs.js';
import { INGOT_BIN, ingot } from './helpers/cli.js';

const tmp = useTempDirs();

function project(): { dir: string; env: Record<string, string> } {
  const dir = tmp();
  writeTree(dir, {
    'ingot.yaml': 'name: web\nversion: "1.0"\nlayers:\n  - { source: site, destination: /srv }\n',
    'site/index.html': 'v1\n',
  });
  return { dir, env: { INGOT_HOME: join(dir, '.state'), SOURCE_DATE_EPOCH: '' } };
}

describe('ingot CLI', () => {
  it('explains itself with --help, everywhere, exit 0', () => {
    const top = ingot(['--help']);
    expect(top.code).toBe(0);
    for (const cmd of [
      'build',
      'images',
      'inspect',
      'tags',
      'key',
      'attestation',
      'verify',
      'push',
      'pull',
      'rebuild',
      'logs',
      'up',
      'down',
      'deploy',
      'status',
      'fleets',
      'history',
      'rollback',
      'hosts',
    ])
      expect(top.stdout).toContain(cmd);
    // How to reach a server other than the home's, in the help every command shows.
    for (const option of ['--server <url>', '--token-file <file>', '--server-ca-file <file>'])
      expect(top.stdout).toContain(option);
    expect(top.stdout).toMatch(/INGOT_SERVER .*INGOT_TOKEN_FILE .*INGOT_CA_FILE/s);
    const build = ingot(['build', '--help']);
    expect(build.code).toBe(0);
    expect(build.stdout).toMatch(/SOURCE_DATE_EPOCH/);
    expect(build.stdout).toMatch(/--compression <codec>/);
  });

  it('makes no home just to record a new key pair', () => {
    const dir = tmp();
    const r = ingot(['key', 'generate', '--out', join(dir, 'keys')], {
      cwd: dir,
      env: { INGOT_HOME: join(dir, 'home') },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(dir, 'keys', 'ingot.key'))).toBe(true);
    expect(existsSync(join(dir, 'home'))).toBe(false);
  });

  it('exits 2 on usage errors', () => {
    expect(ingot(['frobnicate']).code).toBe(2);
    expect(ingot(['build', '--no-such-flag']).code).toBe(2);
    expect(ingot(['build', '--compression', 'lzma']).code).toBe(2);
    const { dir, env } = project();
    const badEpoch = ingot(['build', dir], { env: { ...env, SOURCE_DATE_EPOCH: 'yesterday' } });
    expect(badEpoch.code).toBe(2);
    expect(badEpoch.stderr).toMatch(/SOURCE_DATE_EPOCH must be a whole number/);
  });

  it('refuses debug -o json before opening anything: stdout is the session’s own bytes', () => {
    const { dir, env } = project();
    for (const format of ['json', 'yaml']) {
      const r = ingot(['debug', 'web-1', '--reason', 'look', '-o', format, '--', 'id'], { env });
      expect(r.code).toBe(2);
      expect((JSON.parse(r.stdout) as { error: { code: string } }).error.code).toBe(
        'E_OUTPUT_UNSUPPORTED',
      );
      expect(r.stderr).toContain('ingot history -o json');
    }
    // Nothing was opened: no server was asked (none runs), no home was made for it.
    expect(existsSync(join(dir, '.state'))).toBe(false);
    // Without -o it goes on (and says, here, that no server runs).
    expect(ingot(['debug', 'web-1', '--reason', 'look'], { env }).stderr).toContain(
      'E_NOT_RUNNING',
    );
  });

  it('builds: progress and summary on stderr, the digest alone as the last line of stdout', () => {
    const { dir, env } = project();
    const r = ingot(['build', dir], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(r.stderr).toMatch(/layer 1\/2 site: 100%/);
    expect(r.stderr).toMatch(/built web 1\.0 for linux\/amd64/);
    // Same inputs, same digest — from the command line too.
    expect(ingot(['build', '-q', join(dir, 'ingot.yaml')], { env }).stdout).toBe(
      r.stdout.trimEnd().split('\n').at(-1) + '\n',
    );
  });

  it('--no-cache builds the same image and neither reads nor writes the build cache', () => {
    const { dir, env } = project();
    const plain = ingot(['build', '-q', dir], { env });
    const cache = join(env['INGOT_HOME']!, 'cache');
    expect(existsSync(join(cache, 'segments-v1.json'))).toBe(true);
    const { dir: other, env: otherEnv } = project();
    const uncached = ingot(['build', '-q', '--no-cache', other], { env: otherEnv });
    expect(uncached.code, uncached.stderr).toBe(0);
    expect(uncached.stdout).toBe(plain.stdout);
    expect(existsSync(join(otherEnv['INGOT_HOME']!, 'cache'))).toBe(false);
  });

  it('speaks JSON for scripts, for results and for errors', () => {
    const { dir, env } = project();
    const built = JSON.parse(ingot(['build', '-q', '-o', 'json', dir], { env }).stdout) as {
      digest: string;
      tag: string;
      layers: unknown[];
    };
    expect(built.tag).toBe('web:1.0');
    const images = JSON.parse(ingot(['images', '-o', 'json'], { env }).stdout) as {
      digest: string;
      tags: string[];
    }[];
    expect(images).toEqual([expect.objectContaining({ digest: built.digest, tags: ['web:1.0'] })]);
    // The same document as YAML, for people who read it and tools that take it.
    const asYaml = ingot(['images', '-o', 'yaml'], { env });
    expect(asYaml.code, asYaml.stderr).toBe(0);
    expect(parseYaml(asYaml.stdout)).toEqual(images);
    const inspected = JSON.parse(
      ingot(['inspect', '-o', 'json', built.digest.slice(7, 19)], { env }).stdout,
    ) as { digest: string; measurement: { summary: { files: number } } };
    expect(inspected.digest).toBe(built.digest);
    expect(inspected.measurement.summary.files).toBe(1);
    const missing = ingot(['inspect', '-o', 'json', 'nope:1'], { env });
    expect(missing.code).toBe(1);
    expect((JSON.parse(missing.stdout) as { error: { code: string } }).error.code).toBe(
      'E_REF_NOT_FOUND',
    );
  });

  it('reports every problem of a bad baseline with its location, exit 2 (usage)', () => {
    const dir = tmp();
    writeFileSync(
      join(dir, 'ingot.yaml'),
      'name: Web\nversion: 1.0\nlayers:\n  - { source: x, destination: relative }\n',
    );
    const r = ingot(['build', dir], { env: { INGOT_HOME: join(dir, '.s') } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ingot\.yaml: 3 problems/);
    expect(r.stderr).toMatch(/ingot\.yaml:1:7: name:/);
    expect(r.stderr).toMatch(/ingot\.yaml:2:10: version:/);
    expect(r.stderr).toMatch(/ingot\.yaml:4:\d+: layers\[0\]\.destination:/);
    expect(r.stderr).toMatch(/\(E_SPEC_INVALID\)/);
    expect(ingot(['build', join(dir, 'nowhere')]).code).toBe(1);
  });

  it('refuses YAML that is not UTF-8, with where, and exits 2 for every YAML problem', () => {
    const dir = tmp();
    const env = { INGOT_HOME: join(dir, '.s') };
    // "café" in Latin-1 on line 2: a lenient read would make it "caf\uFFFD" without a word.
    const latin1 = (head: string, tail: string) =>
      Buffer.concat([Buffer.from(head), Buffer.from([0xe9]), Buffer.from(tail)]);
    writeFileSync(join(dir, 'ingot.yaml'), latin1('name: web\nversion: "caf', '"\nlayers: []\n'));
    writeFileSync(join(dir, 'fleet.yaml'), latin1('name: web\nartifact: "caf', '"\nreplicas: 1\n'));
    writeFileSync(join(dir, 'policy.yaml'), latin1('version: 1\n# caf', '\nkeys: []\n'));
    const cases = [
      [['build', dir], 'ingot.yaml:2:14', 'E_SPEC_ENCODING'],
      [['deploy', join(dir, 'fleet.yaml')], 'fleet.yaml:2:15', 'E_FLEET_ENCODING'],
      [
        ['verify', 'web:1', '--policy', join(dir, 'policy.yaml')],
        'policy.yaml:2:6',
        'E_POLICY_ENCODING',
      ],
    ] as const;
    for (const [args, where, code] of cases) {
      const r = ingot(args, { env, cwd: dir });
      expect(r.stderr).toContain(where);
      expect(r.stderr).toMatch(/not UTF-8 at byte \d+ \(0xe9/);
      expect(r.stderr).toContain(`(${code})`);
      expect(r.code, r.stderr).toBe(2);
    }
    // Syntax, fields and size: usage errors too; a missing file is a failure (exit 1).
    writeFileSync(join(dir, 'fleet.yaml'), 'name: [unclosed\n');
    const syntax = ingot(['deploy', join(dir, 'fleet.yaml')], { env });
    expect([syntax.code, syntax.stderr]).toEqual([2, expect.stringContaining('E_FLEET_SYNTAX')]);
    writeFileSync(join(dir, 'fleet.yaml'), 'name: web\nreplicas: -1\n');
    const invalid = ingot(['deploy', join(dir, 'fleet.yaml'), '-o', 'json'], { env });
    expect(invalid.code).toBe(2);
    expect(JSON.parse(invalid.stdout)).toMatchObject({ error: { code: 'E_FLEET_INVALID' } });
    writeFileSync(join(dir, 'policy.yaml'), 'x'.repeat(2 * 1024 * 1024));
    expect(ingot(['verify', 'web:1', '--policy', join(dir, 'policy.yaml')], { env }).code).toBe(2);
    expect(ingot(['deploy', join(dir, 'nowhere.yaml')], { env }).code).toBe(1);
  });

  it('lists images and tags, and keeps the history of a tag that moved', () => {
    const { dir, env } = project();
    const first = ingot(['build', '-q', dir], { env }).stdout.trim();
    writeFileSync(join(dir, 'site/index.html'), 'v2\n');
    const second = ingot(['build', '-q', dir], { env }).stdout.trim();
    expect(second).not.toBe(first);

    const images = ingot(['images'], { env }).stdout;
    expect(images).toMatch(new RegExp(`^web:1\\.0 +${second.slice(7, 19)}`, 'm'));
    expect(images).toMatch(new RegExp(`^<none> +${first.slice(7, 19)}`, 'm'));
    expect(ingot(['tags'], { env }).stdout).toMatch(new RegExp(`^web:1\\.0 +${second}$`, 'm'));
    const history = JSON.parse(
      ingot(['tags', '--history', '-o', 'json', 'web:1.0'], { env }).stdout,
    ) as { from: string | null; to: string }[];
    expect(history.map((h) => [h.from, h.to])).toEqual([
      [null, first],
      [first, second],
    ]);
    const inspect = ingot(['inspect', 'web:1.0'], { env });
    expect(inspect.stdout).toMatch(/measurement sha256:/);
    expect(inspect.stdout).toMatch(/1 files, 4 folders, 0 symlinks/); // + /dev, /proc, /sys
  });

  it('refuses to use a blob that was changed on disk, exit 1', () => {
    const { dir, env } = project();
    const digest = ingot(['build', '-q', dir], { env }).stdout.trim();
    const path = join(env.INGOT_HOME!, 'store/blobs/sha256', digest.slice(7));
    chmodSync(path, 0o644);
    writeFileSync(path, readFileSync(path, 'utf8').replace('"web"', '"bew"'));
    const r = ingot(['inspect', 'web:1.0'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is corrupt.*\(E_BLOB_CORRUPT\)/s);
  });

  it('writes all of a large output into a pipe whose reader is slow, before it exits', async () => {
    // An SBOM of 3,000 files is about 1.5 MB of JSON; a pipe holds 64 KiB, and what it does
    // not take at once waits in the process, which must not exit before it is written.
    const { dir, env } = project();
    mkdirSync(join(dir, 'many'));
    for (let i = 0; i < 3000; i++)
      writeFileSync(join(dir, 'many', `${String(i).padStart(5, '0')}-${'x'.repeat(60)}`), `${i}`);
    writeFileSync(
      join(dir, 'ingot.yaml'),
      'name: many\nversion: "1"\nlayers:\n  - { source: many, destination: /data }\n',
    );
    const built = ingot(['build', '-q', dir], { env });
    expect(built.code, built.stderr).toBe(0);
    const store = await openStore(env.INGOT_HOME!);
    const image = built.stdout.trim() as Digest;
    const sbom = (await store.referrers(image)).find((d) => d.artifactType === MediaType.spdx)!;
    const named = (await readManifest(store, sbom)).annotations!;
    expect(Number(named[Annotation.documentSize])).toBeGreaterThan(1024 * 1024);

    const piped = spawnSync(
      'sh',
      ['-c', '"$0" "$1" inspect many:1 --sbom | (sleep 1; sha256sum)', process.execPath, INGOT_BIN],
      { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 },
    );
    expect(piped.status, piped.stderr).toBe(0);
    expect(`sha256:${piped.stdout.split(' ')[0]}`).toBe(named[Annotation.documentDigest]);
  });
});
