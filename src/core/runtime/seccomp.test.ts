import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LINUX_CAPABILITIES } from '../policy/runtime.js';
import { parseRuntimeContract } from './contract.js';
import { instanceSeccomp, NEVER_ALLOWED, type OciSeccomp } from './seccomp.js';
import { CLONE_NAMESPACE_FLAGS, DEFAULT_RULES, ENOSYS, EPERM } from './seccomp-default.js';

/** Every name the profile lets through in some form (unconditionally or with args). */
const allowed = (p: OciSeccomp) => {
  // Only an allowlist can be read this way: with any other default, everything unnamed passes.
  expect(p.defaultAction).toBe('SCMP_ACT_ERRNO');
  return new Set(p.syscalls.filter((s) => s.action === 'SCMP_ACT_ALLOW').flatMap((s) => s.names));
};
const profile = (capabilities: readonly string[] = [], deny: readonly string[] = []) =>
  instanceSeccomp({ capabilities, deny });

/** What the issue names, and what Docker's default denies besides. */
const DANGEROUS = [
  ...NEVER_ALLOWED,
  'unshare',
  'setns',
  'clone3',
  'ptrace',
  'process_vm_readv',
  'process_vm_writev',
  'kcmp',
  'pidfd_getfd',
  'bpf',
  'perf_event_open',
  'open_by_handle_at',
  'reboot',
  'acct',
  'swapon',
  'swapoff',
  'settimeofday',
  'clock_settime',
  'sethostname',
  'syslog',
  'iopl',
  'ioperm',
  'chroot',
  'uselib',
  'lookup_dcookie',
  'quotactl',
];

const OCI_ACTIONS = new Set([
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
]);
const OCI_OPS = new Set([
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
]);

const capabilities = fc.subarray([...LINUX_CAPABILITIES]);
const syscallName = fc.stringMatching(/^[a-z0-9_]{1,20}$/);
const knownName = fc.constantFrom(...DEFAULT_RULES.flatMap((r) => r.names));

describe('the default seccomp profile', () => {
  it('is a valid OCI allowlist: EPERM by default, every ABI of x86 and arm, known actions', () => {
    const p = profile();
    expect(p.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(p.defaultErrnoRet).toBe(EPERM);
    expect(p.architectures).toEqual([
      'SCMP_ARCH_X86_64',
      'SCMP_ARCH_X86',
      'SCMP_ARCH_X32',
      'SCMP_ARCH_AARCH64',
      'SCMP_ARCH_ARM',
    ]);
    for (const s of p.syscalls) {
      expect(OCI_ACTIONS.has(s.action), s.action).toBe(true);
      expect(s.names.length).toBeGreaterThan(0);
      for (const n of s.names) expect(n).toMatch(/^[a-z0-9_]+$/);
      for (const a of s.args ?? []) {
        expect(OCI_OPS.has(a.op), a.op).toBe(true);
        expect(a.index).toBeGreaterThanOrEqual(0);
        expect(a.index).toBeLessThan(6);
      }
    }
    // What every program needs is there: a default that broke the hello example would not last.
    for (const n of ['read', 'write', 'openat', 'execve', 'socket', 'accept4', 'futex', 'uname'])
      expect(allowed(p)).toContain(n);
  });

  it('allows no dangerous call in any form, with the capabilities the default policy grants', () => {
    const p = profile([
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
    ]);
    const ok = allowed(p);
    for (const n of DANGEROUS) expect(ok.has(n), n).toBe(false);
  });

  it('never allows the mount family, modules, kexec or the keyring, whatever capabilities', () => {
    fc.assert(
      fc.property(capabilities, (caps) => {
        const ok = allowed(profile(caps));
        for (const n of NEVER_ALLOWED) expect(ok.has(n), n).toBe(false);
      }),
    );
    // Even if someone puts them back into the data, as Docker has them for CAP_SYS_ADMIN.
    const edited = instanceSeccomp({ capabilities: ['CAP_SYS_ADMIN'], deny: [] }, [
      ...DEFAULT_RULES,
      { names: ['mount', 'umount2', 'keyctl', 'sethostname'], action: 'SCMP_ACT_ALLOW' },
      { names: ['move_mount'], action: 'SCMP_ACT_ALLOW', ifCapability: 'CAP_SYS_ADMIN' },
    ]);
    expect(allowed(edited)).toContain('sethostname');
    for (const n of ['mount', 'umount2', 'keyctl', 'move_mount'])
      expect(allowed(edited).has(n), n).toBe(false);
    const all = allowed(profile([...LINUX_CAPABILITIES]));
    for (const n of ['mount', 'umount2', 'fsmount', 'move_mount', 'init_module', 'kexec_load'])
      expect(all.has(n), n).toBe(false);
  });

  it('lets clone make threads and processes, never namespaces; clone3 fails ENOSYS', () => {
    const clone = profile().syscalls.filter((s) => s.names.includes('clone'));
    expect(clone).toEqual([
      {
        names: ['clone'],
        action: 'SCMP_ACT_ALLOW',
        args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, op: 'SCMP_CMP_MASKED_EQ' }],
      },
    ]);
    // CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET.
    for (const flag of [0x20000, 0x2000000, 0x4000000, 0x8000000, 0x10000000, 0x20000000])
      expect(CLONE_NAMESPACE_FLAGS & flag).toBe(flag);
    expect(CLONE_NAMESPACE_FLAGS & 0x40000000).toBe(0x40000000);
    // Threads and fork: CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID.
    expect(0x3d0f00 & CLONE_NAMESPACE_FLAGS).toBe(0);
    expect(profile().syscalls.filter((s) => s.names.includes('clone3'))).toEqual([
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS },
    ]);
  });

  it('adds for a capability only the calls it exists for', () => {
    const base = allowed(profile());
    const added = (cap: string) => [...allowed(profile([cap]))].filter((n) => !base.has(n)).sort();
    expect(added('CAP_SYS_PTRACE')).toEqual([
      'kcmp',
      'pidfd_getfd',
      'process_madvise',
      'process_vm_readv',
      'process_vm_writev',
      'ptrace',
    ]);
    expect(added('CAP_BPF')).toEqual(['bpf']);
    expect(added('CAP_PERFMON')).toEqual(['perf_event_open']);
    expect(added('CAP_SYS_TIME')).toEqual([
      'clock_settime',
      'clock_settime64',
      'settimeofday',
      'stime',
    ]);
    // CAP_SYS_ADMIN brings what Docker gives it, except the mount family.
    expect(added('CAP_SYS_ADMIN')).toEqual([
      'bpf',
      'clone3',
      'fanotify_init',
      'lookup_dcookie',
      'perf_event_open',
      'quotactl',
      'quotactl_fd',
      'setdomainname',
      'sethostname',
      'setns',
      'syslog',
      'unshare',
    ]);
    const admin = profile(['CAP_SYS_ADMIN']).syscalls.filter((s) => s.names.includes('clone'));
    expect(admin.map((s) => s.args)).toEqual([undefined]);
    // The capabilities the default policy grants bring nothing (CAP_SYS_CHROOT: chroot).
    for (const cap of ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SETUID'])
      expect(added(cap), cap).toEqual([]);
    expect(added('CAP_SYS_CHROOT')).toEqual(['chroot']);
  });

  it("takes the contract's denied names out of every allow rule, and nothing else", () => {
    const p = profile([], ['uname', 'clone', 'socket', 'no_such_call', 'clone3']);
    const ok = allowed(p);
    for (const n of ['uname', 'clone', 'socket']) expect(ok.has(n), n).toBe(false);
    expect([...allowed(profile())].filter((n) => !ok.has(n)).sort()).toEqual([
      'clone',
      'socket',
      'uname',
    ]);
    // clone3 stays ENOSYS: denying it must not turn libc's fallback into EPERM.
    expect(p.syscalls.find((s) => s.names.includes('clone3'))?.errnoRet).toBe(ENOSYS);
  });

  it('never widens: a narrowed profile allows a subset, for any capabilities and names', () => {
    fc.assert(
      fc.property(
        capabilities,
        fc.array(fc.oneof(syscallName, knownName), { maxLength: 40 }),
        (caps, deny) => {
          const wide = profile(caps);
          const narrow = profile(caps, deny);
          const wideOk = allowed(wide);
          for (const n of allowed(narrow)) expect(wideOk.has(n), n).toBe(true);
          for (const n of deny) expect(allowed(narrow).has(n), n).toBe(false);
          // Rule by rule: each narrowed rule is a wide rule with names removed, same args.
          const key = (s: (typeof wide.syscalls)[number]) =>
            JSON.stringify([s.action, s.errnoRet, s.args]);
          for (const s of narrow.syscalls) {
            const from = wide.syscalls.find(
              (w) => key(w) === key(s) && s.names.every((n) => w.names.includes(n)),
            );
            expect(from, JSON.stringify(s)).toBeDefined();
          }
          expect(narrow.defaultAction).toBe('SCMP_ACT_ERRNO');
        },
      ),
    );
  });
});

describe("the contract's seccomp.deny in an image label", () => {
  const label = (seccomp: unknown) =>
    parseRuntimeContract(JSON.stringify({ tmpfs: [], volumes: [], capabilities: [], seccomp }));
  it('is read back as written, and refused when malformed or unbounded', () => {
    expect(label({ deny: ['uname', 'getcwd'] })?.seccomp).toEqual({ deny: ['uname', 'getcwd'] });
    expect(label(undefined)?.seccomp).toBeUndefined();
    for (const bad of [
      { deny: ['Mount'] },
      { deny: ['mount;'] },
      { deny: [''] },
      { deny: ['x'.repeat(65)] },
      { deny: Array.from({ length: 513 }, (_, i) => `s${i}`) },
      { deny: 'mount' },
      {},
    ])
      expect(label(bad), JSON.stringify(bad).slice(0, 40)).toBeNull();
  });
});
