import type * as z from 'zod';
import { hostAnswers, HOST_PATHS, hostPath } from '../../core/api/host-routes.js';
import type { InstanceLogs, LogsQuery, VerifiedRootfs } from '../../core/api/instances.js';
import type { HostView } from '../../domain/cluster.js';
import { IngotError } from '../../domain/errors.js';
import type { ObservedInstance, PreviousInstance } from '../../domain/instance.js';
import { sessionQuery } from '../../core/session/request.js';
import type { InstanceHosts, SessionAttach } from '../../ports/instance-hosts.js';
import type { DebugAccess } from '../debug.js';
import { inParallel } from '../registry/in-parallel.js';

/** A host whose agent has an API, as its registration says. */
export interface CallableHost {
  readonly name: string;
  readonly api: string;
}

export interface RemoteHostsDeps {
  /** Every instance once, on its host (the cluster's view). */
  observe(): Promise<readonly ObservedInstance[]>;
  hosts(): Promise<readonly HostView[]>;
  /** A signed call to the host's agent (adapters/host-calls): its answer, unparsed. */
  call(host: CallableHost, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown>;
  /** A signed session opened on the host's agent (`path` with its query), relayed as is. */
  openSession(host: CallableHost, path: string): Promise<SessionAttach>;
}

/** Hosts asked at once when every host is asked (verification, an exited instance's output). */
const AT_ONCE = 8;

/**
 * The instances of a cluster, acted on where they run: each call goes to the agent of the
 * instance's host (its own API), signed by this server. What a host answers is parsed as
 * hostile, and an instance is looked up in the cluster's view, never in what a host claims.
 */
export function remoteInstanceHosts(deps: RemoteHostsDeps): InstanceHosts {
  const hostOf = async (
    id: string,
  ): Promise<{ host: CallableHost; instance: ObservedInstance }> => {
    const instance = (await deps.observe()).find((i) => i.id === id);
    if (!instance?.host)
      throw new IngotError('E_INSTANCE_NOT_FOUND', `no instance ${JSON.stringify(id)}`);
    const view = (await deps.hosts()).find((h) => h.name === instance.host);
    return { host: callable(view, instance.host), instance };
  };
  const ask = async <S extends z.ZodType>(
    host: CallableHost,
    schema: S,
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
  ): Promise<z.output<S>> => {
    const parsed = schema.safeParse(await deps.call(host, method, path, body));
    if (!parsed.success)
      throw new IngotError(
        'E_CLUSTER_HOST_UNREACHABLE',
        `host ${host.name} answered ${path} with something else`,
        { details: { host: host.name } },
      );
    return parsed.data;
  };
  return {
    observe: () => deps.observe(),
    async verifyInstances(): Promise<VerifiedRootfs[]> {
      const hosts = (await deps.hosts()).filter((h) => h.state === 'live');
      const reports: VerifiedRootfs[] = [];
      await everyHost(hosts, async (host) => {
        const report = await ask(
          host,
          hostAnswers.verifyInstances,
          'POST',
          HOST_PATHS.verifyInstances,
        );
        reports.push(...report.map((r) => ({ ...r, host: host.name })));
      });
      return reports;
    },
    async openDebug(id: string, access: DebugAccess): Promise<ObservedInstance> {
      const { host } = await hostOf(id);
      const path = hostPath(HOST_PATHS.openDebug, id);
      const instance = await ask(host, hostAnswers.openDebug, 'POST', path, { access });
      return { ...instance, host: host.name };
    },
    async closeDebug(id: string): Promise<void> {
      const { host } = await hostOf(id);
      await ask(host, hostAnswers.closeDebug, 'POST', hostPath(HOST_PATHS.closeDebug, id), {});
    },
    async debugSession(id, request): Promise<SessionAttach> {
      const { host } = await hostOf(id);
      // The host checks the session against the opening it recorded (break-glass.ts).
      return deps.openSession(host, `${hostPath(HOST_PATHS.session, id)}?${sessionQuery(request)}`);
    },
    async logs(id: string, query: LogsQuery): Promise<InstanceLogs> {
      const { host } = await hostOf(id);
      const search = new URLSearchParams(
        Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined),
      ).toString();
      const path = `${hostPath(HOST_PATHS.logs, id)}${search === '' ? '' : `?${search}`}`;
      return ask(host, hostAnswers.logs, 'GET', path);
    },
    async previous(id: string): Promise<PreviousInstance> {
      // Gone from the view once replaced: whichever host kept its output answers.
      const hosts = (await deps.hosts()).filter((h) => h.state === 'live');
      const found: PreviousInstance[] = [];
      const failed: string[] = [];
      await inParallel(hosts, AT_ONCE, async (view) => {
        try {
          const path = hostPath(HOST_PATHS.previous, id);
          const kept = await ask(callable(view, view.name), hostAnswers.previous, 'GET', path);
          if (kept.id === id) found.push(kept);
        } catch (err) {
          const code = err instanceof IngotError ? String(err.code) : '';
          if (code !== 'E_INSTANCE_NOT_FOUND' && code !== 'E_PREVIOUS_NOT_FOUND')
            failed.push(err instanceof Error ? err.message : String(err));
        }
      });
      if (found[0] !== undefined) return found[0];
      throw failed.length > 0
        ? new IngotError(
            'E_CLUSTER_HOST_UNREACHABLE',
            `no host that answered kept an exited instance ${JSON.stringify(id)}, and ${failed.length} could not be asked: ${failed.sort().join('; ')}`,
          )
        : new IngotError(
            'E_INSTANCE_NOT_FOUND',
            `no host kept an exited instance ${JSON.stringify(id)}`,
          );
    },
  };
}

/** The host to call for an instance there, or why it cannot be called. */
function callable(view: HostView | undefined, name: string): CallableHost {
  if (!view || view.state === 'lost' || !view.registration)
    throw new IngotError(
      'E_CLUSTER_HOST_UNREACHABLE',
      `host ${name} is lost: its agent cannot be reached (its instances are being replaced)`,
      { details: { host: name } },
    );
  if (view.registration.api === undefined)
    throw new IngotError(
      'E_CLUSTER_HOST_ONLY',
      `host ${name}'s agent offers no API: start it with --listen ADDR:PORT`,
      { details: { host: name } },
    );
  return { name, api: view.registration.api };
}

/**
 * Ask every live host, a few at a time; every host that could not be asked is named in one
 * error (a partial answer would pass for the whole cluster's).
 */
async function everyHost(
  hosts: readonly HostView[],
  work: (host: CallableHost) => Promise<void>,
): Promise<void> {
  const failed: string[] = [];
  await inParallel(hosts, AT_ONCE, async (view) => {
    try {
      await work(callable(view, view.name));
    } catch (err) {
      failed.push(err instanceof Error ? err.message : String(err));
    }
  });
  if (failed.length > 0)
    throw new IngotError(
      'E_CLUSTER_HOST_UNREACHABLE',
      `${failed.length} of ${hosts.length} hosts could not be asked: ${failed.sort().join('; ')}`,
    );
}
