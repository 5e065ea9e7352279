import { IngotError, type CodesOf } from '../../domain/errors.js';

/**
 * The names and addresses of a test bed, derived from its options alone (pure): the same
 * options name the same bed in any process, so `cut-host 2` from a script finds the bed a
 * test or `local-cluster up` made, and a bed left by a crash is found again by its prefix.
 */

export type TestbedCode = CodesOf<'testbed'>;

export interface TestbedOptions {
  /** How many hosts, numbered 1 to `hosts`. */
  readonly hosts: number;
  /**
   * What every name of the bed starts with (default "ingotc"): a lower-case letter and up to
   * seven more letters or digits, so that every interface name fits Linux's 15 characters.
   */
  readonly prefix?: string;
  /**
   * The /24 the root namespace and the hosts share (default 10.87.0.0/24): .1 is the root
   * namespace's (where servers listen), .(10+N) host N's.
   */
  readonly linkSubnet?: string;
  /** The /16 of the instances (default 10.88.0.0/16): host N's instances get a.b.N.0/24. */
  readonly instanceSubnets?: string;
}

export interface SimulatedHost {
  readonly n: number;
  /** Its network namespace, /run/netns/<netns>. */
  readonly netns: string;
  /** Its end of the link in the root namespace (a port of the bed's bridge). */
  readonly link: string;
  /** Its address on the link, on its `eth0`. */
  readonly address: string;
  /** Where its own agent gives instances addresses (`ingot up --subnet`). */
  readonly instanceSubnet: string;
  /**
   * A name for its agent's instance bridge (`ingot up --bridge`). The bridge lives in the
   * host's namespace, but /run is the machine's: Ingot keys its lock and address pool there
   * by the bridge's name, so no two hosts may share one.
   */
  readonly bridge: string;
}

export interface TestbedPlan {
  readonly prefix: string;
  /** The bridge in the root namespace every host's link is a port of. */
  readonly bridge: string;
  /** The root namespace's address on the bridge: servers listen here. */
  readonly gateway: string;
  readonly linkSubnet: string;
  /**
   * The /16 every host's instance subnet is in. With `linkSubnet`, what instances must be
   * routed to through their host (`ingot up --route`) to reach other hosts' instances and
   * the servers: by default an instance has no route off its own subnet.
   */
  readonly instanceSubnets: string;
  readonly hosts: readonly SimulatedHost[];
}

export const DEFAULT_PREFIX = 'ingotc';
const DEFAULT_LINK = '10.87.0.0/24';
const DEFAULT_INSTANCES = '10.88.0.0/16';
/** Host N is .(10+N) on the link: at most 244 of them. */
const FIRST_HOST = 10;
export const MAX_HOSTS = 244;

const PREFIX = /^[a-z][a-z0-9]{0,7}$/;

/** Every name and address of the bed, or E_TESTBED_INPUT naming every bad option at once. */
export function planTestbed(options: TestbedOptions): TestbedPlan {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const linkSubnet = options.linkSubnet ?? DEFAULT_LINK;
  const instances = options.instanceSubnets ?? DEFAULT_INSTANCES;
  const problems: string[] = [];
  if (!PREFIX.test(prefix))
    problems.push(
      `prefix ${JSON.stringify(prefix)}: use a lower-case letter and up to 7 more letters or digits`,
    );
  if (!Number.isSafeInteger(options.hosts) || options.hosts < 1 || options.hosts > MAX_HOSTS)
    problems.push(`hosts ${String(options.hosts)}: use a whole number from 1 to ${MAX_HOSTS}`);
  const link = parseCidr(linkSubnet);
  if (link === null || link.bits !== 24)
    problems.push(`linkSubnet ${JSON.stringify(linkSubnet)}: use an IPv4 /24 such as 10.87.0.0/24`);
  const inst = parseCidr(instances);
  if (inst === null || inst.bits !== 16)
    problems.push(
      `instanceSubnets ${JSON.stringify(instances)}: use an IPv4 /16 such as 10.88.0.0/16`,
    );
  if (link && inst && overlaps(link, inst))
    problems.push(`linkSubnet ${linkSubnet} and instanceSubnets ${instances} overlap`);
  if (problems.length > 0 || !link || !inst)
    throw new IngotError<TestbedCode>(
      'E_TESTBED_INPUT',
      `test bed options: ${problems.join('; ')}`,
      { details: { problems } },
    );
  const hosts = Array.from({ length: options.hosts }, (_, i): SimulatedHost => {
    const n = i + 1;
    return {
      n,
      netns: `${prefix}-h${n}`,
      link: `${prefix}-h${n}`,
      address: formatIp(link.base + FIRST_HOST + n),
      instanceSubnet: `${formatIp(inst.base + n * 256)}/24`,
      bridge: `${prefix}-i${n}`,
    };
  });
  return {
    prefix,
    bridge: `${prefix}0`,
    gateway: formatIp(link.base + 1),
    linkSubnet: `${formatIp(link.base)}/24`,
    instanceSubnets: `${formatIp(inst.base)}/16`,
    hosts,
  };
}

/**
 * Whether `name` is one of the bed's namespaces or links, whatever its size (what a crashed
 * run left is found by its prefix alone): the host number, or null.
 */
export function hostNumberOf(prefix: string, name: string): number | null {
  if (!name.startsWith(`${prefix}-h`)) return null;
  const rest = name.slice(prefix.length + 2);
  return /^[1-9]\d{0,2}$/.test(rest) ? Number(rest) : null;
}

/** The prefix checked on its own, for removing a bed of unknown size. */
export function checkPrefix(prefix: string): string {
  if (!PREFIX.test(prefix))
    throw new IngotError<TestbedCode>(
      'E_TESTBED_INPUT',
      `test bed prefix ${JSON.stringify(prefix)}: use a lower-case letter and up to 7 more letters or digits`,
    );
  return prefix;
}

export interface Cidr {
  /** The network address as an unsigned 32-bit number. */
  readonly base: number;
  readonly bits: number;
}

/** "a.b.c.d/n" with the host bits zero, or null. */
export function parseCidr(text: string): Cidr | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text);
  if (!m) return null;
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits > 32) return null;
  const base = octets.reduce((acc, o) => acc * 256 + o, 0);
  if (base % 2 ** (32 - bits) !== 0) return null;
  return { base, bits };
}

/** Whether two networks share an address. */
export function overlaps(a: Cidr, b: Cidr): boolean {
  const bits = Math.min(a.bits, b.bits);
  const size = 2 ** (32 - bits);
  return Math.floor(a.base / size) === Math.floor(b.base / size);
}

function formatIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}
