import type { Finding } from './evidence.js';
import type { ProcessView } from './processes.js';

/**
 * A process that entered an instance from outside (`foreignProcesses`), named by the
 * program it runs when that can be read. Pure.
 */
export function enteredFinding(p: ProcessView, program: string | undefined): Finding {
  return {
    path: program ?? `pid ${p.pid}`,
    expected: "only the instance's own processes",
    actual: `pid ${p.pid} entered from outside (parent ${p.ppid})`,
  };
}

/**
 * Processes in the instance's PID namespace but another mount namespace: they see the
 * instance's processes while their files come from elsewhere (`nsenter -p`, `setns`). Pure.
 */
export function otherMountNamespaces(
  init: ProcessView,
  processes: readonly ProcessView[],
): Finding[] {
  return processes
    .filter((p) => p.pidNs === init.pidNs && p.mntNs !== init.mntNs)
    .map((p) => ({
      path: `pid ${p.pid}`,
      expected: "the instance's mount namespace",
      actual: 'another mount namespace',
    }));
}

/**
 * The instance's processes being traced: a tracer (ptrace) can read and rewrite their
 * memory and registers, which changes what runs without touching a file. Pure.
 */
export function tracedProcesses(init: ProcessView, processes: readonly ProcessView[]): Finding[] {
  return processes
    .filter((p) => (p.tracer ?? 0) !== 0 && (p.pid === init.pid || p.pidNs === init.pidNs))
    .map((p) => ({
      path: `pid ${p.pid}`,
      expected: 'not traced',
      actual: `traced by pid ${p.tracer}`,
    }));
}
