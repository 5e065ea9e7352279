import { closeSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RuntimeSpec } from '../../core/runtime/oci-spec.js';
import { IngotError } from '../../domain/errors.js';
import { isInstanceId } from '../../domain/instance.js';
import type { InstanceFiles } from '../../ports/instance-files.js';
import type { PreviousInstance } from '../../domain/instance.js';
import { keepPrevious } from './previous-instances.js';
import {
  forgetLogMarks,
  markBoundedLog,
  openBoundedLog,
  readBoundedLog,
  readBoundedLogBytes,
  readLogMarks,
  rotateBoundedLog,
  unmountLog,
} from './instance-log.js';
import type { LogMark } from '../../core/runtime/log-marks.js';

/** An instance's log files, oldest first, under `$INGOT_HOME/instances/<id>`. */
export function readInstanceLogs(home: string, id: string): string {
  return readBoundedLog(instanceDir(home, id));
}

/** The same, as bytes. */
export function readInstanceLogBytes(home: string, id: string): Buffer {
  return readBoundedLogBytes(instanceDir(home, id));
}

/** Its time marks (none for an instance whose agent never marked it). */
export function readInstanceLogMarks(home: string, id: string): LogMark[] {
  return readLogMarks(instanceDir(home, id));
}

function instanceDir(home: string, id: string): string {
  if (!isInstanceId(id))
    throw new IngotError('E_INSTANCE_NOT_FOUND', `${JSON.stringify(id)} is not an instance id`);
  const dir = join(home, 'instances', id);
  if (!existsSync(dir))
    throw new IngotError('E_INSTANCE_NOT_FOUND', `no instance ${id} on this host`);
  return dir;
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

  openLog(id: string, maxBytes: number): { fd: number; close(): void } {
    const fd = openBoundedLog(this.bundle(id), maxBytes);
    return { fd, close: () => closeSync(fd) };
  }

  rotateLog(id: string, maxBytes: number): void {
    rotateBoundedLog(this.bundle(id), maxBytes);
  }

  markLog(id: string, now: number): void {
    markBoundedLog(this.bundle(id), now);
  }

  readLogs(id: string): string {
    return readInstanceLogs(this.home, id);
  }

  keepPrevious(record: PreviousInstance): void {
    keepPrevious(this.home, record);
  }

  remove(id: string): void {
    unmountLog(this.bundle(id));
    forgetLogMarks(this.bundle(id));
    rmSync(this.bundle(id), { recursive: true, force: true });
  }
}
