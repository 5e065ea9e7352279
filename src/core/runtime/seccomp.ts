/**
 * System calls no instance may make, whatever capabilities the policy lets it hold. With no
 * user namespace an instance's CAP_SYS_ADMIN is the host's: it could `mount -o remount,rw /`
 * and write into the host's rootfs cache, or unmount the masks over /proc/kcore and
 * /sys/firmware. The runtime config defines every mount an instance has; it never mounts,
 * unmounts or moves one itself, nor changes the running kernel. Denied by seccomp, which
 * no capability lifts and which runc installs last, after its own mounts, just before exec.
 */
export const DENIED_SYSCALLS = [
  // Mounts, old API and new (5.2+): each can remount, reveal or replace a path.
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
  // The kernel itself: modules and a new kernel to boot into.
  'init_module',
  'finit_module',
  'delete_module',
  'kexec_load',
  'kexec_file_load',
] as const;

/**
 * Every ABI a process on an x86-64 or arm64 host can call the kernel through: a filter that
 * names only the native one would let `int 0x80` (i386) or x32 calls slip past it.
 */
const ARCHITECTURES = [
  'SCMP_ARCH_X86_64',
  'SCMP_ARCH_X86',
  'SCMP_ARCH_X32',
  'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_ARM',
] as const;

const EPERM = 1;

/** The OCI `linux.seccomp` of every instance: allow all but the above, which fail EPERM. */
export function instanceSeccomp(): Record<string, unknown> {
  return {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: [...ARCHITECTURES],
    syscalls: [{ names: [...DENIED_SYSCALLS], action: 'SCMP_ACT_ERRNO', errnoRet: EPERM }],
  };
}
