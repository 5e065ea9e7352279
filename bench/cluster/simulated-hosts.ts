import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** One simulated host: its name and placement labels. */
export interface SimulatedHostSpec {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** What the bench tells a host process. */
export type ToHosts =
  | {
      readonly type: 'start';
      readonly endpoints: readonly string[];
      readonly hosts: readonly SimulatedHostSpec[];
      readonly ttlSeconds: number;
    }
  | { readonly type: 'kill'; readonly host: string }
  | { readonly type: 'memory' }
  | { readonly type: 'stop' };

/** What a host process answers. */
export type FromHosts =
  | { readonly type: 'following' }
  | { readonly type: 'killed'; readonly host: string }
  | { readonly type: 'memory'; readonly rss: number; readonly heapUsed: number }
  | { readonly type: 'stopped'; readonly warnings: Readonly<Record<string, number>> }
  | { readonly type: 'error'; readonly message: string };

/**
 * The simulated hosts, run in a few child processes (host-process.ts) so that 200 etcd
 * clients, leases and watches do not share the leader's process, whose memory and time are
 * what is measured. Each host there is the real HostLoop on its own etcd connection.
 */
export class SimulatedHosts {
  private readonly children: ChildProcess[] = [];
  private readonly owner = new Map<string, ChildProcess>();
  private readonly waiting = new Map<ChildProcess, ((m: FromHosts) => void)[]>();

  /** Start `hosts` split over `processes` children; resolves once every host follows. */
  async start(
    endpoints: readonly string[],
    hosts: readonly SimulatedHostSpec[],
    processes: number,
    ttlSeconds: number,
  ): Promise<void> {
    const per = Math.ceil(hosts.length / processes);
    const started: Promise<FromHosts>[] = [];
    for (let p = 0; p * per < hosts.length; p++) {
      const mine = hosts.slice(p * per, (p + 1) * per);
      const child = fork(join(import.meta.dirname, 'host-process.ts'), [], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      this.children.push(child);
      this.waiting.set(child, []);
      child.on('message', (m: FromHosts) => {
        if (m.type === 'error') process.stderr.write(`simulated hosts: ${m.message}\n`);
        this.waiting.get(child)?.shift()?.(m);
      });
      for (const h of mine) this.owner.set(h.name, child);
      started.push(this.ask(child, { type: 'start', endpoints, hosts: mine, ttlSeconds }));
    }
    for (const answer of await Promise.all(started))
      if (answer.type !== 'following')
        throw new Error(`simulated hosts did not start: ${JSON.stringify(answer)}`);
  }

  /** Stop one host's agent as a crash would: keep-alives, watch and reports end; the lease expires. */
  async kill(host: string): Promise<void> {
    const child = this.owner.get(host);
    if (!child) throw new Error(`no simulated host ${host}`);
    await this.ask(child, { type: 'kill', host });
  }

  /** Resident and heap bytes of each host process. */
  async memory(): Promise<{ rss: number; heapUsed: number }[]> {
    const answers = await Promise.all(this.children.map((c) => this.ask(c, { type: 'memory' })));
    return answers.flatMap((a) =>
      a.type === 'memory' ? [{ rss: a.rss, heapUsed: a.heapUsed }] : [],
    );
  }

  /** Every host stopped and every child gone (SIGKILL after 10 s); warnings the loops logged. */
  async stop(): Promise<Record<string, number>> {
    const warnings: Record<string, number> = {};
    await Promise.all(
      this.children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const gone = new Promise<void>((r) => child.once('exit', () => r()));
        const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
        try {
          const answer = await Promise.race([this.ask(child, { type: 'stop' }), gone]);
          if (answer && answer.type === 'stopped')
            for (const [w, n] of Object.entries(answer.warnings))
              warnings[w] = (warnings[w] ?? 0) + n;
        } catch {
          child.kill('SIGKILL');
        }
        await gone;
        clearTimeout(kill);
      }),
    );
    this.children.length = 0;
    return warnings;
  }

  /** Kill every child at once (a signal arrived). */
  killAll(): void {
    for (const c of this.children) c.kill('SIGKILL');
  }

  /** Messages are answered in order, one answer per question. */
  private ask(child: ChildProcess, message: ToHosts): Promise<FromHosts> {
    return new Promise<FromHosts>((resolve, reject) => {
      if (!child.connected) return reject(new Error('the host process is gone'));
      this.waiting.get(child)!.push(resolve);
      child.send(message);
    });
  }
}
