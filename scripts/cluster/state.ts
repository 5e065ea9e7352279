import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';

/**
 * Everything the local cluster is, in one folder: its state.json (what was started, with
 * pids), the engines' data, every server's and host's home, and the logs. `down`,
 * `kill-host` and the others read it from any shell.
 */

export const DEFAULT_DIR = '/var/tmp/ingot-local-cluster';
/** The file that says a folder is a local cluster's, so that `up` and `down` may empty it. */
const MARKER = '.ingot-local-cluster';
export const CONTEXT_NAME = 'local-cluster';

/** The state folder: INGOT_LOCAL_CLUSTER_DIR, else /var/tmp/ingot-local-cluster. */
export function stateDir(env: NodeJS.ProcessEnv): string {
  const dir = env['INGOT_LOCAL_CLUSTER_DIR'];
  if (dir === undefined || dir === '') return DEFAULT_DIR;
  if (!dir.startsWith('/'))
    throw new Error(`INGOT_LOCAL_CLUSTER_DIR must be an absolute path, got ${JSON.stringify(dir)}`);
  return dir;
}

/** A process the cluster started: its pid and what tells it apart from a later one of that pid. */
const proc = z.object({
  pid: z.number().int().positive(),
  start: z.string().nullable(),
  /** Its stdout and stderr. */
  log: z.string(),
});
export type Proc = z.infer<typeof proc>;

const clusterState = z.object({
  version: z.literal(1),
  /** The test bed's options: the same options name the same bed in any process. */
  bed: z.object({
    hosts: z.number().int().positive(),
    prefix: z.string(),
    linkSubnet: z.string(),
    instanceSubnets: z.string(),
  }),
  /** The context that was current before `up`, and whether there was a context file (for `down`). */
  contextsBefore: z.object({ previous: z.string().nullable(), fileExisted: z.boolean() }),
  etcd: z
    .object({
      endpoints: z.array(z.string()),
      members: z.array(proc.extend({ name: z.string() })),
      credentialsFile: z.string().nullable(),
    })
    .nullable(),
  postgres: proc.extend({ dir: z.string(), database: z.string().nullable() }).nullable(),
  registry: proc.extend({ authority: z.string() }).nullable(),
  keys: z.object({ private: z.string(), public: z.string() }).nullable(),
  servers: z.array(proc.extend({ name: z.string(), home: z.string(), url: z.string() })),
  agents: z.array(
    proc.extend({ n: z.number().int(), name: z.string(), home: z.string(), labels: z.string() }),
  ),
});
export type ClusterState = z.infer<typeof clusterState>;

/** The state folder and its state.json; `save` after every change, so `down` finds all of it. */
export class StateFolder {
  constructor(readonly dir: string) {}

  get file(): string {
    return join(this.dir, 'state.json');
  }

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  /** The cluster's state, or null if none is up (no state.json). */
  read(): ClusterState | null {
    if (!existsSync(this.file)) return null;
    const parsed = clusterState.safeParse(JSON.parse(readFileSync(this.file, 'utf8')));
    if (!parsed.success)
      throw new Error(
        `${this.file} is not a local cluster's state (${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}): remove what it started by hand, then the folder`,
      );
    return parsed.data;
  }

  save(state: ClusterState): void {
    writeFileSync(`${this.file}.tmp`, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
    renameSync(`${this.file}.tmp`, this.file);
  }

  /**
   * Make the folder for a new cluster: empty it if it is a local cluster's with none up (what
   * a failed `up` kept: its logs), refuse any other folder that is not empty. Others may pass
   * through it (0711), as the hosts' instances, in user namespaces, must reach their homes.
   */
  claim(): void {
    if (existsSync(this.file))
      throw new Error(
        `a local cluster is up in ${this.dir} (or was not taken down): run \`scripts/local-cluster down\` first`,
      );
    if (existsSync(this.dir) && readdirSync(this.dir).length > 0) {
      if (!existsSync(this.path(MARKER)))
        throw new Error(
          `${this.dir} is not empty and not a local cluster's folder: choose another with INGOT_LOCAL_CLUSTER_DIR`,
        );
      this.remove();
    }
    mkdirSync(this.dir, { recursive: true, mode: 0o711 });
    writeFileSync(this.path(MARKER), 'made by scripts/local-cluster up\n');
    mkdirSync(this.path('logs'), { mode: 0o700 });
  }

  /**
   * Remove the folder, if it is a local cluster's. Never through a mount: rm would empty
   * whatever is mounted there (an instance's rootfs, or worse), so a mount left is refused.
   */
  remove(): void {
    if (!existsSync(this.path(MARKER))) return;
    const mounts = mountsUnder(this.dir);
    if (mounts.length > 0)
      throw new Error(
        `${this.dir} is not removed: still mounted under it: ${mounts.join(', ')} (umount them, then run down again)`,
      );
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Forget the cluster (its state.json) but keep the logs, for after a failed `up`. */
  forget(): void {
    rmSync(this.file, { force: true });
  }
}

/** Mount points at or under `dir` in this mount namespace. */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
}
