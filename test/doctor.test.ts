import { spawnSync } from 'node:child_process';
import { existsSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ingot } from './helpers/cli.js';
import { useTempDirs } from './helpers/fs.js';

const tmp = useTempDirs();

interface DoctorJson {
  ok: boolean;
  checks: { name: string; status: string; required: boolean; detail: string; fix?: string }[];
}

/** Where this machine's PATH finds `name`. */
function which(name: string): string {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${name} is not installed: run ./scripts/setup`);
  return r.stdout.trim();
}

describe('ingot doctor', () => {
  it('passes on this machine (set up by scripts/setup), one line per check', () => {
    const home = join(tmp(), 'home');
    const r = ingot(['doctor'], { env: { INGOT_HOME: home } });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    for (const name of ['root', 'runc', 'cni', 'cgroups', 'seccomp', 'netns', 'home', 'disk'])
      expect(
        lines.find((l) => new RegExp(`^OK +${name} `).test(l)),
        name,
      ).toBeDefined();
    expect(lines.every((l) => /^(OK|WARN|FAIL) /.test(l))).toBe(true);
    // It changed nothing: not even the home is made.
    const json = JSON.parse(
      ingot(['doctor', '-o', 'json'], { env: { INGOT_HOME: home } }).stdout,
    ) as DoctorJson;
    expect(json.ok).toBe(true);
    expect(json.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(json.checks.find((c) => c.name === 'home')?.detail).toContain('made 0700 on first use');
    expect(existsSync(home)).toBe(false);
  });

  it('fails, with the fix, when PATH hides runc', () => {
    // A PATH with what Ingot runs, but runc.
    const bin = tmp();
    for (const name of ['ip', 'flock', 'nsenter', 'unshare', 'python3', 'perl', 'git'])
      symlinkSync(which(name), join(bin, name));
    const env = { INGOT_HOME: join(tmp(), 'home'), PATH: bin };
    const r = ingot(['doctor'], { env });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^FAIL +runc +runc is not on PATH \(runs every instance\); fix: \.\/scripts\/setup \(Debian package runc\)$/m,
    );
    // What is optional only warns: haproxy, skopeo and umoci are hidden too.
    expect(r.stdout).toMatch(/^WARN +haproxy .*; fix: /m);
    const json = JSON.parse(ingot(['doctor', '-o', 'json'], { env }).stdout) as DoctorJson;
    expect(json.ok).toBe(false);
    expect(json.checks.filter((c) => c.status === 'fail').map((c) => c.name)).toEqual(['runc']);
  });
});
