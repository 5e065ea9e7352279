import type { PolicyReason, RuntimeRules } from '../../domain/policy.js';

/** Every capability Linux defines (capability.h, up to 6.x): a policy may name only these. */
export const LINUX_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const;

/**
 * What an artifact may ask for when the policy says nothing: the Kubernetes Pod Security
 * "baseline" set (Docker's defaults without NET_RAW, which lets an instance forge packets
 * on the shared bridge). An allow-list, not a deny-list: a capability a newer kernel adds is
 * refused until someone decides otherwise. Left out, because with no user namespace each is
 * root on the host: SYS_ADMIN (mount, remount the root read-write), SYS_MODULE, SYS_RAWIO,
 * SYS_PTRACE, SYS_BOOT, SYS_TIME, NET_ADMIN, DAC_READ_SEARCH (open_by_handle_at escapes),
 * BPF, PERFMON, MAC_ADMIN, MAC_OVERRIDE, and the rest.
 */
export const BASELINE_CAPABILITIES = [
  'CAP_AUDIT_WRITE',
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_MKNOD',
  'CAP_NET_BIND_SERVICE',
  'CAP_SETFCAP',
  'CAP_SETGID',
  'CAP_SETPCAP',
  'CAP_SETUID',
  'CAP_SYS_CHROOT',
] as const;

/**
 * The rules when a policy has no `runtime:` (or leaves a field out). Root stays allowed:
 * an instance's root has only the capabilities above, no new privileges and a read-only
 * root, which is Kubernetes' baseline; `allowRoot: false` is the restricted profile.
 */
export const DEFAULT_RUNTIME_RULES: RuntimeRules = {
  allowRoot: true,
  allowedCapabilities: BASELINE_CAPABILITIES,
  maxMemoryBytes: null,
  maxCpus: null,
  maxPids: null,
  allowVolumes: true,
};

/** How an artifact asks to run, and (at deploy and on the host) the fleet's limits. */
export interface RuntimeRequest {
  /** The image config's `User` as written: absent or "" means root. */
  readonly user: string | undefined;
  /** The runtime contract's capabilities. */
  readonly capabilities: readonly string[];
  /** The runtime contract's volume names. */
  readonly volumes: readonly string[];
  /** The fleet's resources; null where no fleet is known (`ingot verify`). */
  readonly resources: {
    readonly memoryBytes?: number;
    readonly cpus?: number;
    readonly pids?: number;
  } | null;
}

/** The reasons about how an artifact runs, as opposed to whether it is trusted. */
export const RUNTIME_REASON_CODES: ReadonlySet<PolicyReason['code']> = new Set([
  'E_POLICY_ROOT',
  'E_POLICY_CAPABILITY',
  'E_POLICY_MEMORY',
  'E_POLICY_CPUS',
  'E_POLICY_PIDS',
  'E_POLICY_VOLUME',
] as const);

/** A fleet spec's `resources` as the rules read them. */
export function fleetLimits(r: {
  readonly memory?: number | undefined;
  readonly cpus?: number | undefined;
  readonly pids?: number | undefined;
}): NonNullable<RuntimeRequest['resources']> {
  return {
    ...(r.memory !== undefined && { memoryBytes: r.memory }),
    ...(r.cpus !== undefined && { cpus: r.cpus }),
    ...(r.pids !== undefined && { pids: r.pids }),
  };
}

/**
 * Whether the process runs as uid 0, from the `User` string alone, so that deploy (which
 * has no rootfs) and the host decide alike. A name other than "root" is resolved only
 * against the image's own /etc/passwd, which may map it to 0: as Kubernetes does for
 * runAsNonRoot, such a user cannot be shown not to be root.
 */
export function runsAsRoot(user: string | undefined): 'root' | 'not-root' | 'unknown' {
  const part = (user ?? '').split(':', 1)[0] ?? '';
  if (part === '' || part === 'root') return 'root';
  if (/^\d{1,10}$/.test(part)) return Number(part) === 0 ? 'root' : 'not-root';
  return 'unknown';
}

/** Every way a request breaks the rules, each naming the rule and the value. Pure. */
export function evaluateRuntime(rules: RuntimeRules, request: RuntimeRequest): PolicyReason[] {
  const reasons: PolicyReason[] = [];
  if (!rules.allowRoot) {
    const root = runsAsRoot(request.user);
    if (root === 'root')
      reasons.push({
        code: 'E_POLICY_ROOT',
        message: `runs as root (User ${JSON.stringify(request.user ?? '')}), and the policy's runtime.allowRoot is false`,
      });
    else if (root === 'unknown')
      reasons.push({
        code: 'E_POLICY_ROOT',
        message: `runs as user ${JSON.stringify(request.user)}, a name that could be root; runtime.allowRoot is false, so the image must give a numeric uid (such as "65532:65532")`,
      });
  }
  const allowed = new Set(rules.allowedCapabilities);
  const refused = [...new Set(request.capabilities)].filter((c) => !allowed.has(c)).sort();
  if (refused.length > 0)
    reasons.push({
      code: 'E_POLICY_CAPABILITY',
      message: `asks for ${refused.join(', ')}, not in the policy's runtime.allowedCapabilities (${rules.allowedCapabilities.length > 0 ? rules.allowedCapabilities.join(', ') : 'none'})`,
    });
  if (!rules.allowVolumes && request.volumes.length > 0)
    reasons.push({
      code: 'E_POLICY_VOLUME',
      message: `declares volume(s) ${request.volumes.join(', ')}, and the policy's runtime.allowVolumes is false`,
    });
  const r = request.resources;
  if (r !== null) {
    ceiling(
      reasons,
      'E_POLICY_MEMORY',
      'memory',
      'maxMemory',
      r.memoryBytes,
      rules.maxMemoryBytes,
      bytes,
    );
    ceiling(reasons, 'E_POLICY_CPUS', 'cpus', 'maxCpus', r.cpus, rules.maxCpus, String);
    ceiling(reasons, 'E_POLICY_PIDS', 'pids', 'maxPids', r.pids, rules.maxPids, String);
  }
  return reasons;
}

/** A limit the fleet must set, at most the policy's (unset is unlimited: over any ceiling). */
function ceiling(
  reasons: PolicyReason[],
  code: PolicyReason['code'],
  field: string,
  rule: string,
  value: number | undefined,
  max: number | null,
  show: (n: number) => string,
): void {
  if (max === null) return;
  if (value === undefined)
    reasons.push({
      code,
      message: `the fleet sets no resources.${field} (unlimited); the policy's runtime.${rule} is ${show(max)}: set resources.${field} to at most that`,
    });
  else if (value > max)
    reasons.push({
      code,
      message: `resources.${field} is ${show(value)}, above the policy's runtime.${rule} of ${show(max)}`,
    });
}

function bytes(n: number): string {
  for (const [unit, size] of [
    ['Gi', 2 ** 30],
    ['Mi', 2 ** 20],
    ['Ki', 2 ** 10],
  ] as const)
    if (n >= size && n % size === 0) return `${n / size}${unit}`;
  return `${n} bytes`;
}
