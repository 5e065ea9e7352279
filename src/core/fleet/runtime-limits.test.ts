import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildRuntimeSpec } from '../runtime/oci-spec.js';
import { RUNTIME_LIMITS, runtimeProblems } from './runtime-limits.js';
import { fleetSchema, type FleetSpec } from './spec.js';

const fleet = (over: Record<string, unknown> = {}): FleetSpec =>
  fleetSchema.parse({ name: 'web', artifact: 'hello:1', replicas: 1, ...over });

const MI = 1024 * 1024;

describe('what the runtime refuses, refused at deploy', () => {
  it('passes the example fleet and a fleet with no limits', () => {
    expect(runtimeProblems(fleet())).toEqual([]);
    expect(
      runtimeProblems(fleet({ resources: { memory: '64Mi', cpus: 0.5, pids: 64 } }), {
        Env: ['PATH=/bin'],
        Entrypoint: ['/bin/httpd', '-f'],
      }),
    ).toEqual([]);
  });

  it('refuses memory: 1 (runc cannot set a limit below its own init), naming the field', () => {
    expect(runtimeProblems(fleet({ resources: { memory: 1 } }))).toEqual([
      expect.stringMatching(/^resources\.memory: 1 bytes is below .*6Mi/),
    ]);
  });

  it('any memory below 6 MiB is refused, any from 6 MiB up is not', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 * MI }), (memory) => {
        const problems = runtimeProblems(fleet({ resources: { memory } }));
        expect(problems.length > 0).toBe(memory < RUNTIME_LIMITS.minMemoryBytes);
        for (const p of problems) expect(p).toMatch(/^resources\.memory: /);
      }),
    );
  });

  it('a CPU limit it passes is one the kernel takes as it is (quota ≥ 1 ms), never raised', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-6, max: 1024, noNaN: true }), (cpus) => {
        const refused = runtimeProblems(fleet({ resources: { cpus } })).length > 0;
        expect(refused).toBe(cpus < 0.01);
        if (refused) return;
        const spec = buildRuntimeSpec({
          id: 'web-1',
          rootfs: '/r',
          process: { args: ['/x'], env: [], cwd: '/', uid: 0, gid: 0 },
          runtime: { tmpfs: [], volumes: [], capabilities: [] },
          volumes: {},
          resources: { cpus },
          netns: null,
          cgroupsPath: '/i/web-1',
        });
        const cpu = (spec.linux.resources as { cpu: { quota: number } }).cpu;
        expect(cpu.quota).toBe(Math.round(cpus * 100_000));
      }),
    );
  });

  it('refuses a NUL in a value and a variable past 128 KiB, whatever the characters', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }), (before, after) => {
        const problems = runtimeProblems(fleet({ env: { A: `${before}\0${after}` } }));
        expect(problems).toEqual([expect.stringMatching(/^env\.A: contains a NUL byte/)]);
      }),
    );
    // 65,536 characters pass the schema; in UTF-8 these are 196,608 bytes: E2BIG at exec.
    const wide = '語'.repeat(65_536);
    expect(runtimeProblems(fleet({ env: { A: wide } }))).toEqual([
      expect.stringMatching(/^env\.A: 196608 bytes; one variable must stay under 128 KiB/),
    ]);
    expect(runtimeProblems(fleet({ env: { A: 'x'.repeat(65_536) } }))).toEqual([]);
  });

  it('counts the image’s arguments and environment with the fleet’s against ARG_MAX', () => {
    const env = Object.fromEntries(
      Array.from({ length: 16 }, (_, n) => [`V${n}`, 'x'.repeat(65_536)]),
    );
    expect(runtimeProblems(fleet({ env }))).toEqual([
      expect.stringMatching(/^env: the instance's arguments and environment come to \d+ bytes/),
    ]);
    // The same variables, under the limit by themselves, over it with the image's.
    const half = Object.fromEntries(Object.entries(env).slice(0, 14));
    expect(runtimeProblems(fleet({ env: half }))).toEqual([]);
    expect(
      runtimeProblems(fleet({ env: half }), { Cmd: ['x'.repeat(100_000), 'y'.repeat(100_000)] }),
    ).toHaveLength(1);
    // A fleet variable overrides the image's of the same name: counted once.
    expect(
      runtimeProblems(fleet({ env: half }), { Env: Object.keys(half).map((k) => `${k}=1`) }),
    ).toEqual([]);
  });

  it('every problem names its field, and a fleet within every limit has none', () => {
    fc.assert(
      fc.property(
        fc.record({
          memory: fc.option(fc.integer({ min: 6 * MI, max: 2 ** 40 }), { nil: undefined }),
          cpus: fc.option(fc.double({ min: 0.01, max: 1024, noNaN: true }), { nil: undefined }),
          pids: fc.option(fc.integer({ min: 1, max: 4_194_304 }), { nil: undefined }),
        }),
        fc.dictionary(
          fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,8}$/),
          fc.string({ maxLength: 200 }).filter((s) => !s.includes('\0')),
          { maxKeys: 20 },
        ),
        (r, env) => {
          const resources = Object.fromEntries(
            Object.entries(r).filter(([, v]) => v !== undefined),
          );
          expect(runtimeProblems(fleet({ resources, env }))).toEqual([]);
        },
      ),
    );
  });
});
