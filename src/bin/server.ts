import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { destination, multistream, pino } from 'pino';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { buildApi } from '../adapters/http/api.js';
import { ledgerKey } from '../adapters/keys/ledger-key.js';
import { Checkpointer, latestCheckpoint } from '../adapters/sqlite/ledger.js';
import { generateKeyFiles } from '../adapters/keys/key-files.js';
import { OciLayoutStore } from '../adapters/oci-layout/store.js';
import { SqliteFleetStore } from '../adapters/sqlite/fleet-store.js';
import { digestOf, isDigest, type Digest } from '../domain/digest.js';
import { IngotError } from '../domain/errors.js';
import { Controller, shapeOf } from '../services/controller.js';
import { deploy } from '../services/deploy.js';
import { LedgerRecorder } from '../services/ledger.js';
import { parseDebugRequest } from '../services/debug.js';
import { promote } from '../services/promote.js';
import { verifyArtifact } from '../services/verify.js';
import { isAlive } from '../cli/process.js';
import { createAgent, makeTrust, type AgentOptions } from './agent.js';

export interface ServerOptions extends Omit<AgentOptions, 'logMaxBytes'> {
  readonly port?: number;
  readonly host?: string;
  /** How often the controller reconciles (default 500 ms). */
  readonly intervalMs?: number;
  /** Log to stdout too (foreground). */
  readonly logToStdout?: boolean;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  /** Resolves when the server has stopped (after `ingot down` or a signal). */
  readonly stopped: Promise<void>;
  stop(options?: { stopInstances?: boolean }): Promise<void>;
}

/**
 * Take $INGOT_HOME for this server: a folder only its owner can write (the token and the
 * state live there), and at most one server at a time (two controllers would fight over
 * the same instances). Returns the release of the claim.
 */
function claimHome(home: string): () => void {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const st = lstatSync(home);
  const euid = process.geteuid?.();
  if (!st.isDirectory() || (euid !== undefined && st.uid !== euid) || (st.mode & 0o022) !== 0)
    throw new IngotError(
      'E_HOME_UNSAFE',
      `${home} must be a folder owned by this user that no one else can write (chmod 700 ${home})`,
    );
  const lock = join(home, 'server.lock');
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(lock, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return () => rmSync(lock, { force: true });
    } catch (err) {
      let holder = 0;
      try {
        holder = Number(readFileSync(lock, 'utf8').trim());
      } catch {
        // vanished meanwhile: try again
      }
      if (attempt === 0 && !(Number.isInteger(holder) && holder > 0 && isAlive(holder))) {
        rmSync(lock, { force: true }); // left by a server that died
        continue;
      }
      throw new IngotError('E_ALREADY_RUNNING', `Ingot already runs for ${home} (pid ${holder})`, {
        cause: err,
      });
    }
  }
}

/** The admin token: made once, 0600, read by the CLI. */
export function ensureToken(home: string): string {
  const path = join(home, 'token');
  if (!existsSync(path))
    writeFileSync(path, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return readFileSync(path, 'utf8').trim();
}

/**
 * Where trust comes from when nothing is configured: a key pair of this machine, made on
 * the first `ingot up` ($INGOT_HOME/keys/local.*). `ingot build` signs with it by default.
 */
export function localKeys(home: string): { key: string; pub: string } {
  const dir = join(home, 'keys');
  const key = join(dir, 'local.key');
  const pub = join(dir, 'local.pub');
  if (!existsSync(key) && !existsSync(pub)) generateKeyFiles(dir, 'local');
  return { key, pub };
}

/**
 * Composition root of `ingot up`: the HTTP API, the controller and a local agent in one
 * process, state in SQLite under $INGOT_HOME.
 */
export async function runServer(options: ServerOptions): Promise<RunningServer> {
  const { home } = options;
  const releaseLock = claimHome(home);
  const logger = pino(
    { level: 'info', base: { pid: process.pid } },
    options.logToStdout
      ? multistream([{ stream: destination(join(home, 'server.log')) }, { stream: process.stdout }])
      : destination(join(home, 'server.log')),
  );
  const tokenIsNew = !existsSync(join(home, 'token'));
  const localKeyIsNew = !existsSync(join(home, 'keys', 'local.key'));
  const token = ensureToken(home);
  const keyFiles =
    options.policyFile === undefined && (options.keyFiles ?? []).length === 0
      ? [localKeys(home).pub]
      : (options.keyFiles ?? []);
  const store = await OciLayoutStore.open(join(home, 'store'));
  const fleets = await SqliteFleetStore.open(join(home, 'state.db'));
  const signing = ledgerKey(home);
  // The last checkpoint signed, kept beside the key: a database rewritten while the server
  // was down (stored checkpoints deleted too) is refused a signature after the restart.
  const lastFile = join(home, 'keys', 'ledger.last');
  let checkpointer: Checkpointer;
  try {
    checkpointer = new Checkpointer(
      signing.privateKey,
      signing.origin,
      existsSync(lastFile) ? readFileSync(lastFile, 'utf8') : undefined,
    );
  } catch (err) {
    await fleets.close();
    releaseLock();
    throw new IngotError(
      'E_LEDGER_LAST',
      `${lastFile} does not verify with ${join(home, 'keys', 'ledger.key')} (${err instanceof Error ? err.message : 'unreadable'}): the key or the file was replaced. If you start a new log on purpose, move the file aside`,
    );
  }
  const signCheckpoint = async () => {
    const latest = await checkpointer.checkpoint(fleets.ledgerDb, Date.now());
    const tmp = `${lastFile}.tmp-${process.pid}`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, latest.note);
      fsyncSync(fd); // never an empty file after a power cut
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, lastFile);
    return latest;
  };
  const recorder = new LedgerRecorder(
    {
      append: (drafts) => fleets.append(drafts),
      checkpoint: signCheckpoint,
      onError: (err) => logger.error({ err }, 'ledger append failed; kept queued'),
    },
    {
      everyMs: 10_000,
      everyEntries: 1000,
      batchMs: 100,
      outbox: join(home, 'ledger-outbox.jsonl'),
    },
  );
  const replayed = await recorder.recover().catch((err: unknown) => {
    logger.error({ err }, 'ledger events of the last run not recorded yet; kept queued');
    return 0;
  });
  if (replayed > 0) logger.info({ replayed }, 'ledger events of the last run recorded');
  const me = `server@${hostname()}`;
  const started = Date.now();
  if (signing.created)
    recorder.record({
      time: started,
      actor: me,
      kind: 'key',
      subjects: [],
      detail: { purpose: 'ledger checkpoints', vkey: signing.vkey },
    });
  if (localKeyIsNew && existsSync(join(home, 'keys', 'local.pub')))
    recorder.record({
      time: started,
      actor: me,
      kind: 'key',
      subjects: [digestOf(readFileSync(join(home, 'keys', 'local.pub')))],
      detail: { purpose: 'signing builds on this machine', file: join(home, 'keys', 'local.pub') },
    });
  if (tokenIsNew)
    recorder.record({
      time: started,
      actor: me,
      kind: 'token',
      subjects: [],
      // The token's digest names it without revealing it.
      detail: { action: 'created', token: digestOf(token) },
    });
  // What admission trusts: the policy file and key files, by digest. Recorded at start and
  // whenever it changes (the files are read afresh on every admission).
  const trustState = () => {
    const read = (file: string) => {
      try {
        return digestOf(readFileSync(file));
      } catch {
        return 'unreadable';
      }
    };
    return {
      ...(options.policyFile !== undefined && {
        policyFile: options.policyFile,
        policy: read(options.policyFile),
      }),
      keys: keyFiles.map((k) => ({ file: k, key: read(k) })),
    };
  };
  let trusted = JSON.stringify(trustState());
  const noteTrust = (change: 'loaded' | 'changed') => {
    const state = trustState();
    trusted = JSON.stringify(state);
    recorder.record({
      time: Date.now(),
      actor: me,
      kind: 'policy',
      subjects: [],
      detail: { change, ...state },
    });
  };
  noteTrust('loaded');
  await recorder.flush();
  const agent = await createAgent({
    onEvent: (event) => recorder.record(event),
    home,
    ...(options.policyFile !== undefined && { policyFile: options.policyFile }),
    keyFiles,
    ...(options.bridge !== undefined && { bridge: options.bridge }),
    ...(options.subnet !== undefined && { subnet: options.subnet }),
    ...(options.cgroupParent !== undefined && { cgroupParent: options.cgroupParent }),
    ...(options.stopGraceMs !== undefined && { stopGraceMs: options.stopGraceMs }),
    ...(options.fullVerifyMs !== undefined && { fullVerifyMs: options.fullVerifyMs }),
  });
  const recovered = await agent.recover();
  logger.info(recovered, 'agent recovered');
  const trust = makeTrust({
    ...(options.policyFile !== undefined && { policyFile: options.policyFile }),
    keyFiles,
  });
  const admittedCache = new Map<Digest, { ok: boolean; at: number }>();
  const controller = new Controller({
    fleets,
    agent,
    record: (event) => recorder.record(event),
    now: () => Date.now(),
    admitted: async (artifact) => {
      const hit = admittedCache.get(artifact);
      if (hit && Date.now() - hit.at < 30_000) return hit.ok;
      const t = await trust();
      const report = await verifyArtifact(store, {
        ref: artifact,
        policy: t.policy,
        keys: t.keys,
        rehash: false,
      }).catch(() => null);
      if (report === null) return null; // not a verdict: asked again next pass
      admittedCache.set(artifact, { ok: report.ok, at: Date.now() });
      return report.ok;
    },
  });

  const registry = new Registry();
  const instancesGauge = new Gauge({
    name: 'ingot_instances',
    help: 'Instances by fleet and state',
    labelNames: ['fleet', 'state'],
    registers: [registry],
  });
  new Counter({
    name: 'ingot_integrity_seconds_total',
    help: 'Time spent measuring instances: file events, processes, mounts, full verifications',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(agent.integritySeconds());
    },
  });
  const reconcileSeconds = new Histogram({
    name: 'ingot_reconcile_seconds',
    help: 'Duration of one reconcile pass',
    registers: [registry],
  });

  agent.run(100);
  let loop: NodeJS.Timeout | null = null;
  let running: Promise<unknown> = Promise.resolve();
  // Passes never overlap and never pile up: a request for a pass while one runs asks for
  // exactly one more after it. Nothing is asked once the server is stopping.
  let busy = false;
  let again = false;
  let closing = false;
  const tick = () => {
    if (closing) return;
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    running = (async () => {
      do {
        again = false;
        const end = reconcileSeconds.startTimer();
        try {
          const statuses = await controller.reconcile();
          instancesGauge.reset();
          for (const s of statuses)
            for (const i of s.instances)
              instancesGauge.inc({ fleet: s.fleet.name, state: i.state });
        } catch (err) {
          logger.error({ err }, 'reconcile failed; retrying');
        } finally {
          end();
        }
      } while (again && !closing);
      busy = false;
    })();
  };
  loop = setInterval(tick, options.intervalMs ?? 500);
  let trustChecked = 0;
  const checkpoints = setInterval(() => {
    if (Date.now() - trustChecked >= 5000) {
      trustChecked = Date.now();
      try {
        if (JSON.stringify(trustState()) !== trusted) noteTrust('changed');
      } catch (err) {
        logger.error({ err }, 'what admission trusts could not be recorded');
      }
    }
    recorder
      .maybeCheckpoint(Date.now())
      .catch((err: unknown) => logger.error({ err }, 'ledger checkpoint failed'));
  }, 1000);

  let resolveStopped: () => void = () => undefined;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopping: Promise<void> | null = null;
  const stop = (opts: { stopInstances?: boolean } = {}): Promise<void> => {
    stopping ??= (async () => {
      closing = true;
      if (loop) clearInterval(loop);
      loop = null;
      clearInterval(checkpoints);
      await running;
      await api.close();
      if (opts.stopInstances) {
        await agent.apply([]);
        await agent
          .releaseNetwork()
          .catch((err: unknown) => logger.warn({ err }, 'the bridge was not removed'));
      }
      await agent.close();
      // Everything recorded, and a checkpoint over it, before the database closes.
      await recorder
        .close()
        .then(() => recorder.maybeCheckpoint(Date.now(), true))
        .catch((err: unknown) => logger.error({ err }, 'ledger not flushed at stop'));
      await fleets.close();
      rmSync(join(home, 'server.json'), { force: true });
      releaseLock();
      logger.info({ stopInstances: opts.stopInstances === true }, 'stopped');
      resolveStopped();
    })();
    return stopping;
  };

  const api = buildApi(
    token,
    {
      deploy: async (body) => {
        const record = await deploy(
          {
            store,
            fleets,
            trust,
            now: () => Date.now(),
            record: (event) => recorder.record(event),
          },
          body,
        );
        tick();
        return record;
      },
      rollback: async (name, body) => {
        const to = (body as { to?: unknown } | null)?.to;
        if (to !== undefined && !isDigest(to))
          throw new IngotError('E_USAGE', 'to must be a release digest (sha256:…)');
        await fleets.rollBack(
          name,
          'by hand (ingot rollback)',
          Date.now(),
          to === undefined ? {} : { to },
        );
        tick();
        return fleets.fleet(name);
      },
      promote: async (name, body) => {
        const full = (body as { full?: unknown } | null)?.full;
        if (full !== undefined && typeof full !== 'boolean')
          throw new IngotError('E_USAGE', 'full must be true or false');
        const record = await promote(fleets, name, { full: full === true, now: Date.now() });
        tick();
        return record;
      },
      fleets: async () => {
        const observed = await agent.observe();
        const reasons = new Map(controller.status().map((s) => [s.fleet.name, s.reasons]));
        return (await fleets.fleets()).map((f) => {
          const shape = shapeOf(f);
          return {
            ...f,
            phase: shape.label,
            awaitingPromotion:
              f.rollout === 'progressing' && f.stepReadyAt !== null && shape.pauseMs === null,
            reasons: reasons.get(f.name) ?? [],
            instances: observed.filter((i) => i.fleet === f.name),
          };
        });
      },
      drift: async (fleet) =>
        (await agent.observe()).filter(
          (i) => (fleet === undefined || i.fleet === fleet) && (i.evidence?.length ?? 0) > 0,
        ),
      verifyInstances: async () => {
        const report = await agent.verifyInstances();
        tick();
        return report;
      },
      openDebug: async (id, body) => {
        const access = parseDebugRequest(body);
        const instance = agent.openDebug(id, access);
        await fleets.note(
          instance.fleet,
          'break-glass-open',
          `${id} by ${access.who}: ${access.reason} (${access.command}; for at most ${access.ttlMs / 1000} s)`,
          Date.now(),
          {
            // The token authenticates; the user name is what the client claims.
            actor: 'admin',
            instance: id,
            subjects: [instance.artifact],
            detail: {
              who: access.who,
              reason: access.reason,
              command: access.command,
              ttlSeconds: access.ttlMs / 1000,
            },
          },
        );
        tick();
        return instance;
      },
      closeDebug: async (id) => {
        const instance = (await agent.observe()).find((i) => i.id === id);
        if (!instance)
          throw new IngotError('E_INSTANCE_NOT_FOUND', `no instance ${JSON.stringify(id)}`);
        agent.closeDebug(id);
        await fleets.note(instance.fleet, 'break-glass-close', `${id}: replaced now`, Date.now(), {
          actor: 'admin',
          instance: id,
          subjects: [instance.artifact],
        });
        tick();
        return { id, closed: true };
      },
      history: (fleet) => fleets.history(fleet),
      checkpoint: async () => {
        await recorder.maybeCheckpoint(Date.now(), true);
        return latestCheckpoint(fleets.ledgerDb);
      },
      metrics: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
      shutdown: ({ stopInstances }) => {
        setImmediate(() => void stop({ stopInstances }));
      },
    },
    logger,
  );
  const host = options.host ?? '127.0.0.1';
  try {
    await api.listen({ host, port: options.port ?? 0 });
  } catch (err) {
    // No API, no server: nothing may keep reconciling in the background.
    await stop();
    throw new IngotError(
      'E_SERVER_START',
      `cannot listen on ${host}:${options.port ?? 0}: ${err instanceof Error ? err.message : 'unknown error'}`,
    );
  }
  const address = api.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  writeFileSync(
    join(home, 'server.json'),
    JSON.stringify({ pid: process.pid, port, host }) + '\n',
    { mode: 0o600 },
  );
  logger.info({ host, port }, 'listening');
  tick();
  return { url: `http://${host}:${port}`, port, stopped, stop };
}
