import { describe, expect, it } from 'vitest';
import type { Digest } from '../../../domain/digest.js';
import type { ObservedInstance } from '../../../domain/instance.js';
import { driftTable } from './drift.js';

const tainted: ObservedInstance = {
  id: 'web-1',
  fleet: 'web',
  artifact: `sha256:${'a'.repeat(64)}` as Digest,
  state: 'healthy',
  host: 'h1',
  integrity: 'tainted',
  evidence: [
    {
      detector: 'files',
      path: '/srv/index.html',
      expected: 'sha256:11',
      actual: 'sha256:22',
      time: '2026-12-05T04:00:00.000Z',
    },
  ],
};

describe('ingot drift, as a table', () => {
  it('one row per evidence; -o wide adds the fleet, host and artifact', () => {
    const [narrow, row] = driftTable([tainted], false).trimEnd().split('\n');
    expect(narrow!.split(/\s+/)).toEqual([
      'INSTANCE',
      'DETECTOR',
      'PATH',
      'EXPECTED',
      'ACTUAL',
      'TIME',
    ]);
    expect(row).toMatch(/^web-1 +files +\/srv\/index\.html +sha256:11 +sha256:22 +2026-12-05T04/);
    const [wide, wideRow] = driftTable([tainted], true).trimEnd().split('\n');
    expect(wide!.split(/\s+/)).toEqual([
      'INSTANCE',
      'FLEET',
      'HOST',
      'ARTIFACT',
      'DETECTOR',
      'PATH',
      'EXPECTED',
      'ACTUAL',
      'TIME',
    ]);
    expect(wideRow).toMatch(/^web-1 +web +h1 +aaaaaaaaaaaa +files /);
  });
});
