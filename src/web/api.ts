import type { UiFleet } from '../core/ui/fleet-view.js';
import type { UiRole } from '../core/ui/sessions.js';
import type {
  UiCheckpoint,
  UiEntriesPage,
  UiEntry,
  UiHost,
} from '../adapters/http/ui/evidence-routes.js';
import type { EntryProof } from '../core/ui/proof-verify.js';
import type {
  ArtifactEvidence,
  ArtifactListed,
  MeasurementPage,
} from '../core/ui/artifact-view.js';

export type {
  ArtifactEvidence,
  ArtifactListed,
  EntryProof,
  MeasurementPage,
  UiCheckpoint,
  UiEntriesPage,
  UiEntry,
  UiFleet,
  UiHost,
  UiRole,
};

/** What the page knows of its session: its role and the value its actions must carry. */
export interface Session {
  readonly role: UiRole;
  readonly csrf: string;
}

/** An answer other than 2xx, with the API's error code when it gave one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The session ended (or never began): the page shows the sign-in form. */
export const signedOut = (err: unknown): boolean =>
  err instanceof ApiError && err.code === 'E_UI_SESSION';

async function call<T>(
  method: 'GET' | 'POST',
  path: string,
  options: { csrf?: string; body?: unknown } = {},
): Promise<T> {
  const headers: Record<string, string> = {};
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.csrf !== undefined) headers['x-ingot-csrf'] = options.csrf;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    cache: 'no-store',
    ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
  });
  const json = (await res.json().catch(() => null)) as {
    error?: { code?: unknown; message?: unknown };
  } | null;
  if (!res.ok) {
    const code = typeof json?.error?.code === 'string' ? json.error.code : 'E_HTTP';
    const message =
      typeof json?.error?.message === 'string' ? json.error.message : `HTTP ${res.status}`;
    throw new ApiError(res.status, code, message);
  }
  return json as T;
}

export const getSession = () => call<Session>('GET', '/ui/session');
export const signIn = (token: string) => call<Session>('POST', '/ui/session', { body: { token } });
export const signOut = (session: Session) =>
  call<unknown>('POST', '/ui/session/end', { csrf: session.csrf, body: {} });
export const getFleets = () => call<UiFleet[]>('GET', '/ui/api/fleets');
export const promote = (session: Session, fleet: string, reason?: string) =>
  call<unknown>('POST', `/ui/api/fleets/${encodeURIComponent(fleet)}/promote`, {
    csrf: session.csrf,
    body: reason === undefined ? {} : { reason },
  });

// Fleet operations (adapters/http/ui/ops-routes.ts): the answers' types, erased at build.
export type { FleetAction } from '../core/ui/fleet-actions.js';
export type { UiReleases, UiReleaseChange, UiHistoryLine } from '../core/ui/release-view.js';
export type { DriftCase, UiEvidence } from '../core/ui/drift-view.js';
export type { UiLogTail } from '../core/ui/log-tail.js';
import type { FleetAction } from '../core/ui/fleet-actions.js';
import type { UiReleases } from '../core/ui/release-view.js';
import type { DriftCase } from '../core/ui/drift-view.js';
import type { UiLogTail } from '../core/ui/log-tail.js';

const fleetPath = (fleet: string) => `/ui/api/fleets/${encodeURIComponent(fleet)}`;
export const act = (session: Session, fleet: string, action: FleetAction, reason?: string) =>
  call<unknown>('POST', `${fleetPath(fleet)}/${action}`, {
    csrf: session.csrf,
    body: reason === undefined ? {} : { reason },
  });
export const getReleases = (fleet: string) =>
  call<UiReleases>('GET', `${fleetPath(fleet)}/releases`);
export const getDrift = (fleet: string) =>
  call<{ fleet: string; cases: DriftCase[] }>('GET', `${fleetPath(fleet)}/drift`);
export const getLogTail = (fleet: string, id: string) =>
  call<UiLogTail>('GET', `${fleetPath(fleet)}/instances/${encodeURIComponent(id)}/logs`);
const query = (params: Record<string, string | number | undefined>) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  const text = q.toString();
  return text === '' ? '' : `?${text}`;
};

// The evidence views (ledger, artifacts, hosts): reads only, typed by the server's own shapes.
export const getEntries = (before?: number) =>
  call<UiEntriesPage>('GET', `/ui/api/ledger/entries${query({ before, limit: 25 })}`);
export const getCheckpoints = () =>
  call<{ checkpoints: UiCheckpoint[] }>('GET', '/ui/api/ledger/checkpoints');
export const getLedgerKey = () => call<{ vkey: string }>('GET', '/ui/api/ledger/key');
export const getProof = (seq: number) => call<EntryProof>('GET', `/ui/api/ledger/proof/${seq}`);
export const getArtifacts = () => call<{ artifacts: ArtifactListed[] }>('GET', '/ui/api/artifacts');
export const getArtifact = (digest: string) =>
  call<ArtifactEvidence>('GET', `/ui/api/artifacts/${encodeURIComponent(digest)}`);
export const getMeasurement = (digest: string, offset: number, filter: string) =>
  call<MeasurementPage>(
    'GET',
    `/ui/api/artifacts/${encodeURIComponent(digest)}/measurement${query({ offset, limit: 100, filter })}`,
  );
export const getHosts = () => call<{ hosts: UiHost[] }>('GET', '/ui/api/hosts');
