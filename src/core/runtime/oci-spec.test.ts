import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildRuntimeSpec,
  MASKED_PATHS,
  READONLY_PATHS,
  type InstanceSpecInput,
} from './oci-spec.js';
import { parseRuntimeContract } from './contract.js';
import { instanceSeccomp } from './seccomp.js';
import { resolveUser } from './user.js';

const path = fc
  .array(fc.stringMatching(/^[a-z][a-z0-9_-]{0,8}$/), { minLength: 1, maxLength: 3 })
  .map((p) => `/${p.join('/')}`);
const capability = fc.constantFrom('CAP_NET_BIND_SERVICE', 'CAP_CHOWN', 'CAP_KILL');

const input: fc.Arbitrary<InstanceSpecInput> = fc
  .record({
    id: fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,30}$/),
    uid: fc.nat(70000),
    gid: fc.nat(70000),
    tmpfs: fc.uniqueArray(path, { maxLength: 3 }),
    volumes: fc.uniqueArray(fc.stringMatching(/^[a-z]{1,8}$/), { maxLength: 3 }),
    caps: fc.array(capability, { maxLength: 4 }),
    memory: fc.option(fc.integer({ min: 1 << 20, max: 2 ** 34 }), { nil: undefined }),
    cpus: fc.option(fc.double({ min: 0.01, max: 8, noNaN: true }), { nil: undefined }),
    pids: fc.option(fc.integer({ min: 1, max: 4096 }), { nil: undefined }),
    netns: fc.option(fc.constant('/run/netns/x'), { nil: null }),
  })
  .map((o) => ({
    id: o.id,
    rootfs: '/var/lib/ingot/rootfs/abc',
    process: { args: ['/bin/app'], env: ['PATH=/bin'], cwd: '/', uid: o.uid, gid: o.gid },
    runtime: {
      tmpfs: o.tmpfs.map((p) => ({ path: p })),
      volumes: o.volumes.map((name) => ({ name, path: `/data/${name}` })),
      capabilities: o.caps,
    },
    volumes: Object.fromEntries(o.volumes.map((name) => [name, `/host/volumes/${name}`])),
    resources: {
      ...(o.memory !== undefined && { memoryBytes: o.memory }),
      ...(o.cpus !== undefined && { cpus: o.cpus }),
      ...(o.pids !== undefined && { pids: o.pids }),
    },
    netns: o.netns,
    cgroupsPath: `/ingot/${o.id}`,
  }));

interface Spec {
  root: { readonly: boolean };
  hostname: string;
  process: { noNewPrivileges: boolean; capabilities: Record<string, string[]>; user: unknown };
  mounts: { destination: string; type: string; options?: string[] }[];
  linux: {
    maskedPaths: string[];
    readonlyPaths: string[];
    resources: Record<string, unknown>;
    seccomp: {
      defaultAction: string;
      architectures: string[];
      syscalls: { names: string[]; action: string }[];
    };
  };
}

describe('the OCI runtime config of an instance', () => {
  it('is immutable by construction whatever the input', () => {
    fc.assert(
      fc.property(input, (i) => {
        const spec = buildRuntimeSpec(i) as unknown as Spec;
        expect(spec.root.readonly).toBe(true);
        expect(spec.hostname).toBe(i.id);
        expect(spec.process.noNewPrivileges).toBe(true);
        expect(spec.process.user).toEqual({ uid: i.process.uid, gid: i.process.gid });
        for (const set of Object.values(spec.process.capabilities))
          for (const cap of set) expect(i.runtime.capabilities).toContain(cap);
        expect(spec.linux.maskedPaths).toEqual([...MASKED_PATHS]);
        expect(spec.linux.readonlyPaths).toEqual([...READONLY_PATHS]);
        // Whatever capability it holds, nothing in it mounts: the root stays read-only and
        // the masks stay in place (CAP_SYS_ADMIN with no user namespace is the host's).
        // An allowlist: what is not named fails, and no rule names the mount family.
        expect(spec.linux.seccomp.defaultAction).toBe('SCMP_ACT_ERRNO');
        const allowed = spec.linux.seccomp.syscalls
          .filter((c) => c.action === 'SCMP_ACT_ALLOW')
          .flatMap((c) => c.names);
        for (const call of ['mount', 'umount2', 'fsmount', 'move_mount', 'mount_setattr'])
          expect(allowed).not.toContain(call);
        // Its capability rules follow the capabilities the instance holds, and no others.
        expect(spec.linux.seccomp).toEqual(
          instanceSeccomp({ capabilities: spec.process.capabilities['bounding']!, deny: [] }),
        );
        expect(spec.linux.seccomp.architectures).toEqual(
          expect.arrayContaining(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']),
        );
        // The only writable mounts are the contract's tmpfs paths and volumes (and runc's
        // own /dev tmpfs, shm and mqueue), and nothing on them can be executed.
        for (const m of spec.mounts) {
          const contract =
            i.runtime.tmpfs.some((t) => t.path === m.destination) ||
            i.runtime.volumes.some((v) => v.path === m.destination);
          if (contract)
            expect(m.options).toEqual(expect.arrayContaining(['nosuid', 'nodev', 'noexec']));
          else if (m.type !== 'proc' && m.type !== 'devpts' && m.destination !== '/dev')
            expect(m.options).toEqual(expect.arrayContaining(['noexec']));
        }
        expect(spec.mounts.filter((m) => m.type === 'bind')).toHaveLength(i.runtime.volumes.length);
        expect('memory' in spec.linux.resources).toBe(i.resources.memoryBytes !== undefined);
      }),
    );
  });

  it('grants no capability unless the artifact declares it', () => {
    const [i] = fc.sample(input, { numRuns: 1, seed: 1 });
    const spec = buildRuntimeSpec({
      ...i!,
      runtime: { ...i!.runtime, capabilities: [] },
    }) as unknown as Spec;
    expect(spec.process.capabilities).toEqual({
      bounding: [],
      effective: [],
      permitted: [],
      ambient: [],
    });
  });
});

describe('resolveUser', () => {
  const passwd = 'root:x:0:0:root:/root:/bin/sh\nweb:x:65532:65532::/:/bin/false\n';
  const group = 'root:x:0:\nweb:x:65532:\nstaff:x:50:\n';
  it('resolves names, ids and groups as runc does', () => {
    expect(resolveUser(undefined, passwd, group)).toEqual({ ok: true, uid: 0, gid: 0 });
    expect(resolveUser('web', passwd, group)).toEqual({ ok: true, uid: 65532, gid: 65532 });
    expect(resolveUser('65532:65532', '', '')).toEqual({ ok: true, uid: 65532, gid: 65532 });
    expect(resolveUser('1000', passwd, group)).toEqual({ ok: true, uid: 1000, gid: 0 });
    expect(resolveUser('web:staff', passwd, group)).toEqual({ ok: true, uid: 65532, gid: 50 });
    expect(resolveUser('nobody', passwd, group).ok).toBe(false);
    expect(resolveUser('web:wheel', passwd, group).ok).toBe(false);
  });
});

describe('parseRuntimeContract', () => {
  const contract = (tmpfs: string[], volumes: [string, string][] = [], path = '/healthz') =>
    parseRuntimeContract(
      JSON.stringify({
        health: {
          probe: { kind: 'http', port: 8080, path },
          intervalMs: 1000,
          timeoutMs: 500,
          retries: 1,
          startGraceMs: 0,
        },
        tmpfs: tmpfs.map((p) => ({ path: p })),
        volumes: volumes.map(([name, p]) => ({ name, path: p })),
        capabilities: [],
      }),
    );
  it('accepts ordinary mount points and refuses ones that escape, unmask or overlap', () => {
    expect(contract(['/tmp'], [['data', '/var/lib/app']])).not.toBeNull();
    for (const bad of [
      '/',
      '/../etc',
      '/tmp/../etc',
      '/proc',
      '/proc/sys',
      '/dev/shm',
      '/sys',
      'tmp',
      '/tmp/',
    ])
      expect(contract([bad])).toBeNull();
    expect(contract(['/tmp', '/tmp'])).toBeNull();
    expect(contract(['/var'], [['data', '/var/lib/app']])).toBeNull();
    expect(
      contract(
        [],
        [
          ['a', '/a'],
          ['a', '/b'],
        ],
      ),
    ).toBeNull();
    expect(contract(['/tmp'], [], '/health z')).toBeNull();
    expect(parseRuntimeContract('not json')).toBeNull();
    expect(parseRuntimeContract(undefined)).toEqual({ tmpfs: [], volumes: [], capabilities: [] });
  });
});
