import {
  ARCHITECTURES,
  DEFAULT_RULES,
  EPERM,
  NEVER_ALLOWED,
  type SeccompArg,
  type SeccompRule,
} from './seccomp-default.js';

export { NEVER_ALLOWED } from './seccomp-default.js';

/** OCI `linux.seccomp`, as runc reads it. */
export interface OciSeccomp {
  readonly defaultAction: 'SCMP_ACT_ERRNO';
  readonly defaultErrnoRet: number;
  readonly architectures: readonly string[];
  readonly syscalls: readonly OciSyscall[];
}

export interface OciSyscall {
  readonly names: readonly string[];
  readonly action: SeccompRule['action'];
  readonly errnoRet?: number;
  readonly args?: readonly SeccompArg[];
}

export interface SeccompInput {
  /** The capabilities the instance holds (its bounding set). */
  readonly capabilities: readonly string[];
  /** The image contract's `seccomp.deny`: names taken out of every allow rule. */
  readonly deny: readonly string[];
}

/**
 * The OCI `linux.seccomp` of one instance. Pure. Everything not allowed fails with EPERM,
 * as in Docker; the rules for a capability apply only when the instance holds it; the
 * image's contract may only take names away (an allow rule left with no names is dropped,
 * an ERRNO rule is kept as it is: it denies already); NEVER_ALLOWED is taken out last, so no
 * capability and no edit of the data can bring back a mount or a module load.
 */
export function instanceSeccomp(
  input: SeccompInput,
  rules: readonly SeccompRule[] = DEFAULT_RULES,
): OciSeccomp {
  const held = new Set(input.capabilities);
  const removed = new Set<string>([...input.deny, ...NEVER_ALLOWED]);
  const syscalls: OciSyscall[] = [];
  for (const rule of rules) {
    if (rule.ifCapability !== undefined && !held.has(rule.ifCapability)) continue;
    if (rule.unlessCapability !== undefined && held.has(rule.unlessCapability)) continue;
    const names =
      rule.action === 'SCMP_ACT_ALLOW' ? rule.names.filter((n) => !removed.has(n)) : rule.names;
    if (names.length === 0) continue;
    syscalls.push({
      names: [...names],
      action: rule.action,
      ...(rule.errnoRet !== undefined && { errnoRet: rule.errnoRet }),
      ...(rule.args !== undefined && { args: rule.args.map((a) => ({ ...a })) }),
    });
  }
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: EPERM,
    architectures: [...ARCHITECTURES],
    syscalls,
  };
}
