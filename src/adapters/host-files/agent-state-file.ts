import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentStateStore, SavedInstance } from '../../ports/agent-state.js';
import { writeFileAtomic } from '../shared/atomic-file.js';

const STATE_VERSION = 1;

/** The agent's record of its instances: `$INGOT_HOME/agent/state.json`, replaced whole. */
export class AgentStateFile implements AgentStateStore {
  private readonly dir: string;
  private readonly file: string;

  constructor(home: string) {
    this.dir = join(home, 'agent');
    this.file = join(this.dir, 'state.json');
  }

  load(): unknown[] {
    if (!existsSync(this.file)) return [];
    try {
      const saved = (JSON.parse(readFileSync(this.file, 'utf8')) as { instances?: unknown })
        .instances;
      return Array.isArray(saved) ? saved : [];
    } catch {
      // Damaged: kept for inspection; every container becomes an orphan.
      renameSync(this.file, `${this.file}.damaged-${Date.now()}`);
      return [];
    }
  }

  save(instances: readonly SavedInstance[]): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeFileAtomic(this.file, JSON.stringify({ version: STATE_VERSION, instances }) + '\n', {
      mode: 0o600,
    });
  }
}
