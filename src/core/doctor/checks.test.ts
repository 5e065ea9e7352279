import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  diagnose,
  DOCTOR_PROGRAMS,
  doctorExitCode,
  INIT_BINARY,
  MIN_FREE_BYTES,
  type Check,
} from './checks.js';
import type { HostFacts } from './facts.js';

const PROGRAMS = DOCTOR_PROGRAMS;
const OPTIONAL_PROGRAMS = ['git', 'haproxy', 'skopeo', 'umoci'];

/** This kind of machine (FIELD-NOTES): Debian 12 as root, hybrid cgroups, setup done. */
const healthy: HostFacts = {
  uid: 0,
  node: '20.20.2',
  programs: Object.fromEntries(PROGRAMS.map((p) => [p, `/usr/bin/${p}`])),
  files: { [INIT_BINARY]: true },
  cni: { dir: '/usr/lib/cni', plugins: ['bridge', 'host-local', 'loopback', 'portmap'] },
  cgroups: { unified: [], v1: ['cpu', 'cpuacct', 'memory', 'pids', 'devices', 'freezer'] },
  seccomp: true,
  maxUserNamespaces: 96368,
  netns: true,
  home: {
    path: '/var/lib/ingot',
    stat: { isDirectory: true, uid: 0, mode: 0o700 },
    blockingAncestor: null,
    freeBytes: 50 * 1024 ** 3,
  },
};

const byName = (checks: readonly Check[], name: string) => checks.find((c) => c.name === name)!;
const statusOf = (facts: HostFacts, name: string) => byName(diagnose(facts), name).status;
const without = (facts: HostFacts, ...names: string[]): HostFacts => ({
  ...facts,
  programs: { ...facts.programs, ...Object.fromEntries(names.map((n) => [n, null])) },
});

/** Any machine: each fact present or not, in any combination. */
const anyFacts: fc.Arbitrary<HostFacts> = fc.record({
  uid: fc.option(fc.constantFrom(0, 1000), { nil: undefined }),
  node: fc.constantFrom('18.19.0', '20.18.1', '20.19.0', '22.1.0'),
  programs: fc.record(
    Object.fromEntries(
      PROGRAMS.map((p) => [p, fc.option(fc.constant(`/usr/bin/${p}`), { nil: null })]),
    ),
  ),
  files: fc.record({ [INIT_BINARY]: fc.boolean() }),
  cni: fc.record({
    dir: fc.constant('/usr/lib/cni'),
    plugins: fc.subarray(['bridge', 'host-local', 'loopback', 'portmap']),
  }),
  cgroups: fc.record({
    unified: fc.option(fc.subarray(['cpu', 'memory', 'pids', 'io']), { nil: null }),
    v1: fc.subarray(['cpu', 'memory', 'pids', 'devices']),
  }),
  seccomp: fc.option(fc.boolean(), { nil: null }),
  maxUserNamespaces: fc.option(fc.nat(), { nil: null }),
  netns: fc.boolean(),
  home: fc.record({
    path: fc.constant('/var/lib/ingot'),
    stat: fc.option(
      fc.record({
        isDirectory: fc.boolean(),
        uid: fc.constantFrom(0, 1000),
        mode: fc.integer({ min: 0, max: 0o777 }),
      }),
      { nil: null },
    ),
    blockingAncestor: fc.option(fc.constant('/root'), { nil: null }),
    freeBytes: fc.option(fc.nat({ max: 8 * 1024 ** 3 }), { nil: null }),
  }),
});

describe('ingot doctor: the verdicts', () => {
  it('passes this kind of machine: every required check ok, exit 0', () => {
    const checks = diagnose(healthy);
    expect(checks.filter((c) => c.status !== 'ok')).toEqual([]);
    expect(doctorExitCode(checks)).toBe(0);
    expect(byName(checks, 'cgroups').detail).toMatch(/^hybrid|^v1/);
  });

  it('gives every finding that is not ok a fix, and none to those that are', () => {
    fc.assert(
      fc.property(anyFacts, (facts) =>
        diagnose(facts).every((c) => (c.status === 'ok') === (c.fix === undefined)),
      ),
    );
  });

  it('exits 1 exactly when a required check fails; optional ones only warn', () => {
    fc.assert(
      fc.property(anyFacts, (facts) => {
        const checks = diagnose(facts);
        const failed = checks.filter((c) => c.status === 'fail');
        expect(failed.every((c) => c.required)).toBe(true);
        expect(checks.filter((c) => c.status === 'warn').every((c) => !c.required)).toBe(true);
        expect(doctorExitCode(checks)).toBe(failed.length > 0 ? 1 : 0);
        // Taking the optional programs away never changes the exit code.
        expect(doctorExitCode(diagnose(without(facts, ...OPTIONAL_PROGRAMS)))).toBe(
          doctorExitCode(checks),
        );
      }),
    );
  });

  it('fails each required piece on its own, with the setup script or the package as the fix', () => {
    const runc = byName(diagnose(without(healthy, 'runc')), 'runc');
    expect(runc).toMatchObject({ status: 'fail', fix: './scripts/setup (Debian package runc)' });
    expect(doctorExitCode(diagnose(without(healthy, 'runc')))).toBe(1);
    for (const [facts, name] of [
      [without(healthy, 'python3'), 'python3'],
      [without(healthy, 'perl'), 'perl'],
      [without(healthy, 'ip'), 'netns'],
      [without(healthy, 'flock'), 'util-linux'],
      [{ ...healthy, cni: { dir: '/usr/lib/cni', plugins: ['bridge', 'loopback'] } }, 'cni'],
      [{ ...healthy, cgroups: { unified: ['cpu', 'memory'], v1: [] } }, 'cgroups'],
      [{ ...healthy, seccomp: false }, 'seccomp'],
      [{ ...healthy, uid: 1000 }, 'root'],
      [{ ...healthy, node: '20.18.3' }, 'node'],
    ] as const) {
      const check = byName(diagnose(facts), name);
      expect(check.status, name).toBe('fail');
      expect(check.fix, name).toBeTruthy();
    }
    expect(
      byName(diagnose({ ...healthy, cni: { dir: '/usr/lib/cni', plugins: [] } }), 'cni').detail,
    ).toContain('host-local');
  });

  it('reads cgroups v2, v1 and hybrid hosts alike', () => {
    const v2 = {
      ...healthy,
      cgroups: { unified: ['cpuset', 'cpu', 'io', 'memory', 'pids'], v1: [] },
    };
    expect(byName(diagnose(v2), 'cgroups')).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(/^v2:/) as unknown,
    });
    const v1 = { ...healthy, cgroups: { unified: null, v1: ['cpu', 'memory', 'pids'] } };
    expect(byName(diagnose(v1), 'cgroups')).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(/^v1:/) as unknown,
    });
  });

  it('warns of optional pieces: haproxy, skopeo/umoci, git, tini, user namespaces', () => {
    expect(statusOf(without(healthy, 'haproxy'), 'haproxy')).toBe('warn');
    expect(statusOf(without(healthy, 'umoci'), 'oci-tools')).toBe('warn');
    expect(statusOf(without(healthy, 'git'), 'git')).toBe('warn');
    expect(statusOf({ ...healthy, files: {} }, 'init')).toBe('warn');
    expect(statusOf({ ...healthy, maxUserNamespaces: 0 }, 'userns')).toBe('warn');
    const blocked = { ...healthy, home: { ...healthy.home, blockingAncestor: '/root' } };
    expect(byName(diagnose(blocked), 'userns').fix).toBe(
      'chmod o+x /root, or use another --home / INGOT_HOME',
    );
  });

  it("judges the home: missing is fine, others' write access or another owner is not", () => {
    const withHome = (stat: HostFacts['home']['stat'], uid = 0): HostFacts => ({
      ...healthy,
      uid,
      home: { ...healthy.home, stat },
    });
    expect(statusOf(withHome(null), 'home')).toBe('ok');
    expect(statusOf(withHome({ isDirectory: true, uid: 0, mode: 0o755 }), 'home')).toBe('warn');
    expect(statusOf(withHome({ isDirectory: true, uid: 0, mode: 0o775 }), 'home')).toBe('fail');
    expect(statusOf(withHome({ isDirectory: true, uid: 1000, mode: 0o700 }), 'home')).toBe('fail');
    expect(statusOf(withHome({ isDirectory: false, uid: 0, mode: 0o600 }), 'home')).toBe('fail');
    expect(byName(diagnose(withHome({ isDirectory: true, uid: 0, mode: 0o777 })), 'home').fix).toBe(
      'chmod 700 /var/lib/ingot',
    );
  });

  it('fails under the free-space floor, warns when low', () => {
    const free = (n: number | null) =>
      statusOf({ ...healthy, home: { ...healthy.home, freeBytes: n } }, 'disk');
    expect(free(MIN_FREE_BYTES - 1)).toBe('fail');
    expect(free(MIN_FREE_BYTES)).toBe('warn');
    expect(free(10 * 1024 ** 3)).toBe('ok');
    expect(free(null)).toBe('warn');
  });
});
