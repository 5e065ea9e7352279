import {
  EtcdAuthenticationFailedError,
  EtcdInvalidAuthTokenError,
  EtcdPermissionDeniedError,
  GRPCInvalidArgumentError,
  GRPCResourceExhastedError,
} from 'etcd3';
import { describe, expect, it } from 'vitest';
import { clusterError, isRefusedWatch, isStaleToken } from './errors.js';

describe('etcd errors', () => {
  it('retry a request judged on users and roles that changed meanwhile', () => {
    const err = new GRPCInvalidArgumentError(
      '3 INVALID_ARGUMENT: etcdserver: revision of auth store is old',
    );
    expect(clusterError(err, 'listing').code).toBe('E_CLUSTER_UNAVAILABLE');
  });

  it('tell a token etcd forgot (authenticate again) from refused credentials', () => {
    const stale = new EtcdInvalidAuthTokenError(
      'Watcher canceled: rpc error: code = Unauthenticated desc = etcdserver: invalid auth token',
    );
    expect(isStaleToken(stale)).toBe(true);
    expect(isStaleToken(clusterError(stale, 'watching'))).toBe(true);
    expect(clusterError(stale, 'watching').code).toBe('E_CLUSTER_AUTH');
    const wrong = new EtcdAuthenticationFailedError('etcdserver: authentication failed');
    expect(isStaleToken(wrong)).toBe(false);
    expect(isStaleToken(new EtcdPermissionDeniedError('etcdserver: permission denied'))).toBe(
      false,
    );
  });

  it('count as a refused watch what concerns its credentials, not its revision', () => {
    expect(isRefusedWatch(new EtcdInvalidAuthTokenError('x'))).toBe(true);
    expect(isRefusedWatch(new EtcdPermissionDeniedError('x'))).toBe(true);
    expect(isRefusedWatch(new Error('Watcher canceled: '))).toBe(false);
  });

  it("say a request over etcd's size bound is too large, and do not retry it", () => {
    for (const err of [
      new GRPCInvalidArgumentError('3 INVALID_ARGUMENT: etcdserver: request is too large'),
      new GRPCResourceExhastedError(
        '8 RESOURCE_EXHAUSTED: grpc: received message larger than max (1048605 vs. 622592)',
      ),
    ])
      expect(clusterError(err, 'writing').code).toBe('E_CLUSTER_TOO_LARGE');
    expect(
      clusterError(new GRPCResourceExhastedError('etcdserver: too many requests'), 'writing').code,
    ).toBe('E_CLUSTER_UNAVAILABLE');
  });
});
