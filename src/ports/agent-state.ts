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
 * and removes what it did not. Changes are saved one instance at a time: the cost of a change
 * does not grow with the number of instances (a fleet of thousands once made every change
 * rewrite and fsync the whole record). A crash keeps every change made before it, except at
 * most the last few an interrupted write tore, which are ignored whole, never half-read.
 */
export interface AgentStateStore {
  /** What the last run saved; a damaged record is set aside (kept for inspection) and is empty. */
  load(): unknown[];
  /** The instance as it is now replaces what was saved of it. */
  put(instance: SavedInstance): void;
  /** The instance is no longer in the record. */
  remove(id: string): void;
  /** Everything saved so far is on disk when this resolves. */
  flush(): Promise<void>;
  /** Flushed and closed; a later change opens it again. */
  close(): Promise<void>;
}
