import { worthRecording } from '../../core/controller/backoff.js';
import type { AgentContext, InstanceRef } from './context.js';

/** Fleets × releases whose failures are counted; past it the oldest count is forgotten. */
const MAX_KEYS = 10_000;

/**
 * What the ledger keeps of each start attempt on this host: its admission, recorded once the
 * attempt's outcome is known. A start that runs is always recorded (admission, then
 * instance-started). Attempts that fail again and again for one cause (a tampered blob, a
 * setting runc refuses) are recorded the first time and then at each doubling of the count
 * (with the count): the ledger grows with the logarithm of the retries, never one entry per
 * retry, whatever pace the retries come at. The counts live in memory only: they pace records,
 * decide nothing, and a restarted agent records one more of each.
 */
export class StartRecords {
  private readonly failing = new Map<string, number>();

  constructor(private readonly emit: AgentContext['emit']) {}

  /** The attempt runs: its admission is recorded, and its release's failures are over. */
  started(t: InstanceRef, admission: Record<string, unknown>): void {
    this.failing.delete(keyOf(t));
    this.emit('admission', t, admission);
  }

  /** The attempt failed (refused here, or the runtime would not start it). */
  failed(t: InstanceRef, admission: Record<string, unknown>): void {
    const key = keyOf(t);
    const n = (this.failing.get(key) ?? 0) + 1;
    this.failing.delete(key); // re-inserted last: the oldest key is the first forgotten
    this.failing.set(key, n);
    if (this.failing.size > MAX_KEYS) this.failing.delete(this.failing.keys().next().value!);
    if (worthRecording(n))
      this.emit('admission', t, n > 1 ? { ...admission, failedInARow: n } : admission);
  }
}

const keyOf = (t: InstanceRef) => `${t.fleet}\0${t.release ?? t.artifact}`;
