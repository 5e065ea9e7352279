/**
 * An init as PID 1 (`init: true` in an image's runtime contract). The kernel delivers to
 * PID 1 only the signals it has a handler for: busybox httpd and Python, run as PID 1,
 * ignore SIGTERM, so every stop waited out the whole grace, and nothing reaped orphaned
 * children. A static init (Debian's tini) runs the program as its child, forwards signals
 * to it (to its process group: `-g`, so that a shell's children hear them too) and reaps
 * zombies.
 *
 * The init comes from the host, not from the image: it is bind-mounted read-only (nosuid,
 * nodev; executable, obviously) into a folder of its own, which the build adds to the image
 * as a mount point (and the agent to a rootfs made before: the measured rootfs is never
 * written to otherwise). Its digest is recorded with the instance's start.
 */

/** The folder the init is mounted on, inside every instance that asks for one. */
export const INIT_MOUNT_POINT = '/.ingot/init';
/** The init's file name in its host folder, and so its path inside the instance. */
export const INIT_FILE = 'tini';
export const INIT_PATH = `${INIT_MOUNT_POINT}/${INIT_FILE}`;

/** Options of the init's mount: nothing in it can be changed, set-id or a device. */
export const INIT_MOUNT_OPTIONS = ['bind', 'ro', 'nosuid', 'nodev', 'rprivate'] as const;

/** The program's arguments behind the init: `tini -g -- program args…`. Pure. */
export function withInit(args: readonly string[]): string[] {
  return [INIT_PATH, '-g', '--', ...args];
}
