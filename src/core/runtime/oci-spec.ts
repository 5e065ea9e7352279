import type { RuntimeContract } from '../../domain/baseline.js';
import { INIT_MOUNT_OPTIONS, INIT_MOUNT_POINT, withInit } from './init.js';
import type { IdMap } from './id-map.js';
import { instanceSeccomp } from './seccomp.js';

/** What an instance runs, after the image config and the fleet's settings are resolved. */
export interface InstanceSpecInput {
  /** Deterministic instance id: the container id and the hostname. */
  readonly id: string;
  /** Absolute path of the materialised, verified rootfs. */
  readonly rootfs: string;
  readonly process: {
    readonly args: readonly string[];
    readonly env: readonly string[];
    readonly cwd: string;
    readonly uid: number;
    readonly gid: number;
  };
  readonly runtime: RuntimeContract;
  /** Host folders for the contract's named volumes, by name. */
  readonly volumes: Readonly<Record<string, string>>;
  readonly resources: {
    readonly memoryBytes?: number;
    /** Fractional CPUs, e.g. 0.5. */
    readonly cpus?: number;
    readonly pids?: number;
  };
  /** Path of the instance's network namespace, or null for a private one with no links. */
  readonly netns: string | null;
  readonly cgroupsPath: string;
  /** The host folder holding the init, when the contract asks for one (init.ts). */
  readonly init?: string;
  /** The instance's user namespace: its ids on the host (null: the host's own, no userns). */
  readonly idMap?: IdMap | null;
  /** Path of that user namespace if it exists already (made with the network namespace). */
  readonly usernsPath?: string | null;
}

/** runc's defaults (`runc spec`): kernel interfaces a container must not read or change. */
export const MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/sys/firmware',
  '/proc/scsi',
  // Not in runc 1.1's list; moby masks it: energy counters leak what other tenants run.
  '/sys/devices/virtual/powercap',
] as const;
export const READONLY_PATHS = [
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
] as const;

/** Mount points every instance has besides the contract's: created in each rootfs. */
export const STANDARD_MOUNT_POINTS = ['/proc', '/dev', '/sys'] as const;

/** Options of the contract's writable paths: nothing there may be run, set-id or a device. */
export const TMPFS_OPTIONS = ['nosuid', 'nodev', 'noexec', 'mode=1777'] as const;
const DEFAULT_TMPFS_BYTES = 64 * 1024 * 1024;
const CPU_PERIOD_US = 100_000;

/**
 * The OCI runtime config of one instance. Pure. Immutability is decided here: the root is
 * read-only, no process can gain privileges, no capability is granted unless the artifact
 * declares it, the only writable places are the contract's tmpfs paths (never executable)
 * and its named volumes, and no process mounts anything or touches the kernel (seccomp.ts).
 */
/** An OCI runtime config, typed as far as Ingot reads it back (the mount check). */
export type RuntimeSpec = Record<string, unknown> & {
  root: { path: string; readonly: boolean };
  mounts: { destination: string; options: string[]; [k: string]: unknown }[];
  linux: { maskedPaths: string[]; readonlyPaths: string[]; [k: string]: unknown };
};

export function buildRuntimeSpec(input: InstanceSpecInput): RuntimeSpec {
  const caps = [...new Set(input.runtime.capabilities)].sort();
  const mounts: RuntimeSpec['mounts'] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'noexec', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
    },
    {
      destination: '/dev/mqueue',
      type: 'mqueue',
      source: 'mqueue',
      options: ['nosuid', 'noexec', 'nodev'],
    },
    {
      destination: '/sys',
      type: 'sysfs',
      source: 'sysfs',
      options: ['nosuid', 'noexec', 'nodev', 'ro'],
    },
    ...input.runtime.tmpfs.map((t) => ({
      destination: t.path,
      type: 'tmpfs',
      source: 'tmpfs',
      options: [...TMPFS_OPTIONS, `size=${t.sizeBytes ?? DEFAULT_TMPFS_BYTES}`],
    })),
    ...input.runtime.volumes.map((v) => {
      const source = input.volumes[v.name];
      if (source === undefined) throw new Error(`no host folder for volume ${v.name}`);
      // Data, not code: a volume is never a way to run something the measurement lacks.
      return {
        destination: v.path,
        type: 'bind',
        source,
        options: ['rbind', 'rw', 'nosuid', 'nodev', 'noexec', 'rprivate'],
      };
    }),
    ...(input.init === undefined
      ? []
      : [
          {
            destination: INIT_MOUNT_POINT,
            type: 'bind',
            source: input.init,
            options: [...INIT_MOUNT_OPTIONS],
          },
        ]),
  ];
  const r = input.resources;
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: input.process.uid, gid: input.process.gid },
      args: input.init === undefined ? [...input.process.args] : withInit(input.process.args),
      env: [...input.process.env],
      cwd: input.process.cwd,
      capabilities: {
        bounding: caps,
        effective: caps,
        permitted: caps,
        ambient: caps,
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: input.rootfs, readonly: true },
    hostname: input.id,
    mounts,
    linux: {
      cgroupsPath: input.cgroupsPath,
      resources: {
        devices: [{ allow: false, access: 'rwm' }],
        ...(r.memoryBytes !== undefined && {
          memory: { limit: r.memoryBytes, swap: r.memoryBytes },
        }),
        ...(r.cpus !== undefined && {
          cpu: { quota: Math.max(1000, Math.round(r.cpus * CPU_PERIOD_US)), period: CPU_PERIOD_US },
        }),
        ...(r.pids !== undefined && { pids: { limit: r.pids } }),
      },
      namespaces: [
        { type: 'pid' },
        input.netns === null ? { type: 'network' } : { type: 'network', path: input.netns },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
        ...userNamespace(input),
      ],
      ...idMappings(input.idMap ?? null),
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
      seccomp: instanceSeccomp({ capabilities: caps, deny: input.runtime.seccomp?.deny ?? [] }),
    },
  };
}

/**
 * The instance's user namespace: the one its network namespace was made in (usernsPath),
 * so that it owns that network namespace: the kernel then lets it mount its own sysfs, and
 * `runc exec` (break-glass) can join both. Without a path runc makes a new one.
 */
function userNamespace(input: InstanceSpecInput): { type: 'user'; path?: string }[] {
  if (!input.idMap) return [];
  return [input.usernsPath ? { type: 'user', path: input.usernsPath } : { type: 'user' }];
}

/** Root inside is `idMap.hostId` outside; uids and gids alike. */
function idMappings(idMap: IdMap | null): Record<string, unknown> {
  if (idMap === null) return {};
  const one = [{ containerID: 0, hostID: idMap.hostId, size: idMap.size }];
  return { uidMappings: one, gidMappings: one.map((m) => ({ ...m })) };
}
