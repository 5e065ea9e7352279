import type { ObservedInstance } from '../domain/instance.js';

/** What a host agent keeps of an instance across its own restarts. */
export type SavedInstance = Omit<ObservedInstance, 'host' | 'integrity'> & {
  /** The rootfs folder it runs from. */
  readonly rootfs?: string;
  /** Mount points the host added to that rootfs. */
  readonly addedMountPoints?: readonly string[];
};

/**
 * The agent's own record of its instances, so that a restarted agent adopts what it started
 * and removes what it did not. Saving replaces the record whole; a crash leaves the old one
 * or the new one.
 */
export interface AgentStateStore {
  /** What the last run saved; a damaged record is set aside (kept for inspection) and is empty. */
  load(): unknown[];
  save(instances: readonly SavedInstance[]): void;
}
