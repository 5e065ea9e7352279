import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testbed, type Testbed } from '../src/adapters/netns-testbed/index.js';
import { hostResidue, removeNet, requireHost, sleep } from './helpers/agent.js';
import { INGOT_BIN, ingot } from './helpers/cli.js';
import { passableTempDir } from './helpers/fs.js';
import { HELLO, type FleetJson } from './helpers/server.js';

/**
 * Issue 18's test bed: two hosts, each a network namespace with its own link, instance
 * subnet and today's single-host Ingot (`ingot up`: API, controller and a local agent running
 * runc instances on a CNI bridge). Instances on different hosts reach each other and the
 * root namespace (where the cluster's servers will listen) once `--route` gives them a way
 * off their own subnet; a cut host is cut off and comes back; a `runc exec` on a host is
 * still seen (the proc connector answers only in the initial network namespace:
 * proc-events.ts); and the bed leaves nothing behind.
 */

// Names and subnets of this run's own, so that a local cluster or another run can coexist.
const tag = process.pid.toString(36);
const octet = (n: number) => Math.floor(Math.random() * n);
const INDEX = readFileSync(join(HELLO, 'www/index.html'), 'utf8');

interface HostIngot {
  readonly home: string;
  readonly env: NodeJS.ProcessEnv;
}

describe('hosts as network namespaces, each running ingot up', () => {
  let root = '';
  let bed: Testbed;
  let server: Server | null = null;
  let serverUrl = '';
  const hosts: HostIngot[] = [];
  /** Hosts whose Ingot the last test stopped already. */
  const stopped = new Set<number>();
  /** Instances entered by hand (then replaced): their remains are checked for too. */
  const entered: string[] = [];
  /** Address of each host's instance, by host number. */
  const address = new Map<number, string>();

  /** The built CLI, run inside host `n` with that host's home. */
  const cli = async (n: number, ...args: string[]) => {
    const r = await bed.run(n, [process.execPath, INGOT_BIN, ...args], {
      env: hosts[n - 1]!.env,
    });
    return { code: r.code, out: `${r.stdout}${r.stderr}`, stdout: r.stdout };
  };
  const instances = async (n: number, fleet: string) => {
    const r = await cli(n, 'status', '-o', 'json');
    expect(r.code, r.out).toBe(0);
    return (JSON.parse(r.stdout) as FleetJson[]).find((f) => f.name === fleet)?.instances ?? [];
  };
  /** GET from the root namespace, or null if nothing answers within `ms`. */
  const get = async (url: string, ms = 1000): Promise<string | null> => {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(ms) });
      return res.ok ? await res.text() : null;
    } catch {
      return null;
    }
  };
  const eventually = async (what: () => Promise<boolean>, ms: number) => {
    const until = Date.now() + ms;
    while (!(await what())) {
      if (Date.now() > until) return false;
      await sleep(100);
    }
    return true;
  };

  beforeAll(async () => {
    requireHost();
    root = passableTempDir('ingot-netns-');
    bed = testbed({
      hosts: 2,
      prefix: `nt${tag}`,
      linkSubnet: `10.86.${octet(256)}.0/24`,
      instanceSubnets: `10.${140 + octet(60)}.0.0/16`,
    });
    await bed.create();
    // A server in the root namespace, where the cluster's servers will listen.
    server = createServer((_, res) => res.end('server\n'));
    await new Promise<void>((r) => server!.listen(0, bed.gateway, r));
    const port = (server.address() as { port: number }).port;
    serverUrl = `${bed.gateway}:${port}`;

    for (const host of bed.hosts) {
      const home = join(root, `h${host.n}`, 'home');
      hosts.push({ home, env: { ...process.env, INGOT_HOME: home } });
      const up = await cli(
        host.n,
        'up',
        '--detach',
        '--bridge',
        host.bridge,
        '--subnet',
        host.instanceSubnet,
        // Off their own subnet, instances have no route unless given one.
        '--route',
        bed.instanceSubnets,
        '--route',
        bed.linkSubnet,
        '--cgroup-parent',
        `/ingot-test-${host.bridge}`,
        '--stop-grace',
        '1',
      );
      expect(up.code, up.out).toBe(0);
    }

    // Host 2 serves examples/hello.
    expect((await cli(2, 'build', '-q', HELLO)).code).toBe(0);
    const helloFleet = join(root, 'hello.yaml');
    writeFileSync(helloFleet, 'name: hello\nartifact: hello:1.0.0\nreplicas: 1\n');
    const deployed = await cli(2, 'deploy', helloFleet, '--wait');
    expect(deployed.code, deployed.out).toBe(0);
    address.set(2, (await instances(2, 'hello'))[0]!.address!);

    // Host 1 runs a client of it: healthy only once it fetched host 2's page by its address;
    // it fetches the root namespace's server too. What it got, it serves from its tmpfs.
    // (No `wget -T`: Debian's static busybox 1.35 crashes with it.)
    const client = join(root, 'peer');
    cpSync(HELLO, client, { recursive: true, verbatimSymlinks: true });
    const loop = [
      'mkdir -p /tmp/www',
      'while :; do',
      '  wget -q -O /tmp/www/peer.new "http://$PEER:8080/" &&',
      '    mv /tmp/www/peer.new /tmp/www/peer && echo ok > /tmp/www/healthz;',
      '  wget -q -O /tmp/www/server "http://$SERVER/";',
      '  sleep 0.5;',
      'done &',
      'exec httpd -f -p 8080 -h /tmp/www',
    ].join('\n');
    writeFileSync(
      join(client, 'ingot.yaml'),
      readFileSync(join(HELLO, 'ingot.yaml'), 'utf8')
        .replace(/^name: hello$/m, 'name: peer')
        .replace(
          /^ {2}entrypoint: .*$/m,
          `  entrypoint: [/bin/busybox, sh, -c, ${JSON.stringify(loop)}]`,
        ),
    );
    expect((await cli(1, 'build', '-q', client)).code).toBe(0);
    const peerFleet = join(root, 'peer.yaml');
    writeFileSync(
      peerFleet,
      [
        'name: peer',
        'artifact: peer:1.0.0',
        'replicas: 1',
        'progressDeadline: 1m',
        'env:',
        `  PEER: '${address.get(2)}'`,
        `  SERVER: '${serverUrl}'`,
        '',
      ].join('\n'),
    );
    const peer = await cli(1, 'deploy', peerFleet, '--wait');
    expect(peer.code, peer.out).toBe(0);
    address.set(1, (await instances(1, 'peer'))[0]!.address!);
  }, 240_000);

  afterAll(async () => {
    // Only if a test failed before the last one cleaned up: nothing of it may stay behind.
    for (const [i, h] of hosts.entries()) {
      if (stopped.has(i + 1)) continue;
      if (existsSync(`/run/netns/${bed.host(i + 1).netns}`))
        await cli(i + 1, 'down', '--stop-instances');
      else ingot(['down', '--stop-instances'], { env: { INGOT_HOME: h.home } });
    }
    await bed?.destroy().catch(() => undefined);
    for (const host of bed?.hosts ?? [])
      removeNet({ bridge: host.bridge, subnet: host.instanceSubnet });
    server?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  }, 120_000);

  it('each host keeps its instances in its own namespace, on its own subnet', async () => {
    for (const host of bed.hosts) {
      expect(address.get(host.n)).toMatch(
        new RegExp(`^${host.instanceSubnet.split('.').slice(0, 3).join('\\.')}\\.`),
      );
      // The instance bridge is the host's, and Ingot sees it as such through /sys.
      expect(spawnSync('ip', ['link', 'show', host.bridge]).status).not.toBe(0);
      expect((await bed.run(host.n, ['ip', 'link', 'show', host.bridge])).code).toBe(0);
      expect(existsSync(join(hosts[host.n - 1]!.home, 'cni', `created-${host.bridge}`))).toBe(true);
    }
  });

  it('an instance on host 1 reaches one on host 2 and the servers; the root namespace reaches both', async () => {
    // What host 1's instance fetched from host 2's, by its address, and from the server.
    expect(await get(`http://${address.get(1)}:8080/peer`)).toBe(INDEX);
    expect(
      await eventually(
        async () => (await get(`http://${address.get(1)}:8080/server`)) === 'server\n',
        10_000,
      ),
    ).toBe(true);
    expect(await get(`http://${address.get(2)}:8080/`)).toBe(INDEX);
  });

  it('a cut host is unreachable both ways until it is healed', async () => {
    // A process on the host itself (not in an instance) asks the server, for at most 1 s.
    const ask = `fetch(${JSON.stringify(`http://${serverUrl}/`)}, { signal: AbortSignal.timeout(1000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`;
    const hostToServer = async (n: number) =>
      (await bed.run(n, [process.execPath, '-e', ask])).code === 0;
    expect(await hostToServer(1)).toBe(true);
    await bed.cut(1);
    try {
      expect(await get(`http://${address.get(1)}:8080/peer`)).toBeNull();
      expect(await hostToServer(1)).toBe(false);
      // Host 2 is not affected.
      expect(await get(`http://${address.get(2)}:8080/`)).toBe(INDEX);
      expect(await hostToServer(2)).toBe(true);
    } finally {
      await bed.heal(1);
    }
    expect(
      await eventually(
        async () => (await get(`http://${address.get(1)}:8080/peer`)) === INDEX,
        10_000,
      ),
    ).toBe(true);
    expect(await hostToServer(1)).toBe(true);
  });

  it('a runc exec into an instance on a host is seen, recorded and taints it', async () => {
    const home = hosts[1]!.home;
    const [instance] = await instances(2, 'hello');
    const pidFile = join(root, 'exec.pid');
    // As an intruder on host 2 would: runc on that host, a command of a millisecond.
    const r = await bed.run(2, [
      'runc',
      '--root',
      join(home, 'runc'),
      'exec',
      '--pid-file',
      pidFile,
      instance!.id,
      '/bin/busybox',
      'cat',
      '/etc/passwd',
    ]);
    expect(r.code, r.stderr).toBe(0);
    entered.push(instance!.id);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const seen = async () => {
      const log = await cli(2, 'ledger', 'log', '--kind', 'drift', '-o', 'json');
      return (
        JSON.parse(log.stdout) as {
          instance: string;
          detail: { evidence?: { detector: string; actual: string }[] };
        }[]
      ).some(
        (d) =>
          d.instance === instance!.id &&
          d.detail.evidence?.some(
            (e) => e.detector === 'process' && e.actual.startsWith(`pid ${pid} entered`),
          ),
      );
    };
    expect(await eventually(seen, 15_000)).toBe(true);
  });

  it('leaves nothing behind: no namespace, link, route, rule, mount, process or cgroup', async () => {
    // The hosts' network and mount namespaces, as /proc/PID/ns/* name them.
    const namespaces = new Set(
      bed.hosts.flatMap((h) => [
        `net:[${statSync(`/run/netns/${h.netns}`, { bigint: true }).ino}]`,
        `mnt:[${statSync(`/run/ingot-testbed/${bed.prefix}/h${h.n}.mnt`, { bigint: true }).ino}]`,
      ]),
    );
    const servers = hosts.map(
      (h) => (JSON.parse(readFileSync(join(h.home, 'server.json'), 'utf8')) as { pid: number }).pid,
    );
    const ids = new Map<number, string[]>();
    for (const [n, fleet] of [
      [1, 'peer'],
      [2, 'hello'],
    ] as const)
      ids.set(n, [...(await instances(n, fleet)).map((i) => i.id), ...(n === 2 ? entered : [])]);
    for (const host of bed.hosts) {
      const down = await cli(host.n, 'down', '--stop-instances');
      expect(down.code, down.out).toBe(0);
      stopped.add(host.n);
      // Ingot released its own bridge: it saw it, in the host's /sys, as the one it made.
      expect((await bed.run(host.n, ['ip', 'link', 'show', host.bridge])).code).not.toBe(0);
    }
    await bed.destroy();
    await bed.destroy(); // twice: nothing to do, no error

    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(
      `${bed.prefix}-`,
    );
    expect(execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })).not.toMatch(
      new RegExp(`: ${bed.prefix}[-0]`),
    );
    const routes = execFileSync('ip', ['route', 'show'], { encoding: 'utf8' });
    for (const host of bed.hosts) expect(routes).not.toContain(host.instanceSubnet);
    expect(routes).not.toContain(bed.linkSubnet);
    expect(execFileSync('iptables', ['-S', 'FORWARD'], { encoding: 'utf8' })).not.toContain(
      `ingot-testbed:${bed.prefix}`,
    );
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(
      `/run/ingot-testbed/${bed.prefix}`,
    );
    expect(processesIn(namespaces)).toEqual([]);
    for (const pid of servers) expect(alive(pid)).toBe(false);
    for (const host of bed.hosts) {
      const residue = hostResidue(
        hosts[host.n - 1]!.home,
        { bridge: host.bridge, subnet: host.instanceSubnet },
        ids.get(host.n),
      );
      expect(residue).toEqual({
        containers: [],
        netns: [],
        veths: [],
        addresses: [],
        mounts: [],
        iptables: [],
        userns: [],
        cgroups: [],
      });
    }
  }, 120_000);
});

describe('a bed left half made or by a crash', () => {
  it('is removed by the next bed of its prefix, and by destroy', async () => {
    requireHost();
    const options = {
      hosts: 1,
      prefix: `nr${tag}`,
      linkSubnet: `10.85.${octet(256)}.0/24`,
      instanceSubnets: `10.${140 + octet(60)}.0.0/16`,
    };
    const first = testbed(options);
    // Half made: a bridge and a namespace, no link, no routes.
    execFileSync('ip', ['link', 'add', first.bridge, 'type', 'bridge']);
    execFileSync('ip', ['netns', 'add', first.host(1).netns]);
    try {
      await first.create();
      // A crash: the bed and a process in it stay.
      const orphan = first.spawn(1, ['sleep', '600'], { stdio: 'ignore' });
      const ended = new Promise((r) => orphan.once('exit', (_, signal) => r(signal)));
      await sleep(200);
      const again = testbed(options);
      await again.create();
      expect(await ended).toBe('SIGKILL');
      expect((await again.run(1, ['ip', '-4', '-o', 'addr', 'show', 'eth0'])).stdout).toContain(
        again.host(1).address,
      );
    } finally {
      await first.destroy();
    }
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(
      `${first.prefix}-`,
    );
    expect(execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })).not.toMatch(
      new RegExp(`: ${first.prefix}[-0]`),
    );
    expect(existsSync(`/run/ingot-testbed/${first.prefix}`)).toBe(false);
  });
});

function processesIn(namespaces: ReadonlySet<string>): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((pid) =>
      ['net', 'mnt'].some((kind) => {
        try {
          return namespaces.has(readlinkSync(`/proc/${pid}/ns/${kind}`));
        } catch {
          return false;
        }
      }),
    )
    .map(Number);
}

/** Whether `pid` runs: a zombie (exited, its parent not told yet) does not. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
