import type { IntegrityMonitor } from '../integrity/index.js';

/**
 * When the monitor checks beyond file events: processes, mounts and executables every
 * `processCheckMs`; every rootfs in use in full every `fullVerifyMs` (0: never), in the
 * background, so that hashing a large tree never holds up health probes.
 */
export class IntegritySchedule {
  private lastProcessCheck = 0;
  private lastFullVerify = 0;
  private verifying: Promise<unknown> | null = null;

  constructor(
    private readonly monitor: IntegrityMonitor,
    private readonly processCheckMs: number,
    private readonly fullVerifyMs: number,
  ) {}

  /** Run what is due at `now`. */
  run(now: number): void {
    if (now - this.lastProcessCheck >= this.processCheckMs) {
      this.lastProcessCheck = now;
      try {
        this.monitor.checkProcesses();
      } catch {
        // A /proc read that failed is checked again next time.
      }
    }
    if (this.fullVerifyMs <= 0 || this.verifying !== null) return;
    if (this.lastFullVerify === 0) this.lastFullVerify = now;
    else if (now - this.lastFullVerify >= this.fullVerifyMs) {
      this.lastFullVerify = now;
      this.verifying = this.monitor
        .verifyAll()
        .catch(() => undefined)
        .finally(() => (this.verifying = null));
    }
  }

  /** Resolves when a full verification under way (if any) has ended. */
  async settled(): Promise<void> {
    await this.verifying;
  }
}
