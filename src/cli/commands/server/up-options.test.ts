import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../domain/errors.js';
import { checkUpOptions, serveOptions, upArgs } from './up-options.js';

const all = {
  port: '8080',
  policy: 'policy.yaml',
  key: ['a.pub', 'b.pub'],
  bridge: 'br0',
  subnet: '10.1.0.0/24',
  route: ['10.88.0.0/16', '10.87.0.0/24'],
  cgroupParent: '/x',
  stopGrace: '5',
  verifyInterval: '0',
  maxInstances: '40',
  insecureRegistry: ['127.0.0.1:5000', 'registry.local'],
  registryCaFile: 'ca.pem',
  metricsListen: '127.0.0.1:9464',
  logLevel: 'debug',
};

describe('ingot up options', () => {
  it('refuses malformed numbers as usage errors', () => {
    expect(() => checkUpOptions({ port: '80a' })).toThrow(UsageError);
    expect(() => checkUpOptions({ port: '123456' })).toThrow(/--port must be a port number/);
    expect(() => checkUpOptions({ stopGrace: '1.5' })).toThrow(/--stop-grace takes a duration/);
    expect(() => checkUpOptions({ stopGrace: '11m' })).toThrow(/longer than 10m/);
    expect(() => checkUpOptions({ stopGrace: '-1s' })).toThrow(/cannot be negative/);
    expect(() => checkUpOptions({ verifyInterval: '-1' })).toThrow(/--verify-interval/);
    expect(() => checkUpOptions({ maxInstances: '0' })).toThrow(/--max-instances/);
    expect(() => checkUpOptions({ maxInstances: '1e9' })).toThrow(/--max-instances/);
    for (const bad of ['127.0.0.1:5000/x', 'http://r', 'bad_host', 'r:99999', ''])
      expect(() => checkUpOptions({ insecureRegistry: [bad] }), bad).toThrow(/--insecure-registry/);
    for (const bad of ['10.88.0.1/16', '10.88.0.0', '10.300.0.0/16', '10.88.0.0/33', 'default'])
      expect(() => checkUpOptions({ route: [bad] }), bad).toThrow(/--route/);
    for (const bad of ['9464', 'localhost:', ':9464', '[::1]:70000'])
      expect(() => checkUpOptions({ metricsListen: bad }), bad).toThrow(
        /--metrics-listen takes HOST:PORT/,
      );
    for (const bad of ['verbose', 'INFO', ''])
      expect(() => checkUpOptions({ logLevel: bad }), bad).toThrow(/--log-level takes one of/);
    expect(() => checkUpOptions(all)).not.toThrow();
  });

  it('passes every option on to the background server, in order', () => {
    // prettier-ignore
    expect(upArgs(all)).toEqual([
      '--port', '8080', '--policy', 'policy.yaml', '--key', 'a.pub', '--key', 'b.pub',
      '--bridge', 'br0', '--subnet', '10.1.0.0/24',
      '--route', '10.88.0.0/16', '--route', '10.87.0.0/24', '--cgroup-parent', '/x',
      '--stop-grace', '5', '--verify-interval', '0', '--max-instances', '40',
      '--insecure-registry', '127.0.0.1:5000', '--insecure-registry', 'registry.local',
      '--registry-ca-file', 'ca.pem', '--metrics-listen', '127.0.0.1:9464', '--log-level', 'debug',
    ]);
    expect(upArgs({})).toEqual([]);
  });

  it('gives the in-process server numbers in its units, and only what was given', () => {
    expect(serveOptions(all)).toEqual({
      port: 8080,
      policyFile: 'policy.yaml',
      keyFiles: ['a.pub', 'b.pub'],
      bridge: 'br0',
      subnet: '10.1.0.0/24',
      routes: ['10.88.0.0/16', '10.87.0.0/24'],
      cgroupParent: '/x',
      stopGraceMs: 5000,
      fullVerifyMs: 0,
      maxInstances: 40,
      registries: { insecure: ['127.0.0.1:5000', 'registry.local'], caFile: 'ca.pem' },
      metricsListen: { host: '127.0.0.1', port: 9464 },
      logLevel: 'debug',
    });
    expect(serveOptions({ metricsListen: '[::1]:9464' }).metricsListen).toEqual({
      host: '::1',
      port: 9464,
    });
    expect(serveOptions({})).toEqual({ keyFiles: [] });
    // The grammar of fleet.yaml: a bare --verify-interval stays minutes, as it always was.
    expect(serveOptions({ stopGrace: '1m30s', verifyInterval: '90s' })).toMatchObject({
      stopGraceMs: 90_000,
      fullVerifyMs: 90_000,
    });
    expect(serveOptions({ verifyInterval: '5' })).toMatchObject({ fullVerifyMs: 300_000 });
  });
});
