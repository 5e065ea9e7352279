import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../shared/atomic-file.js';

/**
 * How the agent of this home set up its instances' host side: what `ingot down
 * --stop-instances` needs to undo it when no server runs to say (the network's name names
 * its address allocations; the bridge is removed by name). `$INGOT_HOME/agent/host.json`.
 */
export interface HostSettings {
  readonly bridge: string;
  readonly subnet: string;
  readonly cgroupParent: string;
  readonly stopGraceMs?: number;
}

function file(home: string): string {
  return join(home, 'agent', 'host.json');
}

export function saveHostSettings(home: string, settings: HostSettings): void {
  mkdirSync(join(home, 'agent'), { recursive: true, mode: 0o700 });
  writeFileAtomic(file(home), JSON.stringify(settings) + '\n', { mode: 0o600 });
}

/**
 * What was saved, field by field as far as each is well-formed (the rest: the caller's
 * defaults). The file is in a home only its owner writes, but what it names reaches `ip`
 * and the CNI plugins: nothing odd gets through.
 */
export function loadHostSettings(home: string): Partial<HostSettings> {
  let raw: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(readFileSync(file(home), 'utf8'));
    if (typeof parsed !== 'object' || parsed === null) return {};
    raw = parsed as Record<string, unknown>;
  } catch {
    return {};
  }
  const text = (v: unknown, re: RegExp) => (typeof v === 'string' && re.test(v) ? v : undefined);
  const bridge = text(raw['bridge'], /^[A-Za-z0-9_.-]{1,15}$/);
  const subnet = text(raw['subnet'], /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/);
  const cgroupParent = text(raw['cgroupParent'], /^\/(?!.*\/\.\.?(\/|$))[A-Za-z0-9_./-]{0,255}$/);
  const grace = raw['stopGraceMs'];
  return {
    ...(bridge !== undefined && { bridge }),
    ...(subnet !== undefined && { subnet }),
    ...(cgroupParent !== undefined && { cgroupParent }),
    ...(Number.isInteger(grace) &&
      (grace as number) >= 0 &&
      (grace as number) <= 3_600_000 && { stopGraceMs: grace as number }),
  };
}
