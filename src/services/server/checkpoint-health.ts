/** Whether the ledger's checkpoints are being signed, as the server and `ingot status` say it. */
export interface CheckpointView {
  readonly checkpoints: 'ok' | 'failing';
  /** When the last checkpoint was signed (ms), if one was in this run. */
  readonly lastSigned?: number;
  /** Since when signing fails (ms), and why. */
  readonly since?: number;
  readonly error?: { readonly code: string; readonly message: string };
  /** Failed attempts in this run. */
  readonly failures: number;
}

/**
 * A ledger whose checkpoints stop being signed still takes entries, and nothing else looks
 * different: an auditor finds out months later that nothing since is vouched for. This keeps
 * the state that the log, /metrics and `ingot status` show. Time comes in as an argument.
 */
export class CheckpointHealth {
  private lastSigned: number | undefined;
  private failingSince: number | undefined;
  private error: { code: string; message: string } | undefined;
  private failures = 0;

  signed(now: number): void {
    this.lastSigned = now;
    this.failingSince = undefined;
    this.error = undefined;
  }

  /** Returns true on the first failure of a run of failures (worth the loudest report). */
  failed(error: { code: string; message: string }, now: number): boolean {
    this.failures++;
    this.error = error;
    const first = this.failingSince === undefined;
    this.failingSince ??= now;
    return first;
  }

  view(): CheckpointView {
    return {
      checkpoints: this.failingSince === undefined ? 'ok' : 'failing',
      ...(this.lastSigned !== undefined && { lastSigned: this.lastSigned }),
      ...(this.failingSince !== undefined && { since: this.failingSince }),
      ...(this.error !== undefined && { error: this.error }),
      failures: this.failures,
    };
  }
}
