import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isNodeName, nodeNameOf } from './cluster.js';

describe('a machine’s host name as a node name', () => {
  it('is its first label, lowercased, other characters made hyphens', () => {
    expect(nodeNameOf('web-01')).toBe('web-01');
    expect(nodeNameOf('Web-01.Example.COM')).toBe('web-01');
    expect(nodeNameOf('build_box 2')).toBe('build-box-2');
    expect(nodeNameOf('-edge-')).toBe('edge');
    expect(nodeNameOf('a'.repeat(62) + '-b')).toBe('a'.repeat(62));
    expect(nodeNameOf('')).toBe('host');
    expect(nodeNameOf('.local')).toBe('host');
    expect(nodeNameOf('ünïcode')).toBe('n-code');
  });

  it('is always a node name', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => isNodeName(nodeNameOf(s))),
    );
  });
});
