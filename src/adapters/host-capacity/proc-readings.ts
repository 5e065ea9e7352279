import { readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import type { HostReader, HostReadings } from '../../ports/host-readings.js';

/**
 * This machine's resources: its memory and cores as Node sees them (cores: what this process
 * may run on), and the lower of the kernel's pid and thread limits. A cgroup limit on the
 * server's own cgroup would be tighter; instances run in a cgroup of their own, so the host's
 * figures are what they share.
 */
export class ProcHostReader implements HostReader {
  read(): HostReadings {
    return {
      memoryBytes: totalmem(),
      cpus: availableParallelism(),
      pids: Math.min(
        readLimit('/proc/sys/kernel/pid_max'),
        readLimit('/proc/sys/kernel/threads-max'),
      ),
    };
  }
}

/** A number in a /proc file; unreadable, it does not limit (the other bounds still do). */
function readLimit(file: string): number {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isSafeInteger(n) && n > 0 ? n : Number.MAX_SAFE_INTEGER;
  } catch {
    return Number.MAX_SAFE_INTEGER;
  }
}
