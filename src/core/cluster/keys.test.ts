import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isIngotError } from '../../domain/errors.js';
import {
  ASSIGNMENTS,
  HOSTS,
  STATUS,
  assignmentKey,
  hostAndInstanceIn,
  hostKey,
  nameIn,
  statusKey,
} from './keys.js';

const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?$/);
const instanceId = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?$/);

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isIngotError(err)) return err.code;
    throw err;
  }
  return 'none';
}

describe('coordination keys', () => {
  it('are laid out by kind, then host, then instance', () => {
    expect(hostKey('web-1')).toBe('/ingot/hosts/web-1');
    expect(assignmentKey('web-1', 'api-7f3a')).toBe('/ingot/assignments/web-1/api-7f3a');
    expect(statusKey('web-1', 'api-7f3a')).toBe('/ingot/status/web-1/api-7f3a');
  });

  it('refuse names that could climb into another host or kind', () => {
    for (const bad of ['', 'a/b', '..', 'A', 'a.b', '-a', 'a-', 'a'.repeat(64), 'a\0', 'é'])
      expect(
        codeOf(() => hostKey(bad)),
        bad,
      ).toBe('E_CLUSTER_NAME');
    expect(codeOf(() => statusKey('a', '../b'))).toBe('E_INSTANCE_ID');
    expect(codeOf(() => assignmentKey('a', 'x/y'))).toBe('E_INSTANCE_ID');
  });

  it('parse back what they build, and nothing else', () => {
    fc.assert(
      fc.property(label, instanceId, (host, id) => {
        expect(nameIn(HOSTS, hostKey(host))).toBe(host);
        expect(hostAndInstanceIn(STATUS, statusKey(host, id))).toEqual({ host, id });
        expect(hostAndInstanceIn(ASSIGNMENTS, assignmentKey(host, id))).toEqual({ host, id });
      }),
    );
    for (const key of [
      '/ingot/hosts/',
      '/ingot/hosts/a/b',
      '/ingot/hosts/A',
      '/ingot/status/a',
      '/ingot/status/a/b/c',
      '/ingot/status/a/',
      '/ingot/status//b',
      '/ingot/statusx/a/b',
    ]) {
      expect(nameIn(HOSTS, key), key).toBeNull();
      expect(hostAndInstanceIn(STATUS, key), key).toBeNull();
    }
  });
});
