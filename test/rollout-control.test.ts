import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sleep } from './helpers/agent.js';
import { ingotAsync } from './helpers/cli.js';
import { waitFor } from './helpers/cluster.js';
import { HELLO, useServer, type FleetJson } from './helpers/server.js';

const CANARY = fileURLToPath(new URL('../examples/hello/fleet-canary.yaml', import.meta.url));

/** What `status -o json` adds for a rollout under a hand (issue 20). */
type Controlled = FleetJson & {
  pausedAt: string | null;
  waiting?: { for: string; remainingMs?: number };
};

/**
 * Before and during a deploy (issue 20): `ingot plan` / `deploy --dry-run` change nothing and
 * fail as the deploy would; `deploy --wait` returns once a canary step waits; `pause`,
 * `resume` and `abort` hold, release and end a rollout, each recorded.
 */
describe('plan, wait, pause, resume, abort', () => {
  const server = useServer('rollctl');
  const fleet = (name = 'hello') => server.fleet(name) as Controlled | undefined;
  /** Everything a plan must leave as it was: the history, the ledger, the fleets. */
  const record = () => ({
    history: server.cli('history').stdout,
    ledger: server.ledger().length,
    fleets: server.status().map((f) => [f.name, f.release, f.rollout]),
  });

  it('plans a new fleet and an env change without changing anything, and fails as deploy does', () => {
    server.up();
    expect(server.cli('build', '-q', HELLO).code).toBe(0);
    const before = record();
    // A new fleet: every instance starts, nothing else is said to change.
    const fresh = server.cli('plan', server.helloFleet(3), '-o', 'json');
    expect(fresh.code, fresh.stderr).toBe(0);
    const planned = JSON.parse(fresh.stdout) as {
      diff: { created: boolean; newRelease: boolean; env: { added: string[] } };
      rollout: string;
      instances: { start: { id: string }[]; stop: unknown[]; stay: unknown[]; steps: string[] };
    };
    expect(planned.diff).toMatchObject({ created: true, newRelease: true });
    expect(planned.diff.env.added).toEqual(['GREETING']);
    expect(planned.instances.start).toHaveLength(3);
    expect(planned.instances.stop).toEqual([]);
    expect(record()).toEqual(before); // no fleet, no release, no ledger entry

    const v1 = server.cli('deploy', server.helloFleet(3), '--wait', '--timeout', '1m30s');
    expect(v1.code, v1.stderr).toBe(0);
    const running = fleet()!;
    const old = running.instances.map((i) => i.id).sort();
    expect(old).toHaveLength(3);

    // An env change on the running fleet: every instance replaced, the value never shown.
    const settled = record();
    const change = server.cli('deploy', '--dry-run', CANARY);
    expect(change.code, change.stderr).toBe(0);
    expect(change.stdout).toMatch(/new release [0-9a-f]{12} \(now [0-9a-f]{12}\)/);
    expect(change.stdout).toMatch(/env +GREETING changed/);
    expect(change.stdout).not.toContain('hallo'); // the new value
    expect(change.stdout).toMatch(/strategy .*rolling.* → .*canary/);
    for (const id of old) expect(change.stdout).toMatch(new RegExp(`- ${id} +stop: old-release`));
    expect(change.stdout.match(/^ {2}\+ hello-/gm)).toHaveLength(3);
    expect(change.stdout).toContain('canary step 1/1: 1 of 3 on the new release');
    const asJson = server.cli('plan', CANARY, '-o', 'json');
    expect(JSON.parse(asJson.stdout)).toMatchObject({
      diff: { newRelease: true, env: { changed: ['GREETING'] } },
      instances: { stay: [] },
    });
    expect(record()).toEqual(settled);
    expect(
      fleet()!
        .instances.map((i) => i.id)
        .sort(),
    ).toEqual(old);

    // Refused by the server's checks (capacity) and by the schema: the same codes as deploy.
    const huge = server.writeFleet('huge', ['artifact: hello:1.0.0', 'replicas: 10000']);
    const missing = server.writeFleet('missing', ['artifact: nope:0', 'replicas: 1']);
    const invalid = server.writeFleet('invalid', ['artifact: hello:1.0.0', 'replicas: -1']);
    for (const file of [huge, missing, invalid]) {
      const plan = server.cli('plan', file, '-o', 'json');
      const deploy = server.cli('deploy', file, '-o', 'json');
      const code = (r: { stdout: string; stderr: string }) =>
        /"code": *"(E_[A-Z_]+)"/.exec(r.stdout + r.stderr)?.[1];
      expect(code(plan), plan.stdout + plan.stderr).toMatch(/^E_/);
      expect([plan.code, code(plan)]).toEqual([deploy.code, code(deploy)]);
    }
    expect(server.cli('plan', huge).stderr).toContain('E_CAPACITY');
    expect(server.cli('plan', invalid).stderr).toContain('E_FLEET_INVALID');
  }, 180_000);

  it('deploy --wait returns 0 once a canary step holds its pause, saying what it waits for', () => {
    const started = Date.now();
    // The example's step holds 30 s; the wait must not last it (nor the 5 min it once did).
    const r = server.cli(
      'deploy',
      CANARY,
      '--wait',
      '--timeout',
      '2m',
      '--reason',
      'say hallo (JIRA-7)',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /canary step 1\/1: 1 of 3 on the new release; paused for \d+s more \(`ingot promote hello` goes on now\)/,
    );
    expect(Date.now() - started).toBeLessThan(30_000);
    const f = fleet()!;
    expect(f.rollout).toBe('progressing');
    expect(f.waiting?.for).toBe('pause');
    expect(server.cli('history', 'hello').stdout).toMatch(/hello +deploy .*say hallo \(JIRA-7\)/);
  }, 60_000);

  it('abort ends the rollout in progress and goes back to the stable release', async () => {
    const stable = server
      .ledger('hello')
      .filter((e) => e.kind === 'rollout-complete')
      .at(-1)!.detail['release'];
    const r = server.cli('abort', 'hello', '--reason', 'canary 5xx at 2 % (INC-42)');
    expect(r.code, r.stderr).toBe(0);
    // The person's reason is the history's WHY and the ledger's, after the change's own.
    const aborted = (
      JSON.parse(server.cli('history', 'hello', '-o', 'json').stdout) as {
        history: { kind: string; reason?: string }[];
      }
    ).history;
    expect(aborted.filter((e) => e.kind === 'abort').at(-1)?.reason).toBe(
      'aborted by hand (ingot abort): canary 5xx at 2 % (INC-42)',
    );
    expect(
      server.ledger('hello').filter((e) => e.kind === 'rollout-aborted')[0]?.detail['reason'],
    ).toBe('aborted by hand (ingot abort): canary 5xx at 2 % (INC-42)');
    expect(r.stdout).toMatch(/rollout aborted, back to release [0-9a-f]{12} \(rolled-back\)/);
    expect(fleet()).toMatchObject({ release: stable, rollout: 'rolled-back' });
    await waitFor(
      'only the stable release running',
      () =>
        fleet()!.instances.filter((i) => i.state === 'healthy' && i.release === stable).length ===
          3 && fleet()!.instances.every((i) => i.release === stable),
      60_000,
      () => JSON.stringify(fleet()),
    );
    // Nothing in progress: abort and pause refuse, and say what to use instead.
    const again = server.cli('abort', 'hello');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/E_ABORT_NONE/);
    expect(again.stderr).toContain('ingot rollback hello');
    expect(server.cli('pause', 'hello').stderr).toMatch(/E_PAUSE_NONE/);
    expect(server.ledger('hello').filter((e) => e.kind === 'rollout-aborted')).toHaveLength(1);
  }, 90_000);

  it('a paused canary takes no step until resumed, then completes', async () => {
    const file = server.writeFleet(
      'hello',
      readFileSync(CANARY, 'utf8')
        .replace(/^name: hello\n/m, '')
        .replace('GREETING: hallo', 'GREETING: salut')
        .replace('pause: 30s', 'pause: 4s')
        .split('\n'),
    );
    const r = server.cli('deploy', file, '--wait', '--timeout', '90s');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/paused for [1-4]s more/);
    // A reason that would rewrite an operator's terminal is refused, and nothing is paused.
    const escape = server.cli('pause', 'hello', '--reason', 'ok\u001b[2J');
    expect(escape.code).not.toBe(0);
    expect(escape.stderr).toMatch(/reason: no control characters[\s\S]*\(E_REQUEST\)/);
    expect(fleet()!.pausedAt).toBeNull();
    const p = server.cli('pause', 'hello', '--reason', 'hold the canary over lunch');
    expect(p.code, p.stderr).toBe(0);
    expect(server.cli('history', 'hello').stdout).toMatch(
      /hello +pause .*hold the canary over lunch/,
    );
    expect(fleet()).toMatchObject({ rollout: 'progressing', waiting: { for: 'resume' } });
    expect(fleet()!.pausedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(server.cli('status').stdout).toMatch(/progressing \(paused\).*paused by hand/);
    // Well past the step's 4 s: still at the step, one new instance beside two old.
    await sleep(7000);
    const held = fleet()!;
    expect(held.phase).toBe('canary step 1/1: 1 of 3 on the new release');
    expect(held.instances.filter((i) => i.release === held.release)).toHaveLength(1);
    const waited = server.cli('deploy', file, '--wait');
    expect(waited.code, waited.stderr).toBe(0);
    expect(waited.stdout).toContain('paused by hand; run `ingot resume hello` to go on');

    expect(server.cli('resume', 'hello').code).toBe(0);
    expect(server.cli('resume', 'hello').stderr).toMatch(/E_RESUME_NONE/);
    const done = await waitFor(
      'the resumed rollout to complete',
      () => fleet()?.rollout === 'complete' && fleet(),
      90_000,
      () => JSON.stringify(fleet()),
    );
    expect(
      done.instances.filter((i) => i.state === 'healthy' && i.release === done.release),
    ).toHaveLength(3);
    const history = server.cli('history', 'hello').stdout;
    const lines = history.split('\n');
    const at = (kind: string) =>
      lines.findLastIndex((l) => new RegExp(`\\bhello +${kind} `).test(l));
    // The step after the pause was taken only after the resume.
    expect(at('pause')).toBeGreaterThan(at('step-reached'));
    expect(at('resume')).toBeGreaterThan(at('pause'));
    expect(at('step')).toBeGreaterThan(at('resume'));
    for (const kind of ['rollout-paused', 'rollout-resumed'])
      expect(server.ledger('hello').filter((e) => e.kind === kind)).toHaveLength(1);
  }, 180_000);

  it('rollout --watch follows a canary to its end: 0 when complete, 1 when aborted', async () => {
    const canary = (greeting: string, pause: string) =>
      server.writeFleet(
        'hello',
        readFileSync(CANARY, 'utf8')
          .replace(/^name: hello\n/m, '')
          .replace('GREETING: hallo', `GREETING: ${greeting}`)
          .replace('pause: 30s', `pause: ${pause}`)
          .split('\n'),
      );
    expect(server.cli('deploy', canary('hej', '3s')).code).toBe(0);
    const watched = await ingotAsync(['rollout', 'hello', '--watch'], {
      env: server.env,
      timeoutMs: 120_000,
    });
    expect(watched.code, watched.stdout + watched.stderr).toBe(0);
    // Blocks as it changed: the canary step held with its pause, then the full shape.
    expect(watched.stdout).toMatch(/steps: +> 1\. 1 instance\(s\) \(1 of 3\), pause 3s/);
    expect(watched.stdout).toMatch(/waiting: +paused for [1-3]s more/);
    expect(watched.stdout).toMatch(/rollout: +complete/);
    expect(watched.stdout.split('fleet:').length - 1).toBeGreaterThan(2);
    // Its last block is the end, printed once.
    expect(watched.stdout.trimEnd().split('\n\n').at(-1)).toMatch(/rollout: +complete/);

    // A watch of a settled fleet off a terminal prints one block, not one a second.
    await waitFor(
      'the old instances gone',
      () => fleet()?.instances.length === 3,
      60_000,
      () => JSON.stringify(fleet()),
    );
    const still = await ingotAsync(['status', '--watch', 'hello'], {
      env: server.env,
      timeoutMs: 3500,
    });
    expect(still.stdout.match(/^FLEET /gm)).toHaveLength(1);

    expect(server.cli('deploy', canary('hei', '5m')).code).toBe(0);
    const aborted = ingotAsync(['rollout', 'hello', '--watch', '-o', 'json'], {
      env: server.env,
      timeoutMs: 120_000,
    });
    await waitFor('the step to hold', () => fleet()?.waiting?.for === 'pause', 60_000);
    expect(server.cli('abort', 'hello').code).toBe(0);
    const ended = await aborted;
    expect(ended.code, ended.stderr).toBe(1);
    expect(ended.stdout).toContain('"rollout": "rolled-back"');
  }, 240_000);
});
