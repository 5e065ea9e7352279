import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Why a shim at all: `runc create` detaches, and once it has exited the container's init is
 * re-parented to whoever reaps orphans (the host's init), so its wait status, the one thing
 * that says how it ended, is lost; runc keeps no exit code. containerd and conmon solve it
 * the same way this does: a small process per instance, a child subreaper
 * (PR_SET_CHILD_SUBREAPER), runs `runc create` as its child, so the container's init is
 * re-parented to it and it alone reaps it, then writes how it ended into the bundle.
 *
 * Why perl: it must outlive the agent (a restarted agent still learns how an instance it
 * adopted ended) and call prctl, which Node cannot. perl-base is Essential in Debian (on
 * every host), and its `syscall` makes the call with no module to install; it starts in a
 * few ms, where python3 (also on the host, for the process-event helper) with ctypes takes
 * tens, on every start. The cost: prctl's number is per architecture (prctlNumber). Considered and
 * not taken: `runc run` in the foreground as the parent — it puts a pipe between the
 * container and its log (runc copies), so a full log tmpfs would block the instance instead
 * of failing its writes, and it starts the process before the network is attached.
 *
 * Protocol: fd 3 is a pipe to the agent; the shim writes runc create's wait status there
 * as soon as runc create ends ("0\n": created) and closes it. It then waits for the
 * container's init (pid from runc's --pid-file) and writes `exit.json` (temp + rename, so
 * a reader never sees half of it): {"code":N} or {"signal":N}. If the shim is killed, the
 * instance runs on and its exit is simply unknown.
 */
export const SHIM_SCRIPT = `
use strict; use warnings; use POSIX ();
my ($nr, $exitFile, $pidFile, @runc) = @ARGV;
open(my $status, '>&=', 3) or die "fd 3: $!";
# Best effort: without it nothing is reaped here, and the exit is unknown.
my $reaper = $nr > 0 && syscall($nr, 36, 1, 0, 0, 0) == 0;
my $pid = fork();
die "fork: $!" unless defined $pid;
if ($pid == 0) { POSIX::close(3); exec(@runc) or POSIX::_exit(127); }
waitpid($pid, 0);
my $created = $?;
print $status (($created >> 8) . "\\n"); close($status);
# The log is the container's, not ours: a tmpfs holds no descriptor of the shim.
POSIX::close(1); POSIX::close(2); chdir('/');
POSIX::_exit(0) if $created != 0 || !$reaper;
open(my $p, '<', $pidFile) or POSIX::_exit(0);
my $init = <$p>; close($p);
$init = int($init // 0);
POSIX::_exit(0) if $init <= 0;
while ((my $done = wait()) > 0) {
  next unless $done == $init;
  my $how = ($? & 127) ? '{"signal":' . ($? & 127) . '}' : '{"code":' . ($? >> 8) . '}';
  open(my $out, '>', "$exitFile.tmp") or POSIX::_exit(0);
  print $out $how; close($out);
  rename("$exitFile.tmp", $exitFile);
  POSIX::_exit(0);
}
POSIX::_exit(0);
`;

/** prctl's syscall number where we know it; 0: no subreaper (exits stay unknown). */
export function prctlNumber(arch: string = process.arch): number {
  return arch === 'x64' ? 157 : arch === 'arm64' ? 167 : 0;
}

/** Where the shim writes how the container's init ended. */
export const exitFileOf = (bundle: string) => join(bundle, 'exit.json');

/** How a container's init ended, as its shim saw it. */
export interface ShimExit {
  readonly code?: number;
  readonly signal?: number;
}

/**
 * The shim's record, or null while there is none (still running, or no shim saw it). The
 * file sits in a root-only bundle, but is parsed as untrusted anyway: only small integers.
 */
export function readShimExit(bundle: string): ShimExit | null {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(exitFileOf(bundle), 'utf8').slice(0, 256));
  } catch {
    return null;
  }
  const small = (v: unknown, max: number) =>
    typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max ? v : undefined;
  if (typeof raw !== 'object' || raw === null) return null;
  const { code, signal } = raw as { code?: unknown; signal?: unknown };
  const s = small(signal, 64);
  if (s !== undefined) return { signal: s };
  const c = small(code, 255);
  return c !== undefined ? { code: c } : null;
}

/**
 * How many times the kernel's OOM killer killed a process in the container's cgroup: cgroup
 * v2's memory.events, or v1's memory.oom_control (this host runs hybrid: v1 for memory).
 * Read before `runc delete`, which removes the cgroup. 0 when neither can be read.
 */
export function oomKills(cgroupsPath: string, root = '/sys/fs/cgroup'): number {
  const rel = cgroupsPath.replace(/^\/+/, '');
  if (rel.split('/').some((p) => p === '..' || p === '.')) return 0;
  for (const file of [
    join(root, rel, 'memory.events'),
    join(root, 'memory', rel, 'memory.oom_control'),
  ]) {
    try {
      const m = /^oom_kill (\d+)$/m.exec(readFileSync(file, 'utf8'));
      if (m) return Number(m[1]);
    } catch {
      // not this hierarchy
    }
  }
  return 0;
}
