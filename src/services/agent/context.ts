import type { LedgerEntryDraft } from '../../core/ledger/index.js';
import type { Digest } from '../../domain/digest.js';
import type { IntegrityMonitor } from '../integrity/index.js';
import type { AgentDeps } from './deps.js';
import type { artifactFetcher } from './fetch-artifact.js';
import type { StartRecords } from './start-records.js';

/** The instance an event is about. */
export interface InstanceRef {
  readonly id: string;
  readonly fleet: string;
  readonly artifact: Digest;
  readonly release?: string;
}

/** What every step of the agent shares: its deps, its monitor, and how it records. */
export interface AgentContext {
  readonly deps: AgentDeps;
  readonly monitor: IntegrityMonitor | null;
  /** Record an event about an instance in the ledger (never throws). */
  readonly emit: (kind: string, t: InstanceRef, detail?: Record<string, unknown>) => void;
  /** Each start attempt's admission, recorded by its outcome (start-records.ts). */
  readonly records: StartRecords;
  /** The artifact into the store, pulled by digest if it is not there (fetch-artifact.ts). */
  readonly fetchArtifact: ReturnType<typeof artifactFetcher>;
}

/** A ledger event about an instance, as this host saw it. Pure. */
export function instanceEvent(
  time: number,
  hostName: string | undefined,
  kind: string,
  t: InstanceRef,
  detail: Record<string, unknown> = {},
): LedgerEntryDraft {
  return {
    time,
    actor: hostName ? `agent@${hostName}` : 'agent',
    kind,
    subjects: [t.artifact, ...(t.release?.startsWith('sha256:') ? [t.release] : [])].sort(),
    fleet: t.fleet,
    instance: t.id,
    detail: { ...(t.release !== undefined && { release: t.release }), ...detail },
  };
}
