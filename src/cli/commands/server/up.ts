import type { Command } from 'commander';
import { runningServer } from '../../client.js';
import { collect, json, outputOption } from '../../format.js';
import type { Runner } from '../runner.js';
import { startInBackground } from './background.js';
import { hasServerFlags, reexecWithServerFlags, serveHere } from './foreground.js';
import { LOG_LEVEL_HELP, METRICS_LISTEN_HELP } from './observability-flags.js';
import { checkUpOptions, type UpOptions } from './up-options.js';

/** `ingot up`: the server in this process, or with --detach in the background. */
export function registerUp(program: Command, run: Runner): void {
  program
    .command('up')
    .summary('start Ingot on this machine: API, controller and agent')
    .description(
      'Run the HTTP API (127.0.0.1), the controller and a local agent in one process, with state in\n' +
        'SQLite under $INGOT_HOME. A random admin token is written to $INGOT_HOME/token (0600); every\n' +
        "API call needs it. With nothing configured, starts are admitted against this machine's own key\n" +
        '($INGOT_HOME/keys/local.pub, made on first use; `ingot build` signs with it). Instances that\n' +
        'were running are re-adopted. With --detach it runs in the background.',
    )
    .option('-d, --detach', 'run in the background and return once it answers')
    .option('--port <n>', 'API port (default: any free port; see $INGOT_HOME/server.json)')
    .option('--policy <file>', 'admission policy')
    .option('--key <file>', 'trusted public key (repeatable)', collect)
    .option('--bridge <name>', "instances' bridge (default ingot0)")
    .option('--subnet <cidr>', "instances' subnet (default 10.88.0.0/24)")
    .option(
      '--route <cidr>',
      "a network instances may reach beyond their own subnet, through this host's bridge (repeatable; default none: their subnet only)",
      collect,
    )
    .option('--cgroup-parent <path>', 'cgroup the instances are placed under (default /ingot)')
    .option(
      '--stop-grace <duration>',
      'SIGTERM grace before SIGKILL when stopping (default 10s, at most 10m)',
    )
    .option(
      '--verify-interval <duration>',
      'hash every rootfs in use in full this often (default 10m; a bare number is minutes; 0: only on demand)',
    )
    .option(
      '--max-instances <n>',
      'instances this host takes at most; deploys beyond it, its subnet or its memory are refused (default 250)',
    )
    .option(
      '--insecure-registry <host[:port]>',
      'speak plain HTTP to this registry when pulling artifacts a fleet names by registry reference (repeatable)',
      collect,
    )
    .option(
      '--registry-ca-file <file>',
      'PEM of the CA(s) to trust for registries instead of the system ones',
    )
    .option('--metrics-listen <host:port>', METRICS_LISTEN_HELP)
    .option('--log-level <level>', LOG_LEVEL_HELP)
    .addOption(outputOption())
    .action(async (options: UpOptions) => {
      await run(
        async (app, io) => {
          checkUpOptions(options);
          const info = runningServer(app.home);
          if (info) {
            io.err(`Ingot is already running (pid ${info.pid}, port ${info.port})\n`);
            if (options.output === 'json')
              io.out(json({ running: true, started: false, pid: info.pid, port: info.port }));
            return 0;
          }
          if (options.detach) return startInBackground(app.home, options, io);
          if (!hasServerFlags()) return reexecWithServerFlags();
          return serveHere(app, options, io);
        },
        () => options.output ?? 'text',
      );
    });
}
