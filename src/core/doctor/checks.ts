import type { HostFacts } from './facts.js';

/** One finding of `ingot doctor`. `warn`: an optional piece is missing, or a risk; not fatal. */
export interface Check {
  readonly name: string;
  readonly status: 'ok' | 'fail' | 'warn';
  /** Whether Ingot needs it to run instances on this machine (a failure makes exit 1). */
  readonly required: boolean;
  readonly detail: string;
  /** What to do about it; absent when it is ok. */
  readonly fix?: string;
}

/** The CNI plugins the agent's network configuration names (adapters/cni/cni.ts). */
export const CNI_PLUGINS = ['loopback', 'bridge', 'host-local'] as const;
/** Controllers an instance's limits need: resources.memory, .cpus, .pids. */
export const CGROUP_CONTROLLERS = ['memory', 'cpu', 'pids'] as const;
/** The file `runtime: init: true` copies into an instance (adapters/init). */
export const INIT_BINARY = '/usr/bin/tini-static';
/** Below this, a build or a rootfs fails half-way: refuse to call the machine ready. */
export const MIN_FREE_BYTES = 512 * 1024 ** 2;
/** Below this, say so: a few images and their unpacked roots fill it. */
export const LOW_FREE_BYTES = 2 * 1024 ** 3;

const SETUP = './scripts/setup';
const ok = (name: string, required: boolean, detail: string): Check => ({
  name,
  status: 'ok',
  required,
  detail,
});
const bad = (name: string, required: boolean, detail: string, fix: string): Check => ({
  name,
  status: required ? 'fail' : 'warn',
  required,
  detail,
  fix,
});

/**
 * Judge the facts of a machine: what Ingot needs to run instances here, and what it can use.
 * Pure and total: every fact has a verdict, and every verdict that is not ok says what to do.
 */
export function diagnose(f: HostFacts): Check[] {
  return [
    root(f),
    node(f),
    program(f, 'runc', true, 'runs every instance', `${SETUP} (Debian package runc)`),
    cni(f),
    cgroups(f),
    f.seccomp === true
      ? ok('seccomp', true, 'the kernel filters system calls (every instance has a filter)')
      : bad(
          'seccomp',
          true,
          f.seccomp === null
            ? 'cannot tell whether the kernel has seccomp'
            : 'the kernel has no seccomp',
          'a kernel built with CONFIG_SECCOMP_FILTER (every distribution kernel is)',
        ),
    netns(f),
    programs(
      f,
      'util-linux',
      ['flock', 'nsenter', 'unshare'],
      true,
      'locks, debug sessions, user namespaces',
      `${SETUP} (Debian package util-linux)`,
    ),
    program(
      f,
      'python3',
      true,
      "the agent's process-event helper",
      `${SETUP} (Debian package python3)`,
    ),
    program(f, 'perl', true, "each instance's runc shim", `${SETUP} (Debian package perl-base)`),
    userNamespaces(f),
    f.files[INIT_BINARY] === true
      ? ok('init', false, `${INIT_BINARY} (optional: images with runtime: init: true)`)
      : bad(
          'init',
          false,
          `${INIT_BINARY} is missing (optional: images with runtime: init: true cannot start)`,
          `${SETUP} (Debian package tini)`,
        ),
    program(
      f,
      'git',
      false,
      'optional: provenance names the commit a build came from',
      `${SETUP} (Debian package git)`,
    ),
    program(
      f,
      'haproxy',
      false,
      'optional: the edge in front of fleets with a service',
      `${SETUP} (Debian package haproxy)`,
    ),
    programs(
      f,
      'oci-tools',
      ['skopeo', 'umoci'],
      false,
      'optional: interop and the tests',
      `${SETUP} (Debian packages skopeo, umoci)`,
    ),
    home(f),
    disk(f),
  ];
}

/** 1 when a required check failed, else 0: what `ingot doctor` exits with. */
export function doctorExitCode(checks: readonly Check[]): 0 | 1 {
  return checks.some((c) => c.required && c.status === 'fail') ? 1 : 0;
}

function root(f: HostFacts): Check {
  return f.uid === 0
    ? ok('root', true, 'running as root')
    : bad(
        'root',
        true,
        `running as uid ${f.uid ?? 'unknown'}: instances need root (namespaces, cgroups, networks); build, verify and key work without it`,
        'run `ingot up` (and this check) as root, e.g. with sudo',
      );
}

function node(f: HostFacts): Check {
  const [major = 0, minor = 0] = f.node.split('.').map((n) => Number(n));
  return major > 20 || (major === 20 && minor >= 19)
    ? ok('node', true, `Node.js ${f.node}`)
    : bad('node', true, `Node.js ${f.node} is older than 20.19`, 'install Node.js 20.19 or later');
}

function program(f: HostFacts, name: string, required: boolean, why: string, fix: string): Check {
  const path = f.programs[name] ?? null;
  return path !== null
    ? ok(name, required, `${path} (${why})`)
    : bad(name, required, `${name} is not on PATH (${why})`, fix);
}

function programs(
  f: HostFacts,
  name: string,
  names: readonly string[],
  required: boolean,
  why: string,
  fix: string,
): Check {
  const missing = names.filter((n) => (f.programs[n] ?? null) === null);
  return missing.length === 0
    ? ok(name, required, `${names.join(', ')} (${why})`)
    : bad(name, required, `${missing.join(', ')} not on PATH (${why})`, fix);
}

function cni(f: HostFacts): Check {
  const missing = CNI_PLUGINS.filter((p) => !f.cni.plugins.includes(p));
  return missing.length === 0
    ? ok('cni', true, `${CNI_PLUGINS.join(', ')} in ${f.cni.dir}`)
    : bad(
        'cni',
        true,
        `CNI plugin(s) ${missing.join(', ')} missing from ${f.cni.dir}`,
        `${SETUP} (Debian package containernetworking-plugins)`,
      );
}

function cgroups(f: HostFacts): Check {
  const { unified, v1 } = f.cgroups;
  const have = new Set([...(unified ?? []), ...v1]);
  const missing = CGROUP_CONTROLLERS.filter((c) => !have.has(c));
  const layout =
    unified !== null && v1.length === 0 ? 'v2' : unified === null ? 'v1' : 'hybrid v1/v2';
  return missing.length === 0
    ? ok('cgroups', true, `${layout}: ${CGROUP_CONTROLLERS.join(', ')} controllers`)
    : bad(
        'cgroups',
        true,
        `${layout}: no ${missing.join(', ')} controller (instances' resources cannot be limited)`,
        `enable the controller(s) ${missing.join(', ')} (kernel command line cgroup_enable=…, or in the parent's cgroup.subtree_control)`,
      );
}

function netns(f: HostFacts): Check {
  if (!f.netns)
    return bad(
      'netns',
      true,
      'the kernel has no network namespaces',
      'a kernel with CONFIG_NET_NS',
    );
  return f.programs['ip'] !== undefined && f.programs['ip'] !== null
    ? ok('netns', true, `network namespaces, ${f.programs['ip']}`)
    : bad(
        'netns',
        true,
        'ip (iproute2) is not on PATH: no network namespaces can be made',
        `${SETUP} (Debian package iproute2)`,
      );
}

function userNamespaces(f: HostFacts): Check {
  const name = 'userns';
  if (f.maxUserNamespaces === null || f.maxUserNamespaces === 0)
    return bad(
      name,
      false,
      "optional: the kernel allows no user namespaces, so instances run with the host's ids (root inside is root outside)",
      'sysctl -w user.max_user_namespaces=15000',
    );
  if (f.home.blockingAncestor !== null)
    return bad(
      name,
      false,
      `optional: ${f.home.blockingAncestor} (above the home) cannot be passed by other users, so instances run with the host's ids`,
      `chmod o+x ${f.home.blockingAncestor}, or use another --home / INGOT_HOME`,
    );
  return ok(name, false, `instances get their own ids (up to ${f.maxUserNamespaces} namespaces)`);
}

function home(f: HostFacts): Check {
  const { path, stat } = f.home;
  if (stat === null) return ok('home', true, `${path} (made 0700 on first use)`);
  if (!stat.isDirectory)
    return bad(
      'home',
      true,
      `${path} is not a folder`,
      `move it aside, or use another --home / INGOT_HOME`,
    );
  if (f.uid !== undefined && stat.uid !== f.uid)
    return bad(
      'home',
      true,
      `${path} belongs to uid ${stat.uid}, not to this user (${f.uid})`,
      `chown ${f.uid} ${path}, or use another --home / INGOT_HOME`,
    );
  const mode = stat.mode & 0o777;
  const octal = mode.toString(8).padStart(3, '0');
  if ((mode & 0o022) !== 0)
    return bad(
      'home',
      true,
      `${path} is mode ${octal}: others can write to it (the token, keys and state are in it)`,
      `chmod 700 ${path}`,
    );
  if ((mode & 0o044) !== 0)
    return bad(
      'home',
      false,
      `${path} is mode ${octal}: others can list it (\`ingot up\` takes that away)`,
      `chmod 700 ${path}`,
    );
  return ok('home', true, `${path} (mode ${octal}, yours)`);
}

function disk(f: HostFacts): Check {
  const free = f.home.freeBytes;
  const gib = (n: number) => `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (free === null)
    return bad('disk', false, `cannot tell the free space for ${f.home.path}`, 'check with df');
  if (free < MIN_FREE_BYTES)
    return bad(
      'disk',
      true,
      `${gib(free)} free for ${f.home.path}: builds and instances' roots will not fit`,
      'free space there, or use a --home / INGOT_HOME on a larger file system',
    );
  if (free < LOW_FREE_BYTES)
    return bad(
      'disk',
      false,
      `only ${gib(free)} free for ${f.home.path}`,
      'free space there, or use a --home / INGOT_HOME on a larger file system',
    );
  return ok('disk', true, `${gib(free)} free for ${f.home.path}`);
}

/** What `ingot doctor` looks for on PATH: what the agent, CNI and the edge run. */
export const DOCTOR_PROGRAMS = [
  'runc',
  'ip',
  'flock',
  'nsenter',
  'unshare',
  'python3',
  'perl',
  'git',
  'haproxy',
  'skopeo',
  'umoci',
];
