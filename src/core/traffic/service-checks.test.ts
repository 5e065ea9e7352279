import { describe, expect, it } from 'vitest';
import { fleetSchema, type FleetSpec } from '../fleet/spec.js';
import { serviceProblems } from './service-checks.js';

const fleet = (name: string, service?: Record<string, unknown>): FleetSpec =>
  fleetSchema.parse({ name, artifact: 'x', replicas: 2, ...(service && { service }) });

const facts = { exposed: ['8080/tcp'], others: [] as FleetSpec[], local: new Set(['10.0.0.5']) };

describe("a fleet's service, checked at deploy", () => {
  it('passes on an exposed port and free local listens; a fleet without one has nothing to check', () => {
    expect(serviceProblems(fleet('web', { port: 8080, listen: '10.0.0.5:80' }), facts)).toEqual([]);
    expect(serviceProblems(fleet('web'), { ...facts, exposed: [] })).toEqual([]);
    // Its own listen, deployed again, is not another fleet's.
    const again = fleet('web', { port: 8080, listen: '127.0.0.1:80' });
    expect(serviceProblems(again, { ...facts, others: [again] })).toEqual([]);
  });

  it('says every problem: a port not exposed, a listen not local, a listen taken', () => {
    const taken = fleet('api', {
      port: 9090,
      listen: '127.0.0.1:81',
      previewListen: '127.0.0.1:82',
    });
    const problems = serviceProblems(
      fleet('web', { port: 9090, listen: '192.0.2.1:80', previewListen: '127.0.0.1:82' }),
      { ...facts, others: [taken] },
    );
    expect(problems).toEqual([
      'service.port: the artifact does not expose 9090 (it exposes 8080)',
      'service.listen: 192.0.2.1 is not an address of this machine (loopback, or one of its interfaces)',
      'service.previewListen: fleet api already listens on 127.0.0.1:82',
    ]);
  });
});
