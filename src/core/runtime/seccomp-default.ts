/**
 * Ingot's default seccomp profile, as data: an allowlist of the shape of Docker's and
 * containerd's default (a call not named here fails with EPERM), read by seccomp.ts, which
 * selects the rules for an instance's capabilities and its image's contract. Changing this
 * file changes what every instance may ask of the kernel: say why next to each group.
 *
 * The kernel is shared by every instance and the host, and until an instance has a user
 * namespace its root is the host's root with fewer capabilities. Every call left out is
 * kernel attack surface an instance does not need to serve: the ones that matter are
 * named in NEVER_ALLOWED and in the comments below.
 */

export type SeccompAction = 'SCMP_ACT_ALLOW' | 'SCMP_ACT_ERRNO';

/** OCI `linux.seccomp.syscalls[].args[]`, the operators this profile uses. */
export interface SeccompArg {
  readonly index: number;
  readonly value: number;
  readonly op: 'SCMP_CMP_EQ' | 'SCMP_CMP_NE' | 'SCMP_CMP_MASKED_EQ';
}

export interface SeccompRule {
  readonly names: readonly string[];
  readonly action: SeccompAction;
  readonly errnoRet?: number;
  readonly args?: readonly SeccompArg[];
  /** The rule applies only when the instance holds this capability. */
  readonly ifCapability?: string;
  /** The rule applies only when the instance does not hold this capability. */
  readonly unlessCapability?: string;
}

/**
 * A system call name in an image's `seccomp.deny`: the kernel's spelling. A name no kernel
 * has is fine to deny (it matches nothing); the bound keeps a hostile image config small.
 */
export const SYSCALL_NAME = /^[a-z0-9_]{1,64}$/;
export const MAX_SECCOMP_DENY = 512;

export const EPERM = 1;
export const ENOSYS = 38;

/**
 * Every ABI a process on an x86-64 or arm64 host can enter the kernel through: a filter
 * that named only the native one would let `int 0x80` (i386) or x32 calls slip past it.
 * A name that does not exist on one of them (arch_prctl on arm) is skipped there.
 */
export const ARCHITECTURES = [
  'SCMP_ARCH_X86_64',
  'SCMP_ARCH_X86',
  'SCMP_ARCH_X32',
  'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_ARM',
] as const;

/**
 * Never allowed, whatever capability the policy grants and whatever the data below says
 * (seccomp.ts removes them from every allow rule, and a test checks every capability).
 * - The mount family, old API and new: with CAP_SYS_ADMIN and no user namespace an instance
 *   could `mount -o remount,rw /` and write into the host's rootfs cache, or unmount the
 *   masks over /proc/kcore and /sys/firmware. The runtime config defines every mount an
 *   instance has (issue 15). Docker allows these with CAP_SYS_ADMIN; Ingot does not.
 * - Module loading and kexec: code into, or a new, running kernel.
 * - The kernel keyring (keyctl, add_key, request_key): not namespaced, so an instance could
 *   read or fill keys of the host and of other instances.
 * - userfaultfd: stalls the kernel on a page fault at a chosen moment, the usual way to
 *   win a race in a kernel exploit.
 * - io_uring: a second syscall interface that seccomp cannot see into, and the source of
 *   many kernel escapes (Google disables it on ChromeOS, Android and its servers).
 */
export const NEVER_ALLOWED = [
  'mount',
  'umount',
  'umount2',
  'pivot_root',
  'move_mount',
  'open_tree',
  'fsopen',
  'fsconfig',
  'fsmount',
  'fspick',
  'mount_setattr',
  'init_module',
  'finit_module',
  'delete_module',
  'kexec_load',
  'kexec_file_load',
  'keyctl',
  'add_key',
  'request_key',
  'userfaultfd',
  'io_uring_setup',
  'io_uring_enter',
  'io_uring_register',
] as const;

/**
 * The namespace flags of clone(2): CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID,
 * NEWNET. An instance may fork and make threads, not new namespaces: a new user namespace
 * gives it every capability inside, over kernel code (netfilter, filesystems) written for
 * root. CLONE_NEWTIME (0x80) shares its bit with the exit signal in clone(2), so it cannot be
 * masked there; it is reachable only through unshare and clone3, which are denied.
 */
export const CLONE_NAMESPACE_FLAGS =
  0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;

/** AF_VSOCK: a socket to the hypervisor's host, outside any network namespace. */
const AF_VSOCK = 40;

/** personality(2) values a program may set: Linux, 32-bit, UNAME26, both, and the query. */
const PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff] as const;

/**
 * What any process needs: files, memory, signals, time, sockets, threads, ids, scheduling,
 * SysV and POSIX IPC. Left out, and so EPERM, besides NEVER_ALLOWED: ptrace and
 * process_vm_readv/writev (read or change another process's memory: a compromised worker
 * would read its parent's secrets), perf_event_open and bpf (kernel attack surface, and
 * perf leaks other tenants' activity), unshare and setns (new namespaces, see above),
 * open_by_handle_at (opens a file by handle, outside the root: the "shocker" escape),
 * acct, swapon/swapoff, reboot, settimeofday/clock_settime (the host's clock), sethostname,
 * syslog (the host's kernel log), quotactl, lookup_dcookie, iopl/ioperm, vhangup, NUMA
 * memory policy, chroot, uselib, nfsservctl. A call newer than any named here is answered
 * ENOSYS by runc (so that libc falls back to an older one), not EPERM.
 */
const BASE: readonly string[] = [
  // Files and directories.
  ...['access', 'faccessat', 'faccessat2', 'open', 'openat', 'openat2', 'creat', 'close'],
  ...['close_range', 'read', 'readv', 'pread64', 'preadv', 'preadv2', 'write', 'writev'],
  ...['pwrite64', 'pwritev', 'pwritev2', 'lseek', '_llseek', 'dup', 'dup2', 'dup3'],
  ...['fcntl', 'fcntl64', 'flock', 'fsync', 'fdatasync', 'sync', 'syncfs', 'sync_file_range'],
  ...['truncate', 'truncate64', 'ftruncate', 'ftruncate64', 'fallocate', 'fadvise64'],
  ...['fadvise64_64', 'readahead', 'copy_file_range', 'sendfile', 'sendfile64', 'splice'],
  ...['tee', 'vmsplice', 'stat', 'stat64', 'lstat', 'lstat64', 'fstat', 'fstat64', 'statx'],
  ...['fstatat64', 'newfstatat', 'statfs', 'statfs64', 'fstatfs', 'fstatfs64', 'getdents'],
  ...['getdents64', 'getcwd', 'chdir', 'fchdir', 'mkdir', 'mkdirat', 'rmdir', 'rename'],
  ...['renameat', 'renameat2', 'link', 'linkat', 'symlink', 'symlinkat', 'unlink', 'unlinkat'],
  ...['readlink', 'readlinkat', 'mknod', 'mknodat', 'chmod', 'fchmod', 'fchmodat'],
  ...['fchmodat2', 'chown', 'chown32', 'fchown', 'fchown32', 'fchownat', 'lchown', 'lchown32'],
  ...['umask', 'utime', 'utimes', 'utimensat', 'utimensat_time64', 'futimesat', 'cachestat'],
  ...['getxattr', 'lgetxattr', 'fgetxattr', 'getxattrat', 'setxattr', 'lsetxattr'],
  ...['fsetxattr', 'setxattrat', 'listxattr', 'llistxattr', 'flistxattr', 'listxattrat'],
  ...['removexattr', 'lremovexattr', 'fremovexattr', 'removexattrat', 'name_to_handle_at'],
  ...['inotify_init', 'inotify_init1', 'inotify_add_watch', 'inotify_rm_watch'],
  ...['fanotify_mark', 'memfd_create', 'memfd_secret', 'pipe', 'pipe2', 'ioctl'],
  // Polling and events.
  ...['select', '_newselect', 'pselect6', 'pselect6_time64', 'poll', 'ppoll', 'ppoll_time64'],
  ...['epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_ctl_old', 'epoll_wait'],
  ...['epoll_wait_old', 'epoll_pwait', 'epoll_pwait2', 'eventfd', 'eventfd2', 'signalfd'],
  ...['signalfd4', 'timerfd_create', 'timerfd_settime', 'timerfd_settime64'],
  ...['timerfd_gettime', 'timerfd_gettime64', 'io_setup', 'io_destroy', 'io_submit'],
  ...['io_cancel', 'io_getevents', 'io_pgetevents', 'io_pgetevents_time64'],
  // Memory.
  ...['brk', 'mmap', 'mmap2', 'munmap', 'mremap', 'mprotect', 'madvise', 'mincore', 'msync'],
  ...['mlock', 'mlock2', 'mlockall', 'munlock', 'munlockall', 'remap_file_pages', 'membarrier'],
  ...['pkey_alloc', 'pkey_free', 'pkey_mprotect', 'map_shadow_stack', 'mseal'],
  // Processes, threads and their ids (clone is below, with its mask).
  ...['fork', 'vfork', 'execve', 'execveat', 'exit', 'exit_group', 'wait4', 'waitid'],
  ...['waitpid', 'getpid', 'getppid', 'gettid', 'getpgid', 'setpgid', 'getpgrp', 'getsid'],
  ...['setsid', 'getuid', 'getuid32', 'geteuid', 'geteuid32', 'getgid', 'getgid32', 'getegid'],
  ...['getegid32', 'getresuid', 'getresuid32', 'getresgid', 'getresgid32', 'getgroups'],
  ...['getgroups32', 'setuid', 'setuid32', 'setgid', 'setgid32', 'setreuid', 'setreuid32'],
  ...['setregid', 'setregid32', 'setresuid', 'setresuid32', 'setresgid', 'setresgid32'],
  ...['setgroups', 'setgroups32', 'setfsuid', 'setfsuid32', 'setfsgid', 'setfsgid32'],
  ...['capget', 'capset', 'prctl', 'seccomp', 'landlock_create_ruleset', 'landlock_add_rule'],
  ...['landlock_restrict_self', 'set_tid_address', 'set_robust_list', 'get_robust_list'],
  ...['rseq', 'futex', 'futex_time64', 'futex_waitv', 'futex_wait', 'futex_wake'],
  ...['futex_requeue', 'set_thread_area', 'get_thread_area', 'restart_syscall'],
  ...['pidfd_open', 'pidfd_send_signal', 'process_mrelease'],
  // Limits, scheduling, system information.
  ...['getrlimit', 'ugetrlimit', 'setrlimit', 'prlimit64', 'getrusage', 'getpriority'],
  ...['setpriority', 'ioprio_get', 'ioprio_set', 'sched_yield', 'sched_getaffinity'],
  ...['sched_setaffinity', 'sched_getattr', 'sched_setattr', 'sched_getparam'],
  ...['sched_setparam', 'sched_getscheduler', 'sched_setscheduler', 'sched_get_priority_max'],
  ...['sched_get_priority_min', 'sched_rr_get_interval', 'sched_rr_get_interval_time64'],
  ...['getcpu', 'uname', 'sysinfo', 'getrandom'],
  // Signals.
  ...['kill', 'tkill', 'tgkill', 'rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn'],
  ...['rt_sigpending', 'rt_sigsuspend', 'rt_sigqueueinfo', 'rt_tgsigqueueinfo'],
  ...['rt_sigtimedwait', 'rt_sigtimedwait_time64', 'sigaltstack', 'sigprocmask', 'sigreturn'],
  ...['pause', 'alarm'],
  // Time: reading it, sleeping, timers. adjtimex and clock_adjtime only read without
  // CAP_SYS_TIME; setting the clock is below, with the capability.
  ...['time', 'gettimeofday', 'clock_gettime', 'clock_gettime64', 'clock_getres'],
  ...['clock_getres_time64', 'clock_nanosleep', 'clock_nanosleep_time64', 'nanosleep'],
  ...['adjtimex', 'clock_adjtime', 'clock_adjtime64', 'getitimer', 'setitimer', 'times'],
  ...['timer_create', 'timer_delete', 'timer_settime', 'timer_settime64', 'timer_gettime'],
  ...['timer_gettime64', 'timer_getoverrun'],
  // Sockets (socket itself is below, without AF_VSOCK) and IPC in the instance's namespace.
  ...['socketpair', 'socketcall', 'bind', 'listen', 'accept', 'accept4', 'connect'],
  ...['getsockname', 'getpeername', 'getsockopt', 'setsockopt', 'shutdown', 'send', 'sendto'],
  ...['sendmsg', 'sendmmsg', 'recv', 'recvfrom', 'recvmsg', 'recvmmsg', 'recvmmsg_time64'],
  ...['ipc', 'msgget', 'msgsnd', 'msgrcv', 'msgctl', 'semget', 'semop', 'semtimedop'],
  ...['semtimedop_time64', 'semctl', 'shmget', 'shmat', 'shmdt', 'shmctl', 'mq_open'],
  ...['mq_unlink', 'mq_timedsend', 'mq_timedsend_time64', 'mq_timedreceive'],
  ...['mq_timedreceive_time64', 'mq_notify', 'mq_getsetattr'],
  // Architecture-specific: thread pointers, cache flushes, the LDT (32-bit programs, Wine).
  ...['arch_prctl', 'modify_ldt', 'arm_fadvise64_64', 'arm_sync_file_range'],
  ...['sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls'],
];

const allow = (names: readonly string[], ifCapability?: string): SeccompRule => ({
  names,
  action: 'SCMP_ACT_ALLOW',
  ...(ifCapability !== undefined && { ifCapability }),
});

/** The profile, in order. Rules for a capability apply only when the instance holds it. */
export const DEFAULT_RULES: readonly SeccompRule[] = [
  allow(BASE),
  {
    names: ['socket'],
    action: 'SCMP_ACT_ALLOW',
    args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_NE' }],
  },
  ...PERSONALITIES.map((value): SeccompRule => ({
    names: ['personality'],
    action: 'SCMP_ACT_ALLOW',
    args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }],
  })),
  // Threads and fork, never new namespaces (see CLONE_NAMESPACE_FLAGS).
  {
    names: ['clone'],
    action: 'SCMP_ACT_ALLOW',
    args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, op: 'SCMP_CMP_MASKED_EQ' }],
    unlessCapability: 'CAP_SYS_ADMIN',
  },
  // clone3 passes its flags in memory, which seccomp cannot read: ENOSYS, so that libc
  // falls back to clone, whose flags it can.
  {
    names: ['clone3'],
    action: 'SCMP_ACT_ERRNO',
    errnoRet: ENOSYS,
    unlessCapability: 'CAP_SYS_ADMIN',
  },
  // As Docker, a capability the policy grants on purpose brings the calls it exists for;
  // the policy's default set holds none of these. CAP_SYS_ADMIN does not bring the mount
  // family (NEVER_ALLOWED).
  allow(
    ['clone', 'clone3', 'unshare', 'setns', 'bpf', 'perf_event_open', 'fanotify_init'],
    'CAP_SYS_ADMIN',
  ),
  allow(
    ['lookup_dcookie', 'quotactl', 'quotactl_fd', 'sethostname', 'setdomainname', 'syslog'],
    'CAP_SYS_ADMIN',
  ),
  allow(['bpf'], 'CAP_BPF'),
  allow(['perf_event_open'], 'CAP_PERFMON'),
  allow(['syslog'], 'CAP_SYSLOG'),
  allow(['open_by_handle_at'], 'CAP_DAC_READ_SEARCH'),
  allow(['reboot'], 'CAP_SYS_BOOT'),
  allow(['chroot'], 'CAP_SYS_CHROOT'),
  allow(['acct'], 'CAP_SYS_PACCT'),
  allow(
    ['ptrace', 'process_vm_readv', 'process_vm_writev', 'kcmp', 'pidfd_getfd', 'process_madvise'],
    'CAP_SYS_PTRACE',
  ),
  allow(['iopl', 'ioperm'], 'CAP_SYS_RAWIO'),
  allow(['settimeofday', 'stime', 'clock_settime', 'clock_settime64'], 'CAP_SYS_TIME'),
  allow(['vhangup'], 'CAP_SYS_TTY_CONFIG'),
  allow(['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node'], 'CAP_SYS_NICE'),
];
