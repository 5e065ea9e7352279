import type { ServeOptions } from '../../io.js';
import { parseReference } from '../../../core/registry/reference.js';
import { DAY_MS, MINUTE_MS } from '../../../core/duration.js';
import { MAX_STOP_GRACE_MS } from '../../../domain/fleet.js';
import { UsageError } from '../../../domain/errors.js';
import { durationFlag } from '../../duration-flag.js';
import { registryAuthority } from '../../../domain/registry.js';
import { observabilityOptions } from './observability-flags.js';

/** `ingot up`'s options as commander gives them: strings, checked here. */
export interface UpOptions {
  detach?: boolean;
  /** -o json: where the server is, on stdout (never passed to the server itself). */
  output?: 'text' | 'json';
  port?: string;
  policy?: string;
  key?: string[];
  bridge?: string;
  subnet?: string;
  route?: string[];
  cgroupParent?: string;
  stopGrace?: string;
  verifyInterval?: string;
  maxInstances?: string;
  insecureRegistry?: string[];
  registryCaFile?: string;
  metricsListen?: string;
  logLevel?: string;
}

/** Refuse a malformed number before anything starts (exit 2, as any usage error). */
export function checkUpOptions(options: UpOptions): void {
  if (options.port !== undefined && !/^\d{1,5}$/.test(options.port))
    throw new UsageError(`--port must be a port number, got ${JSON.stringify(options.port)}`);
  if (options.stopGrace !== undefined) stopGraceMs(options.stopGrace);
  if (
    options.maxInstances !== undefined &&
    (!/^\d{1,6}$/.test(options.maxInstances) || Number(options.maxInstances) < 1)
  )
    throw new UsageError(
      `--max-instances must be a whole number of at least 1, got ${JSON.stringify(options.maxInstances)}`,
    );
  for (const cidr of options.route ?? [])
    if (!isIpv4Cidr(cidr))
      throw new UsageError(
        `--route takes an IPv4 network such as 10.88.0.0/16, got ${JSON.stringify(cidr.slice(0, 100))}`,
      );
  for (const authority of options.insecureRegistry ?? [])
    if (!isAuthority(authority))
      throw new UsageError(
        `--insecure-registry takes HOST[:PORT] of one registry, got ${JSON.stringify(authority.slice(0, 100))}`,
      );
  observabilityOptions(options);
  if (options.verifyInterval !== undefined) verifyIntervalMs(options.verifyInterval);
}

/** `--stop-grace 5`, `5s`, `1m30s`: as fleet.yaml's stopGrace, up to 10 minutes. */
export const stopGraceMs = (raw: string): number =>
  durationFlag('--stop-grace', raw, { maxMs: MAX_STOP_GRACE_MS });

/** `--verify-interval 10` (minutes, as it always took), `90s`, `1h`; 0 as before. */
export const verifyIntervalMs = (raw: string): number =>
  durationFlag('--verify-interval', raw, { maxMs: 366 * DAY_MS, bareUnitMs: MINUTE_MS });

/** The same options again, for the server started in the background. Pure. */
export function upArgs(options: UpOptions): string[] {
  const args: string[] = [];
  if (options.port) args.push('--port', options.port);
  if (options.policy) args.push('--policy', options.policy);
  for (const k of options.key ?? []) args.push('--key', k);
  if (options.bridge) args.push('--bridge', options.bridge);
  if (options.subnet) args.push('--subnet', options.subnet);
  for (const r of options.route ?? []) args.push('--route', r);
  if (options.cgroupParent) args.push('--cgroup-parent', options.cgroupParent);
  if (options.stopGrace) args.push('--stop-grace', options.stopGrace);
  if (options.verifyInterval) args.push('--verify-interval', options.verifyInterval);
  if (options.maxInstances) args.push('--max-instances', options.maxInstances);
  for (const r of options.insecureRegistry ?? []) args.push('--insecure-registry', r);
  if (options.registryCaFile) args.push('--registry-ca-file', options.registryCaFile);
  if (options.metricsListen) args.push('--metrics-listen', options.metricsListen);
  if (options.logLevel) args.push('--log-level', options.logLevel);
  return args;
}

/** What the server in this process is started with. Pure. */
export function serveOptions(options: UpOptions): ServeOptions {
  return {
    ...(options.port !== undefined && { port: Number(options.port) }),
    ...(options.policy !== undefined && { policyFile: options.policy }),
    keyFiles: options.key ?? [],
    ...(options.bridge !== undefined && { bridge: options.bridge }),
    ...(options.subnet !== undefined && { subnet: options.subnet }),
    ...(options.route !== undefined && { routes: options.route }),
    ...(options.cgroupParent !== undefined && { cgroupParent: options.cgroupParent }),
    ...(options.stopGrace !== undefined && {
      stopGraceMs: stopGraceMs(options.stopGrace),
    }),
    ...(options.verifyInterval !== undefined && {
      fullVerifyMs: verifyIntervalMs(options.verifyInterval),
    }),
    ...(options.maxInstances !== undefined && { maxInstances: Number(options.maxInstances) }),
    ...((options.insecureRegistry !== undefined || options.registryCaFile !== undefined) && {
      registries: {
        insecure: options.insecureRegistry ?? [],
        ...(options.registryCaFile !== undefined && { caFile: options.registryCaFile }),
      },
    }),
    ...observabilityOptions(options),
  };
}

/** "a.b.c.d/n" with no host bits set: what the CNI plugins take as a route's destination. */
function isIpv4Cidr(value: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
  if (!m) return false;
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits > 32) return false;
  const address = octets.reduce((acc, o) => acc * 256 + o, 0);
  return address % 2 ** (32 - bits) === 0;
}

/** `HOST[:PORT]` exactly as a registry reference spells it (what the allowlist is matched to). */
function isAuthority(value: string): boolean {
  try {
    const ref = parseReference(`${value}/x`);
    return registryAuthority(ref) === value;
  } catch {
    return false;
  }
}
