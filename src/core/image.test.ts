import { describe, expect, it } from 'vitest';
import type { Baseline } from '../domain/baseline.js';
import type { Digest } from '../domain/digest.js';
import type { ImageConfig } from '../domain/oci.js';
import { buildImageConfig, epochToRfc3339, EMPTY_CONFIG, EMPTY_CONFIG_BYTES } from './image.js';
import { createHash } from 'node:crypto';

const baseline: Baseline = {
  name: 'hello',
  version: '1.0',
  from: { kind: 'scratch' },
  layers: [],
  config: {
    entrypoint: ['/app'],
    env: [
      ['A', 'new'],
      ['C', '3'],
    ],
    ports: ['8080/tcp'],
    labels: { team: 'x' },
  },
  runtime: { tmpfs: [{ path: '/tmp' }], volumes: [], capabilities: [] },
};
const base: ImageConfig = {
  architecture: 'amd64',
  os: 'linux',
  config: {
    Env: ['PATH=/bin', 'A=old'],
    Cmd: ['sh'],
    User: 'nobody',
    ExposedPorts: { '22/tcp': {} },
    Labels: { team: 'y', vendor: 'z' },
  },
  rootfs: { type: 'layers', diff_ids: [] },
  history: [{ created_by: 'base' }],
};

describe('buildImageConfig', () => {
  it('merges over the base like a Dockerfile would', () => {
    const c = buildImageConfig({
      baseline,
      base,
      platform: { os: 'linux', architecture: 'amd64' },
      created: epochToRfc3339(0),
      diffIds: ['sha256:' + 'a'.repeat(64)] as Digest[],
      layerNotes: ['n'],
    });
    expect(c.created).toBe('1970-01-01T00:00:00Z');
    expect(c.config?.Env).toEqual(['PATH=/bin', 'A=new', 'C=3']);
    expect(c.config?.Entrypoint).toEqual(['/app']);
    expect(c.config?.Cmd).toBeUndefined();
    expect(c.config?.User).toBe('nobody');
    expect(Object.keys(c.config?.ExposedPorts ?? {})).toEqual(['22/tcp', '8080/tcp']);
    expect(c.config?.Labels).toMatchObject({
      team: 'x',
      vendor: 'z',
      'org.opencontainers.image.version': '1.0',
    });
    expect(JSON.parse(c.config?.Labels?.['dev.ingot.runtime.v1'] ?? '')).toEqual(baseline.runtime);
    expect(c.history?.map((h) => h.created_by)).toEqual(['base', 'n']);
  });

  it('has the right empty descriptor', () => {
    expect(EMPTY_CONFIG.digest).toBe(
      `sha256:${createHash('sha256').update(EMPTY_CONFIG_BYTES).digest('hex')}`,
    );
  });
});
