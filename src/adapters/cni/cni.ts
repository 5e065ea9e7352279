import { execFile, spawn } from 'node:child_process';
import {
  closeSync,
  constants,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { digestHex, digestOf } from '../../domain/digest.js';
import { IngotError } from '../../domain/errors.js';
import type { IdMap } from '../../core/runtime/id-map.js';
import type { Attachment, Network } from '../../ports/network.js';
import { addUserNetns, removeUserns } from './user-netns.js';

const run = promisify(execFile);

/** Where Debian's containernetworking-plugins put the plugins, which the agent runs. */
export const CNI_PLUGIN_DIR = '/usr/lib/cni';

export interface CniOptions {
  /** Folder of the plugin binaries (Debian: /usr/lib/cni). */
  readonly pluginDir: string;
  /** Bridge device the instances share; created by the plugin on first use. */
  readonly bridge: string;
  /** IPv4 subnet instances get addresses from, e.g. "10.88.0.0/24". */
  readonly subnet: string;
  /**
   * Networks instances get a route to, through the bridge's address (host-local puts them
   * in its result, the bridge plugin adds them with the gateway). None by default: an
   * instance reaches its own subnet only, which is all one host needs.
   */
  readonly routes?: readonly string[];
  /**
   * Where host-local IPAM keeps its allocations: one folder for the host (default
   * /run/ingot/ipam), as the bridge is one for the host. Homes that kept their own handed
   * out the same addresses on a shared bridge.
   */
  readonly ipamDir?: string;
  /** This home's network state: what it created, and the scope of its namespace names. */
  readonly stateDir: string;
  /** Network name in the CNI config (also names IPAM's folder). */
  readonly name: string;
}

interface CniResult {
  ips?: { address: string }[];
}

const NETNS_DIR = '/run/netns';
/** Host-wide state of Ingot's bridges: locks, IPAM (see lockFile, ipamDir). */
const RUN_DIR = '/run/ingot';
/** How long a bridge ADD or release waits for the other before it fails. */
const LOCK_WAIT_S = '30';

/**
 * Networking through the CNI plugins, invoked as the CNI spec says: the command and the
 * container in environment variables, the network config on stdin, the result on stdout.
 * bridge + host-local IPAM give each instance an address on a host bridge; loopback brings
 * up `lo`. No IP masquerading, so nothing is added to iptables.
 */
export class CniNetwork implements Network {
  private ipamReady = false;
  /** Made once: every instance start goes through it. */
  private lock: string | null = null;

  constructor(private readonly options: CniOptions) {}

  /**
   * Namespace names are global to the machine, instance ids only to one $INGOT_HOME: the
   * name carries a digest of this network's IPAM folder, so two Ingots never share one.
   */
  private netnsName(id: string): string {
    const scope = digestHex(digestOf(this.options.stateDir)).slice(0, 8);
    return `ingot-${scope}-${id}`;
  }

  private configs(): Record<string, unknown>[] {
    const o = this.options;
    return [
      { cniVersion: '1.0.0', name: `${o.name}-lo`, type: 'loopback' },
      {
        cniVersion: '1.0.0',
        name: o.name,
        type: 'bridge',
        bridge: o.bridge,
        isGateway: true,
        ipMasq: false,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: o.subnet }]],
          ...(o.routes !== undefined &&
            o.routes.length > 0 && { routes: o.routes.map((dst) => ({ dst })) }),
          dataDir: this.ipamDir(),
        },
      },
    ];
  }

  private plugin(
    command: 'ADD' | 'DEL',
    id: string,
    config: Record<string, unknown>,
  ): Promise<CniResult> {
    const type = String(config['type']);
    const ifname = type === 'loopback' ? 'lo' : 'eth0';
    const plugin = join(this.options.pluginDir, type);
    if (!existsSync(plugin))
      return Promise.reject(
        new IngotError(
          'E_NETWORK_MISSING',
          `CNI plugin ${plugin} is missing (run ./scripts/setup)`,
        ),
      );
    // Adding to the bridge holds the host-wide lock shared, so that no release (held
    // exclusive) deletes the bridge between its creation and the first port joining it.
    const [file, args] =
      command === 'ADD' && type === 'bridge'
        ? ['flock', ['-s', '-w', LOCK_WAIT_S, this.lockFile(), plugin]]
        : [plugin, []];
    return new Promise((resolve, reject) => {
      const child = spawn(file, args, {
        env: {
          PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
          CNI_COMMAND: command,
          CNI_CONTAINERID: id,
          CNI_NETNS: join(NETNS_DIR, this.netnsName(id)),
          CNI_IFNAME: ifname,
          CNI_PATH: this.options.pluginDir,
        },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', (e) =>
        reject(
          new IngotError(
            'E_NETWORK_MISSING',
            `CNI plugin ${type}: ${e.message} (run ./scripts/setup)`,
          ),
        ),
      );
      child.on('close', (code) => {
        if (code === 0) {
          try {
            resolve(out.trim() === '' ? {} : (JSON.parse(out) as CniResult));
          } catch {
            reject(
              new IngotError('E_NETWORK', `CNI ${type} ${command} for ${id}: output is not JSON`),
            );
          }
          return;
        }
        let msg = err.trim() || out.trim();
        try {
          const parsed = JSON.parse(out) as { msg?: string; details?: string };
          msg = [parsed.msg, parsed.details].filter(Boolean).join(': ');
        } catch {
          // not JSON: keep the raw text
        }
        reject(new IngotError('E_NETWORK', `CNI ${type} ${command} for ${id}: ${msg}`));
      });
      child.stdin.end(JSON.stringify(config));
    });
  }

  async prepare(
    id: string,
    idMap: IdMap | null = null,
  ): Promise<{ netns: string; userns: string | null }> {
    const netns = join(NETNS_DIR, this.netnsName(id));
    const userns = this.usernsFile(id);
    if (!existsSync(netns))
      if (idMap === null) await run('ip', ['netns', 'add', this.netnsName(id)]);
      else await addUserNetns(this.netnsName(id), userns, idMap);
    return { netns, userns: existsSync(userns) ? userns : null };
  }

  /** Where the user namespace an instance's netns was made in is kept (user-netns.ts). */
  private usernsFile(id: string): string {
    return join(RUN_DIR, 'user-ns', this.netnsName(id));
  }

  async attach(id: string): Promise<Attachment> {
    const { netns } = await this.prepare(id);
    const creating = !existsSync(join('/sys/class/net', this.options.bridge));
    try {
      // loopback and bridge touch different interfaces: add them together.
      const results = await Promise.all(
        this.configs().map((c) => this.plugin('ADD', id, c)),
      ).finally(() => {
        if (creating) this.markCreated();
      });
      // The bridge's result carries the instance's address (loopback reports 127.0.0.1).
      const ip = results[1]?.ips?.[0]?.address;
      const address = ip?.split('/')[0] ?? '';
      if (!address) throw new IngotError('E_NETWORK', `CNI gave ${id} no address`);
      await this.forgetNeighbour(address);
      return { netns, address };
    } catch (err) {
      await this.detach(id).catch(() => undefined);
      throw err;
    }
  }

  /** Every step runs even if an earlier one failed; the first failure is reported. */
  async detach(id: string): Promise<void> {
    const errors: unknown[] = [];
    const released = await this.find(id);
    for (const config of this.configs().reverse())
      await this.plugin('DEL', id, config).catch((err: unknown) => errors.push(err));
    // The address goes back to host-local's pool; the host must not keep its MAC either.
    if (released)
      await this.forgetNeighbour(released.address).catch((err: unknown) => errors.push(err));
    if (existsSync(join(NETNS_DIR, this.netnsName(id))))
      await run('ip', ['netns', 'delete', this.netnsName(id)]).catch((err: unknown) =>
        errors.push(
          new IngotError('E_NETWORK', `ip netns delete ${this.netnsName(id)}: ${String(err)}`),
        ),
      );
    await removeUserns(this.usernsFile(id)).catch((err: unknown) => errors.push(err));
    if (errors.length > 0) throw errors[0];
  }

  /**
   * Drop the host's neighbour entry for `address` on the bridge. host-local hands addresses
   * out round robin, so an address comes back to a new instance with a new MAC; while the
   * host still holds the old MAC (REACHABLE for up to 45 s, then STALE, DELAY, unicast
   * probes) it sends the new instance's traffic nowhere for 5-10 s: health checks fail and
   * a healthy release is rolled back. Without an entry the first packet asks by broadcast,
   * which the new instance answers at once.
   */
  private async forgetNeighbour(address: string): Promise<void> {
    // The address came from host-local or from the instance's own namespace: check it all
    // the same before it goes into a command line.
    if (isIP(address) !== 4) throw new IngotError('E_NETWORK', `not an IPv4 address: ${address}`);
    try {
      await run('ip', ['neigh', 'flush', 'to', address, 'dev', this.options.bridge]);
    } catch (err) {
      throw new IngotError(
        'E_NETWORK',
        `ip neigh flush ${address} on ${this.options.bridge}: ${String(err)}`,
      );
    }
  }

  /**
   * Only a bridge this home created (never one that was there before, such as docker0),
   * only while it is a bridge with no port (another home may share it), and under the
   * host-wide lock every ADD holds shared, so no instance joins it meanwhile.
   */
  async release(): Promise<void> {
    const { bridge } = this.options;
    let mark: string;
    try {
      mark = readFileSync(this.createdMarker(), 'utf8').trim();
    } catch {
      return; // not ours
    }
    // Still the very device this home created (same boot, same ifindex), still a bridge,
    // and no port on it: checked and deleted under the lock, so no ADD comes between.
    const script = [
      'd="/sys/class/net/$BR"',
      'if [ -d "$d/bridge" ] && [ -z "$(ls -A "$d/brif")" ] &&',
      '  [ "$(cat /proc/sys/kernel/random/boot_id) $(cat "$d/ifindex")" = "$MARK" ]; then',
      '  ip link delete "$BR"',
      'fi',
    ].join('\n');
    try {
      await run('flock', ['-x', '-w', LOCK_WAIT_S, this.lockFile(), 'sh', '-c', script], {
        env: {
          PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
          BR: bridge,
          MARK: mark,
        },
      });
    } catch (err) {
      throw new IngotError('E_NETWORK', `removing the bridge ${bridge}: ${String(err)}`);
    }
    if (!existsSync(join('/sys/class/net', bridge))) rmSync(this.createdMarker(), { force: true });
  }

  /**
   * Note that this home created the bridge: which boot and which device, so that a bridge
   * of the same name made later by someone else is never taken for it. Written whether
   * the first ADD worked or not, as the plugin creates the bridge before it can fail.
   */
  private markCreated(): void {
    const dev = join('/sys/class/net', this.options.bridge);
    try {
      const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
      const ifindex = readFileSync(join(dev, 'ifindex'), 'utf8').trim();
      mkdirSync(this.options.stateDir, { recursive: true, mode: 0o700 });
      writeFileSync(this.createdMarker(), `${boot} ${ifindex}\n`, { mode: 0o600 });
    } catch {
      // no bridge came of it: nothing to take away later
    }
  }

  private createdMarker(): string {
    return join(this.options.stateDir, `created-${this.options.bridge}`);
  }

  /**
   * One per bridge on the host, whichever home uses it, in a folder only root can write:
   * in world-writable /run/lock any user could hold it and stall every instance start.
   */
  private lockFile(): string {
    if (this.lock) return this.lock;
    const dir = privateDir(RUN_DIR);
    const path = join(dir, `cni-${this.options.bridge.replace(/[^A-Za-z0-9_.-]/g, '_')}.lock`);
    closeSync(openSync(path, constants.O_CREAT | constants.O_WRONLY | constants.O_NOFOLLOW, 0o600));
    return (this.lock = path);
  }

  /**
   * host-local's folder, made private; on first use, the allocations this home kept in its
   * own folder (Ingot before the folder was shared) are carried over, so that no address
   * of an instance still running is handed out again.
   */
  private ipamDir(): string {
    const dir = this.options.ipamDir ?? join(RUN_DIR, 'ipam');
    if (this.ipamReady) return dir;
    privateDir(dirname(dir));
    privateDir(dir);
    const old = join(this.options.stateDir, this.options.name);
    const shared = join(dir, this.options.name);
    if (existsSync(old)) {
      mkdirSync(shared, { recursive: true, mode: 0o700 });
      for (const f of readdirSync(old))
        if (isIP(f) && !existsSync(join(shared, f))) copyFileSync(join(old, f), join(shared, f));
    }
    this.ipamReady = true;
    return dir;
  }

  async find(id: string): Promise<Attachment | null> {
    const netns = join(NETNS_DIR, this.netnsName(id));
    if (!existsSync(netns)) return null;
    try {
      const { stdout } = await run('ip', [
        '-netns',
        this.netnsName(id),
        '-4',
        '-o',
        'addr',
        'show',
        'dev',
        'eth0',
      ]);
      const address = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(stdout)?.[1];
      return address ? { netns, address } : null;
    } catch {
      return null;
    }
  }
}

/**
 * A folder only this user (root) can write, made if missing: one writable by others would
 * let any user hold the bridge lock or forge address allocations.
 */
function privateDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== process.getuid?.() || (st.mode & 0o022) !== 0)
    throw new IngotError(
      'E_NETWORK',
      `${dir} must be a folder owned by this user and writable by no one else`,
    );
  return dir;
}
