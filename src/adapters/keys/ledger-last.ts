import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../shared/atomic-file.js';

/**
 * The last checkpoint the ledger signed, kept beside its key: a database rewritten while the
 * server was down (its stored checkpoints deleted too) must still extend it, or it is
 * refused a signature after the restart.
 */
export class LastCheckpointFile {
  readonly path: string;

  constructor(home: string) {
    this.path = join(home, 'keys', 'ledger.last');
  }

  read(): string | undefined {
    return existsSync(this.path) ? readFileSync(this.path, 'utf8') : undefined;
  }

  /** Durably: never an empty file after a power cut. */
  keep(note: string): void {
    writeFileAtomic(this.path, note, { mode: 0o600 });
  }
}
