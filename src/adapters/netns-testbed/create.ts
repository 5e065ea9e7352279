import { IngotError } from '../../domain/errors.js';
import { mustRun, runCommand } from './command.js';
import { ruleComment } from './destroy.js';
import { makeHostMounts, netnsPath } from './host-mounts.js';
import { overlaps, parseCidr, type TestbedCode, type TestbedPlan } from './plan.js';

/**
 * Make the bed, in the root network namespace and in each host's:
 *
 *   root:   bridge <prefix>0 with the gateway address (.1 of the link /24), where servers
 *           listen; one veth per host as its port; a route per host: its instance /24 via
 *           the host's link address.
 *   host N: its veth end as eth0 with .(10+N), lo up, a default route via the gateway,
 *           the other hosts' instance /24s via their link addresses, forwarding on; a mount
 *           namespace of its own (host-mounts.ts). Its agent makes its own instance bridge.
 *
 * Hosts reach each other's instances straight over the shared link, not through the root
 * namespace: the root namespace forwards nothing, so its ip_forward (the machine's setting,
 * which other work depends on) is left alone. Reverse-path filtering (each new namespace
 * inherits the initial one's, strict on many distributions) passes everywhere: every
 * subnet is routed back through the interface its packets arrive on. Ingot's CNI network
 * masquerades nothing (ipMasq off), so an instance's packets keep its own address across
 * hosts and no NAT rule is made in any host.
 */
export async function createTestbed(plan: TestbedPlan): Promise<void> {
  await refuseOverlaps(plan);
  const { bridge, gateway } = plan;
  await mustRun('ip', ['link', 'add', bridge, 'type', 'bridge']);
  await mustRun('ip', ['addr', 'add', `${gateway}/24`, 'dev', bridge]);
  await mustRun('ip', ['link', 'set', bridge, 'up']);
  await openForward(plan);
  for (const host of plan.hosts) {
    const inHost = (...args: string[]) => mustRun('ip', ['-n', host.netns, ...args]);
    await mustRun('ip', ['netns', 'add', host.netns]);
    await mustRun('ip', [
      'link',
      'add',
      host.link,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      host.netns,
    ]);
    await mustRun('ip', ['link', 'set', host.link, 'master', bridge, 'up']);
    await inHost('link', 'set', 'lo', 'up');
    await inHost('addr', 'add', `${host.address}/24`, 'dev', 'eth0');
    await inHost('link', 'set', 'eth0', 'up');
    await inHost('route', 'add', 'default', 'via', gateway);
    for (const other of plan.hosts)
      if (other.n !== host.n)
        await inHost('route', 'add', other.instanceSubnet, 'via', other.address, 'dev', 'eth0');
    // A host routes between its link and its instances' bridge. (The CNI bridge plugin turns
    // forwarding on too, but only once an instance starts, and a host is a host before.)
    await mustRun('nsenter', [
      `--net=${netnsPath(host.netns)}`,
      '--',
      'sysctl',
      '-qw',
      'net.ipv4.ip_forward=1',
    ]);
    await mustRun('ip', ['route', 'add', host.instanceSubnet, 'via', host.address, 'dev', bridge]);
    await makeHostMounts(plan.prefix, host.n, host.netns);
  }
}

/**
 * Frames bridged from one host's link to another's pass the root namespace's FORWARD chain
 * when br_netfilter is loaded (bridge-nf-call-iptables, on here and on every Docker host),
 * and Docker sets that chain's policy to DROP: hosts would then reach the servers but not
 * each other. One rule, marked with the bed's comment (destroy.ts removes it by that),
 * accepts what the bed's bridge bridges to itself, and nothing else. Without iptables there
 * is no such chain to pass.
 */
async function openForward(plan: TestbedPlan): Promise<void> {
  const r = await runCommand('iptables', [
    '-w',
    '-I',
    'FORWARD',
    '-i',
    plan.bridge,
    '-o',
    plan.bridge,
    '-m',
    'comment',
    '--comment',
    ruleComment(plan.prefix),
    '-j',
    'ACCEPT',
  ]);
  if (r.code === 0 || r.code === 127) return;
  throw new IngotError<TestbedCode>(
    'E_TESTBED_COMMAND',
    `iptables: accepting frames between the bed's hosts on ${plan.bridge}: ${r.stderr.trim()}`,
  );
}

/**
 * The link /24 and every host's instance /24 must be new to the machine: a route it has
 * already (another bed, a local Ingot's bridge, a VPN) would take the bed's traffic.
 */
async function refuseOverlaps(plan: TestbedPlan): Promise<void> {
  const routes = (
    JSON.parse(await mustRun('ip', ['-j', '-4', 'route', 'show'])) as {
      dst?: unknown;
      dev?: unknown;
    }[]
  ).flatMap((r) => {
    if (typeof r.dst !== 'string') return [];
    const cidr = parseCidr(r.dst.includes('/') ? r.dst : `${r.dst}/32`);
    return cidr ? [{ text: `${r.dst} dev ${String(r.dev)}`, cidr }] : [];
  });
  const ours = [plan.linkSubnet, ...plan.hosts.map((h) => h.instanceSubnet)];
  const clashes = ours.flatMap((subnet) => {
    const mine = parseCidr(subnet);
    return routes
      .filter((r) => mine !== null && overlaps(mine, r.cidr))
      .map((r) => `${subnet} overlaps the route ${r.text}`);
  });
  if (clashes.length > 0)
    throw new IngotError<TestbedCode>(
      'E_TESTBED_CONFLICT',
      `the test bed ${plan.prefix} cannot use its subnets: ${clashes.join('; ')}. Choose another linkSubnet or instanceSubnets.`,
      { details: { clashes } },
    );
}
