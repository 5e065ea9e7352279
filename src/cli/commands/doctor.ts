import type { Command } from 'commander';
import { diagnose, doctorExitCode, type Check } from '../../core/doctor/checks.js';
import { json, outputOption } from '../format.js';
import type { OutputFormat } from '../io.js';
import type { Runner } from './runner.js';

const LABEL: Record<Check['status'], string> = { ok: 'OK', fail: 'FAIL', warn: 'WARN' };

/** `ingot doctor`: whether this machine can run Ingot's instances, and what to do if not. */
export function registerDoctor(program: Command, run: Runner): void {
  program
    .command('doctor')
    .summary('check that this machine can run Ingot, and say how to fix what it lacks')
    .description(
      'Check what Ingot needs on this machine: root, Node.js, runc, the CNI plugins, cgroup\n' +
        'controllers (memory, cpu, pids), seccomp, network namespaces, util-linux, python3 and perl\n' +
        "(the agent's helpers), and the home (owner, mode, free space); and what it can use: user\n" +
        'namespaces, tini, git, haproxy, skopeo and umoci. One line per check, OK, WARN (optional,\n' +
        'or a risk) or FAIL, with the fix. Changes nothing. Exit 1 when a required check fails.',
    )
    .addOption(outputOption())
    .action(async (options: { output: OutputFormat }) => {
      await run(
        async (app, io) => {
          const checks = diagnose(await app.hostFacts());
          const code = doctorExitCode(checks);
          if (options.output === 'json') io.out(json({ ok: code === 0, checks }));
          else io.out(describe(checks));
          return code;
        },
        () => options.output,
      );
    });
}

function describe(checks: readonly Check[]): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  return checks
    .map(
      (c) =>
        `${LABEL[c.status].padEnd(5)} ${c.name.padEnd(width)}  ${c.detail}${c.fix === undefined ? '' : `; fix: ${c.fix}`}\n`,
    )
    .join('');
}
