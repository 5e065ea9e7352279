import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { RuntimeSpec } from '../../core/runtime/oci-spec.js';
import { IngotError } from '../../domain/errors.js';
import { isInstanceId } from '../../domain/instance.js';
import type { InstanceFiles } from '../../ports/instance-files.js';

/** An instance's log files, oldest first, under `$INGOT_HOME/instances/<id>`. */
export function readInstanceLogs(home: string, id: string): string {
  if (!isInstanceId(id))
    throw new IngotError('E_INSTANCE_NOT_FOUND', `${JSON.stringify(id)} is not an instance id`);
  const dir = join(home, 'instances', id);
  if (!existsSync(dir))
    throw new IngotError('E_INSTANCE_NOT_FOUND', `no instance ${id} on this host`);
  return [join(dir, 'log.1'), join(dir, 'log')]
    .filter((p) => existsSync(p))
    .map((p) => readFileSync(p, 'utf8'))
    .join('');
}

/** Each instance's bundle and log in `$INGOT_HOME/instances/<id>`, only root can read. */
export class HomeInstanceFiles implements InstanceFiles {
  constructor(private readonly home: string) {}

  bundle(id: string): string {
    return join(this.home, 'instances', id);
  }

  writeConfig(id: string, spec: RuntimeSpec): void {
    const dir = this.bundle(id);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Written once, into the instance's own folder, before anything runs from it: a crash
    // halfway leaves an instance that never started, and recovery removes its folder.
    // 0600: the spec holds the fleet's environment, secrets included.
    writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 2), { mode: 0o600 });
  }

  readConfig(id: string): RuntimeSpec {
    return JSON.parse(readFileSync(join(this.bundle(id), 'config.json'), 'utf8')) as RuntimeSpec;
  }

  openLog(id: string): { fd: number; close(): void } {
    const fd = openSync(join(this.bundle(id), 'log'), 'a', 0o600);
    return { fd, close: () => closeSync(fd) };
  }

  rotateLog(id: string, maxBytes: number): void {
    const log = join(this.bundle(id), 'log');
    try {
      if (statSync(log).size <= maxBytes) return;
      // Copy, then truncate: the container keeps writing (O_APPEND) to the same file.
      copyFileSync(log, `${log}.1`);
      truncateSync(log, 0);
    } catch {
      // no log yet
    }
  }

  readLogs(id: string): string {
    return readInstanceLogs(this.home, id);
  }

  remove(id: string): void {
    rmSync(this.bundle(id), { recursive: true, force: true });
  }
}
