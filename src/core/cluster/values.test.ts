import { describe, expect, it } from 'vitest';
import { parseDigest } from '../../domain/digest.js';
import type { Assignment, HostRegistration } from '../../domain/cluster.js';
import { isIngotError } from '../../domain/errors.js';
import { MAX_BYTES, decodeValue, encodeValue } from './values.js';

const utf8 = (s: string) => new TextEncoder().encode(s);
const artifact = parseDigest(`sha256:${'a'.repeat(64)}`);

const registration: HostRegistration = {
  name: 'web-1',
  labels: { zone: 'a', disk: 'ssd' },
  capacity: { memoryBytes: 8 << 30, cpus: 2, pids: 4096 },
  agent: '0.1.0',
  startedAt: '2026-12-04T10:00:00.000Z',
};
const assignment: Assignment = {
  instance: { id: 'api-1', fleet: 'api', artifact, env: [['A', 'b']], stopGraceMs: 1000 },
  epoch: 42,
};

function reasonOf(kind: Parameters<typeof decodeValue>[0], value: unknown): string {
  const decoded = decodeValue(kind, utf8(JSON.stringify(value)));
  if (decoded.ok) throw new Error('decoded');
  return decoded.reason;
}

describe('coordination values', () => {
  it('read back exactly what was written', () => {
    expect(decodeValue('registration', utf8(encodeValue('registration', registration)))).toEqual({
      ok: true,
      value: registration,
    });
    expect(decodeValue('assignment', utf8(encodeValue('assignment', assignment)))).toEqual({
      ok: true,
      value: assignment,
    });
  });

  it('are bounded before they are parsed', () => {
    const huge = utf8(' '.repeat(MAX_BYTES.registration + 1));
    const decoded = decodeValue('registration', huge);
    expect(decoded.ok).toBe(false);
    expect(!decoded.ok && decoded.reason).toMatch(/over the 8192-byte bound/);
  });

  it('refuse what is not UTF-8 JSON', () => {
    expect(decodeValue('leader', new Uint8Array([0x7b, 0xff, 0x7d]))).toEqual({
      ok: false,
      reason: 'not UTF-8 JSON',
    });
    expect(decodeValue('leader', utf8('{"name":'))).toEqual({
      ok: false,
      reason: 'not UTF-8 JSON',
    });
  });

  it('report every bad field at once', () => {
    const reason = reasonOf('registration', {
      ...registration,
      name: 'Web/1',
      capacity: { memoryBytes: -1, cpus: 2, pids: 1.5 },
      startedAt: 'yesterday',
    });
    for (const field of ['name', 'capacity.memoryBytes', 'capacity.pids', 'startedAt'])
      expect(reason).toContain(`${field}:`);
  });

  it('refuse an assignment with a field this agent does not know, rather than ignore it', () => {
    expect(
      reasonOf('assignment', {
        ...assignment,
        instance: { ...assignment.instance, privileged: true },
      }),
    ).toMatch(/privileged/);
  });

  it('refuse an assignment whose names would climb out of the host state folders', () => {
    expect(
      reasonOf('assignment', { ...assignment, instance: { ...assignment.instance, id: '../etc' } }),
    ).toMatch(/not a valid instance id/);
    expect(
      reasonOf('assignment', {
        ...assignment,
        instance: { ...assignment.instance, volumes: [['data', '../../root']] },
      }),
    ).toMatch(/volume mapping/);
    expect(reasonOf('assignment', { ...assignment, epoch: 0 })).toContain('epoch:');
  });

  it('refuse too many labels and labels that are not label-shaped', () => {
    const labels = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']));
    expect(reasonOf('registration', { ...registration, labels })).toMatch(/at most 32 labels/);
    expect(reasonOf('registration', { ...registration, labels: { 'Zone\n!': 'a' } })).toContain(
      'labels."Zone\\n!": Invalid key',
    );
  });

  it('are refused before writing when they would not be read back', () => {
    try {
      encodeValue('registration', { ...registration, name: 'NOT A LABEL' });
      expect.unreachable();
    } catch (err) {
      expect(isIngotError(err) && err.code).toBe('E_CLUSTER_VALUE');
    }
  });
});
