import { describe, expect, it } from 'vitest';
import { isIngotError } from '../../domain/errors.js';
import { connect, prefixEnd } from './connect.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isIngotError(err)) return err.code;
    throw err;
  }
  return 'none';
}

describe('etcd connection options', () => {
  it('refuse endpoints that are not scheme, host and port', () => {
    for (const endpoints of [
      [],
      ['127.0.0.1:2379'],
      ['ftp://127.0.0.1:2379'],
      ['http://127.0.0.1'],
      ['http://127.0.0.1:2379/v3'],
      ['http://user:pw@127.0.0.1:2379'],
      ['http://127.0.0.1:2379', 'https://127.0.0.1:2380'],
    ])
      expect(
        codeOf(() => connect({ endpoints })),
        JSON.stringify(endpoints),
      ).toBe('E_CLUSTER_CONFIG');
  });

  it('refuse TLS material with plain-http endpoints, and a deadline too short to mean anything', () => {
    const ca = Buffer.from('not used');
    expect(codeOf(() => connect({ endpoints: ['http://127.0.0.1:2379'], tls: { ca } }))).toBe(
      'E_CLUSTER_CONFIG',
    );
    expect(codeOf(() => connect({ endpoints: ['http://127.0.0.1:2379'], timeoutMs: 10 }))).toBe(
      'E_CLUSTER_CONFIG',
    );
  });

  it('take the range of a prefix as etcd does', () => {
    expect(prefixEnd('/ingot/status/a/').toString()).toBe('/ingot/status/a0');
    expect([...prefixEnd('a\xff')]).toEqual([0x61, 0xc3, 0xc0]);
  });

  it('fail every call at once once closed', async () => {
    const conn = connect({ endpoints: ['http://127.0.0.1:9'] });
    await conn.close();
    await expect(conn.run('reading', () => Promise.resolve(1))).rejects.toMatchObject({
      code: 'E_CLUSTER_CLOSED',
    });
  });

  it('reach the insides of etcd3 that renew a watch stream (an etcd3 without them fails here)', async () => {
    const conn = connect({ endpoints: ['http://127.0.0.1:9'] });
    expect(() => conn.renewWatchStream({ reauthenticate: true })).not.toThrow();
    await conn.close();
  });
});
