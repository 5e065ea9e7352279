import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../domain/errors.js';
import { api, serverInfo } from '../client.js';
import { isAlive } from '../../adapters/shared/process-alive.js';
import { collect, json, outputOption } from '../format.js';
import type { OutputFormat } from '../io.js';
import type { Runner } from './runner.js';

interface UpOptions {
  detach?: boolean;
  port?: string;
  policy?: string;
  key?: string[];
  bridge?: string;
  subnet?: string;
  cgroupParent?: string;
  stopGrace?: string;
  verifyInterval?: string;
}

/**
 * V8 settings of the long-running server: a 1 MiB young generation. Its allocations are
 * small and short-lived; the default (16 MiB) only held garbage, and put 30 instances'
 * server above 150 MB of resident memory (bench/rollout: 155-182 MiB, 134 MiB with this).
 */
const SERVER_FLAGS = ['--max-semi-space-size=1'];

export function registerServer(program: Command, run: Runner): void {
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
    .option('--cgroup-parent <path>', 'cgroup the instances are placed under (default /ingot)')
    .option('--stop-grace <seconds>', 'SIGTERM grace before SIGKILL when stopping (default 10)')
    .option(
      '--verify-interval <minutes>',
      'hash every rootfs in use in full this often (default 10; 0: only on demand)',
    )
    .action(async (options: UpOptions) => {
      await run(
        async (app, io) => {
          if (options.port !== undefined && !/^\d{1,5}$/.test(options.port))
            throw new UsageError(
              `--port must be a port number, got ${JSON.stringify(options.port)}`,
            );
          if (options.stopGrace !== undefined && !/^\d{1,4}$/.test(options.stopGrace))
            throw new UsageError(
              `--stop-grace must be whole seconds, got ${JSON.stringify(options.stopGrace)}`,
            );
          if (options.verifyInterval !== undefined && !/^\d{1,5}$/.test(options.verifyInterval))
            throw new UsageError(
              `--verify-interval must be whole minutes, got ${JSON.stringify(options.verifyInterval)}`,
            );
          const info = serverInfo(app.home);
          if (info && isAlive(info.pid)) {
            io.err(`Ingot is already running (pid ${info.pid}, port ${info.port})\n`);
            return 0;
          }
          if (options.detach) {
            mkdirSync(app.home, { recursive: true, mode: 0o700 });
            const out = openSync(join(app.home, 'server.out'), 'a', 0o600);
            const args = [process.argv[1]!, '--home', app.home, 'up'];
            if (options.port) args.push('--port', options.port);
            if (options.policy) args.push('--policy', options.policy);
            for (const k of options.key ?? []) args.push('--key', k);
            if (options.bridge) args.push('--bridge', options.bridge);
            if (options.subnet) args.push('--subnet', options.subnet);
            if (options.cgroupParent) args.push('--cgroup-parent', options.cgroupParent);
            if (options.stopGrace) args.push('--stop-grace', options.stopGrace);
            if (options.verifyInterval) args.push('--verify-interval', options.verifyInterval);
            const child = spawn(process.execPath, [...SERVER_FLAGS, ...args], {
              detached: true,
              stdio: ['ignore', out, out],
            });
            child.unref();
            for (let i = 0; i < 300; i++) {
              await new Promise((r) => setTimeout(r, 100));
              const now = serverInfo(app.home);
              if (now && now.pid === child.pid) {
                await api(app.home, 'GET', '/healthz');
                io.err(`Ingot is up (pid ${now.pid}) at http://${now.host}:${now.port}\n`);
                return 0;
              }
              if (child.exitCode !== null) break;
            }
            io.err(`Ingot did not start: see ${join(app.home, 'server.out')}\n`);
            return 1;
          }
          if (!SERVER_FLAGS.every((f) => process.execArgv.includes(f))) {
            // Run the server with its own V8 settings: the same command, re-executed.
            const child = spawn(process.execPath, [...SERVER_FLAGS, ...process.argv.slice(1)], {
              stdio: 'inherit',
            });
            const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
            process.on('SIGINT', forward('SIGINT'));
            process.on('SIGTERM', forward('SIGTERM'));
            return new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
          }
          // Handlers first: a signal during start-up must still end in a clean stop.
          let server: Awaited<ReturnType<typeof app.serve>> | null = null;
          let stopRequested = false;
          const onSignal = () => {
            stopRequested = true;
            if (server) void server.stop();
          };
          process.on('SIGINT', onSignal);
          process.on('SIGTERM', onSignal);
          server = await app.serve({
            ...(options.port !== undefined && { port: Number(options.port) }),
            ...(options.policy !== undefined && { policyFile: options.policy }),
            keyFiles: options.key ?? [],
            ...(options.bridge !== undefined && { bridge: options.bridge }),
            ...(options.subnet !== undefined && { subnet: options.subnet }),
            ...(options.cgroupParent !== undefined && { cgroupParent: options.cgroupParent }),
            ...(options.stopGrace !== undefined && {
              stopGraceMs: Number(options.stopGrace) * 1000,
            }),
            ...(options.verifyInterval !== undefined && {
              fullVerifyMs: Number(options.verifyInterval) * 60_000,
            }),
          });
          io.err(`Ingot is up at ${server.url} (Ctrl-C to stop; instances keep running)\n`);
          if (stopRequested) void server.stop();
          await server.stopped;
          return 0;
        },
        () => 'text',
      );
    });

  program
    .command('down')
    .summary('stop Ingot (instances keep running unless --stop-instances)')
    .option('--stop-instances', 'stop every instance first')
    .action(async (options: { stopInstances?: boolean }) => {
      await run(
        async (app, io) => {
          const info = serverInfo(app.home);
          if (!info || !isAlive(info.pid)) {
            io.err('Ingot is not running\n');
            return 0;
          }
          await api(app.home, 'POST', '/v1/shutdown', {
            stopInstances: options.stopInstances === true,
          });
          for (let i = 0; i < 600 && isAlive(info.pid); i++)
            await new Promise((r) => setTimeout(r, 100));
          if (isAlive(info.pid)) {
            io.err(`Ingot (pid ${info.pid}) did not stop within 60 s\n`);
            return 1;
          }
          io.err(
            `Ingot stopped${options.stopInstances ? ', and its instances' : '; instances keep running'}\n`,
          );
          return 0;
        },
        () => 'text',
      );
    });

  let format: OutputFormat = 'text';
  program
    .command('history')
    .summary('what happened to fleets: deploys, completions, rollbacks')
    .argument('[fleet]', 'only this fleet')
    .addOption(outputOption())
    .action(async (fleet: string | undefined, options: { output: OutputFormat }) => {
      format = options.output;
      await run(
        async (app, io) => {
          const rows = await api<
            { seq: number; time: number; fleet: string; kind: string; detail: string }[]
          >(app.home, 'GET', `/v1/history${fleet ? `?fleet=${encodeURIComponent(fleet)}` : ''}`);
          if (format === 'json') io.out(json(rows));
          else
            for (const r of rows)
              io.out(`${new Date(r.time).toISOString()}  ${r.fleet}  ${r.kind}  ${r.detail}\n`);
          return 0;
        },
        () => format,
      );
    });
}
