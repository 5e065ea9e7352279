import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Digest } from '../../domain/digest.js';
import { SpecError } from '../yaml-spec.js';
import { parseFleet, releaseDigest, rollingBudgets } from './spec.js';

const ART = `sha256:${'c'.repeat(64)}` as Digest;

function problems(text: string): SpecError {
  try {
    parseFleet(text, 'fleet.yaml');
  } catch (err) {
    if (err instanceof SpecError) return err as SpecError;
    throw err;
  }
  throw new Error('expected the fleet to be refused');
}

describe('fleet.yaml', () => {
  it('fills in create-before-destroy rolling defaults', () => {
    const f = parseFleet('name: web\nartifact: hello:1.0.0\nreplicas: 3\n', 'fleet.yaml');
    expect(f).toMatchObject({
      strategy: { rolling: { maxSurge: '25%', maxUnavailable: 0 } },
      autoRollback: true,
      progressDeadline: 600_000,
      minReadySeconds: 0,
      env: {},
    });
  });

  it('reads every field', () => {
    const f = parseFleet(
      [
        'name: web',
        'artifact: sha256:' + 'c'.repeat(64),
        'replicas: 4',
        'env: { MODE: prod }',
        'resources: { memory: 64Mi, cpus: 0.5, pids: 100 }',
        'strategy: { canary: { steps: [{ instances: 1, pause: 30s }, { percent: 50 }] } }',
        'minReadySeconds: 5',
        'progressDeadline: 10m',
        'maxInstanceAge: 7d',
        'meltdown: { maxFailedPercent: 50, window: 5m }',
      ].join('\n'),
      'fleet.yaml',
    );
    expect(f.resources).toEqual({ memory: 64 * 1024 * 1024, cpus: 0.5, pids: 100 });
    expect(f.maxInstanceAge).toBe(7 * 86_400_000);
    expect(f.meltdown).toEqual({ maxFailedPercent: 50, window: 300_000 });
  });

  it('reports every problem at once, with its path', () => {
    const err = problems(
      'name: Web_1\nartifact: ""\nreplicas: -1\nstrategy: { rolling: { maxSurge: 150% } }\nextra: 1\n',
    );
    expect(err.code).toBe('E_FLEET_INVALID');
    expect(err.issues.map((i) => i.path)).toEqual(
      expect.arrayContaining(['name', 'artifact', 'replicas', 'extra']),
    );
  });

  it('resolves budgets as Kubernetes does, never both zero', () => {
    expect(rollingBudgets(4, { maxSurge: '25%', maxUnavailable: 0 })).toEqual({
      maxSurge: 1,
      maxUnavailable: 0,
    });
    expect(rollingBudgets(10, { maxSurge: '25%', maxUnavailable: '25%' })).toEqual({
      maxSurge: 3,
      maxUnavailable: 2,
    });
    expect(rollingBudgets(3, { maxSurge: 0, maxUnavailable: 0 })).toEqual({
      maxSurge: 1,
      maxUnavailable: 0,
    });
    fc.assert(
      fc.property(fc.nat(100), fc.nat(100), fc.nat(100), (replicas, s, u) => {
        const b = rollingBudgets(replicas, { maxSurge: `${s}%`, maxUnavailable: `${u}%` });
        expect(b.maxSurge + b.maxUnavailable).toBeGreaterThan(0);
        expect(b.maxUnavailable).toBeLessThanOrEqual(replicas);
      }),
    );
  });

  it('gives a new release for new instance settings, the same one for scaling', () => {
    const base = parseFleet('name: web\nartifact: x\nreplicas: 3\nenv: { A: "1", B: "2" }\n', 'f');
    const same = releaseDigest(ART, base);
    expect(releaseDigest(ART, { ...base, replicas: 9, minReadySeconds: 3 })).toBe(same);
    expect(releaseDigest(ART, { ...base, env: { B: '2', A: '1' } })).toBe(same);
    expect(releaseDigest(ART, { ...base, env: { A: '1', B: '3' } })).not.toBe(same);
    expect(releaseDigest(`sha256:${'d'.repeat(64)}` as Digest, base)).not.toBe(same);
    expect(releaseDigest(ART, { ...base, resources: { pids: 10 } })).not.toBe(same);
  });
});

describe('stopGrace', () => {
  it('reads a grace from 0 to 10 minutes, and refuses anything else with its path', () => {
    const grace = (g: string) =>
      parseFleet(`name: web\nartifact: x\nreplicas: 1\nstopGrace: ${g}\n`, 'f');
    expect(grace('5s').stopGrace).toBe(5000);
    expect(grace('0').stopGrace).toBe(0);
    expect(grace('10m').stopGrace).toBe(600_000);
    expect(parseFleet('name: web\nartifact: x\nreplicas: 1\n', 'f').stopGrace).toBeUndefined();
    for (const bad of ['11m', '-1', 'soon', '"1h"']) {
      const err = problems(`name: web\nartifact: x\nreplicas: 1\nstopGrace: ${bad}\n`);
      expect(err.code).toBe('E_FLEET_INVALID');
      expect(err.issues.map((i) => i.path)).toEqual(['stopGrace']);
    }
  });

  it('paces stops: changing it alone makes no new release', () => {
    const base = parseFleet('name: web\nartifact: x\nreplicas: 3\n', 'f');
    expect(releaseDigest(ART, { ...base, stopGrace: 1000 })).toBe(releaseDigest(ART, base));
  });
});

describe('service', () => {
  const fleet = (service: string) => `name: web\nartifact: x\nreplicas: 2\nservice: ${service}\n`;

  it('takes the instance port and where clients connect; it is not part of the release', () => {
    const spec = parseFleet(
      fleet("{ port: 8080, listen: '10.1.2.3:80', previewListen: '127.0.0.1:81' }"),
      'f',
    );
    expect(spec.service).toEqual({
      port: 8080,
      listen: '10.1.2.3:80',
      previewListen: '127.0.0.1:81',
    });
    const without = parseFleet('name: web\nartifact: x\nreplicas: 2\n', 'f');
    expect(releaseDigest(ART, spec)).toBe(releaseDigest(ART, without));
  });

  it('refuses the wildcard, host names, bad ports and a preview on the listen', () => {
    for (const [service, said] of [
      ["{ port: 8080, listen: '0.0.0.0:80' }", 'service.listen: 0.0.0.0 is not one address'],
      ["{ port: 8080, listen: 'localhost:80' }", 'service.listen: an IPv4 address and a port'],
      ["{ port: 0, listen: '127.0.0.1:80' }", 'service.port'],
      [
        "{ port: 8080, listen: '127.0.0.1:80', previewListen: '127.0.0.1:80' }",
        'service.previewListen',
      ],
      ["{ port: 8080, listen: '127.0.0.1:80', weight: 3 }", 'service'],
    ] as const)
      expect(problems(fleet(service)).message).toContain(said);
  });
});

describe('placement', () => {
  const fleet = (placement: string) =>
    parseFleet(`name: web\nartifact: x\nreplicas: 3\nplacement: ${placement}\n`, 'f');

  it('reads the label to spread over and the constraints, as written', () => {
    expect(fleet("{ spread: zone, constraints: ['disk=ssd', 'zone!=eu-1c'] }").placement).toEqual({
      spread: 'zone',
      constraints: ['disk=ssd', 'zone!=eu-1c'],
    });
    expect(fleet('{}').placement).toEqual({ constraints: [] });
    expect(parseFleet('name: web\nartifact: x\nreplicas: 1\n', 'f').placement).toBeUndefined();
  });

  it('refuses every bad constraint at once, each at its path and quoted', () => {
    const err = problems(
      "name: web\nartifact: x\nreplicas: 1\nplacement:\n  spread: Zone\n  constraints: ['disk=ssd', 'disk = ssd', 'disk=hdd', 'gpu']\n  zone: a\n",
    );
    expect(err.code).toBe('E_FLEET_INVALID');
    expect(err.issues.map((i) => i.path)).toEqual([
      'placement.spread',
      'placement.constraints[1]',
      'placement.constraints[2]',
      'placement.constraints[3]',
      'placement.zone',
    ]);
    const [spread, spaces, clash, bare] = err.issues;
    expect(spread!.message).toMatch(/label key/);
    expect(spaces!.message).toMatch(/^constraint "disk = ssd": no spaces/);
    expect(clash!.message).toMatch(/"disk=ssd" and "disk=hdd" can never both hold/);
    expect(bare!.message).toMatch(/^constraint "gpu": no operator/);
    expect(spaces!.line).toBe(6);
  });

  it('says where, not what: changing it makes no new release', () => {
    const base = parseFleet('name: web\nartifact: x\nreplicas: 3\n', 'f');
    const placed = fleet("{ spread: zone, constraints: ['disk=ssd'] }");
    expect(releaseDigest(ART, placed)).toBe(releaseDigest(ART, base));
  });
});

describe('maxInstanceAge', () => {
  it('refuses ages that would replace instances before they can serve', () => {
    for (const age of ['0s', '5m', '29m'])
      expect(
        problems(
          `name: web\nartifact: x\nreplicas: 1\nprogressDeadline: 15m\nmaxInstanceAge: ${age}\n`,
        ).issues[0]?.path,
      ).toBe('maxInstanceAge');
    expect(
      parseFleet(
        'name: web\nartifact: x\nreplicas: 1\nprogressDeadline: 2m\nmaxInstanceAge: 1d\n',
        'f',
      ).maxInstanceAge,
    ).toBe(86_400_000);
  });
});

describe('canary steps', () => {
  it('refuses steps that shrink, counting percentages against replicas', () => {
    const spec = (steps: string) =>
      `name: web\nartifact: x\nreplicas: 4\nstrategy: { canary: { steps: ${steps} } }\n`;
    expect(problems(spec('[{ instances: 2 }, { percent: 25 }]')).issues[0]?.path).toBe(
      'strategy.canary.steps',
    );
    // 25% of 4 is 1, then 1 instance: equal is fine, so is growing.
    expect(() =>
      parseFleet(spec('[{ percent: 25 }, { instances: 1 }, { percent: 51 }]'), 'f'),
    ).not.toThrow();
  });
});

describe('the examples', () => {
  it('are valid fleet specs', () => {
    const dir = fileURLToPath(new URL('../../../examples/hello/', import.meta.url));
    const files = readdirSync(dir).filter((f) => /^fleet.*\.yaml$/.test(f));
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const f of files)
      expect(() => parseFleet(readFileSync(join(dir, f), 'utf8'), f), f).not.toThrow();
  });
});

describe('volumes', () => {
  it('maps artifact volumes to shared sources, part of the release; none keeps old digests', () => {
    const ART = `sha256:${'c'.repeat(64)}` as Digest;
    const base = parseFleet('name: web\nartifact: x\nreplicas: 1\n', 'f');
    const shared = parseFleet(
      'name: web\nartifact: x\nreplicas: 1\nvolumes: { data: { source: common } }\n',
      'f',
    );
    expect(shared.volumes).toEqual({ data: { source: 'common' } });
    expect(releaseDigest(ART, shared)).not.toBe(releaseDigest(ART, base));
    expect(releaseDigest(ART, base)).toBe(releaseDigest(ART, { ...base, volumes: {} }));
    expect(
      problems('name: web\nartifact: x\nreplicas: 1\nvolumes: { data: { source: ../etc } }\n')
        .issues[0]?.path,
    ).toBe('volumes.data.source');
  });
});
