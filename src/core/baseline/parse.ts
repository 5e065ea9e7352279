import type { Baseline } from '../../domain/baseline.js';
import { MAX_SPEC_BYTES, parseYamlSpec, SpecError, type SpecCodes } from '../yaml-spec.js';
import { baselineSchema, type BaselineParsed } from './schema.js';

export { MAX_SPEC_BYTES, SpecError };

export type SpecErrorCode =
  'E_SPEC_SYNTAX' | 'E_SPEC_INVALID' | 'E_SPEC_TOO_LARGE' | 'E_SPEC_ENCODING';

const codes: SpecCodes<SpecErrorCode> = {
  syntax: 'E_SPEC_SYNTAX',
  invalid: 'E_SPEC_INVALID',
  tooLarge: 'E_SPEC_TOO_LARGE',
  encoding: 'E_SPEC_ENCODING',
};

/** ingot.yaml text → a validated, normalised Baseline. Pure; every problem at once. */
export function parseBaseline(source: string | Uint8Array, file: string): Baseline {
  return toBaseline(parseYamlSpec(baselineSchema, source, file, codes));
}

function toBaseline(p: BaselineParsed): Baseline {
  const from: Baseline['from'] = p.from === 'scratch' ? { kind: 'scratch' } : p.from;
  const c = p.config;
  const h = p.runtime.health;
  return {
    name: p.name,
    version: p.version,
    from,
    ...(p.platform !== undefined && { platform: p.platform }),
    layers: p.layers.map((l) => ({
      source: l.source,
      destination: l.destination.path,
      intoDirectory: l.destination.intoDirectory,
      ...(l.mode !== undefined && { mode: l.mode }),
      ...(l.dirMode !== undefined && { dirMode: l.dirMode }),
      uid: l.uid,
      gid: l.gid,
      exclude: l.exclude,
      followSymlinks: l.followSymlinks,
      setuid: l.setuid,
    })),
    config: {
      ...(c.entrypoint !== undefined && { entrypoint: c.entrypoint }),
      ...(c.cmd !== undefined && { cmd: c.cmd }),
      env: Object.entries(c.env),
      ...(c.user !== undefined && { user: c.user }),
      ...(c.workdir !== undefined && { workdir: c.workdir }),
      ports: [...new Set(c.ports)],
      labels: c.labels,
    },
    runtime: {
      ...(h !== undefined && {
        health: {
          probe: h.http
            ? { kind: 'http', port: h.http.port, path: h.http.path }
            : { kind: 'tcp', port: h.tcp?.port ?? 0 },
          intervalMs: h.interval,
          timeoutMs: h.timeout,
          retries: h.retries,
          startGraceMs: h.startGrace,
        },
      }),
      tmpfs: p.runtime.tmpfs.map((t) =>
        'size' in t && t.size !== undefined
          ? { path: t.path, sizeBytes: t.size }
          : { path: t.path },
      ),
      volumes: p.runtime.volumes,
      capabilities: [...new Set(p.runtime.capabilities)].sort(),
      // Sorted and once each, so that the label (and so the image digest) does not depend
      // on how the list was written; absent stays absent, so older images keep their bytes.
      ...(p.runtime.seccomp !== undefined && {
        seccomp: { deny: [...new Set(p.runtime.seccomp.deny)].sort() },
      }),
      // Only when asked for: images built before keep their config, and so their digest.
      ...(p.runtime.init && { init: true }),
    },
  };
}
