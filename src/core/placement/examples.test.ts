import { describe, expect, it } from 'vitest';
import { GIB, MIB, roomy } from './arbitraries.case.js';
import { formatSize } from './format.js';
import { place } from './place.js';
import { rulesOf } from './rules.js';
import type { HostState, PlacementHost, PlacementInstance, PlacementRules } from './types.js';

/** A host with 1 GiB of memory: 768 MiB for instances once the host's 256 MiB are kept. */
function small(name: string, labels: Record<string, string> = {}, state: HostState = 'ready') {
  return {
    name,
    labels,
    state,
    capacity: { addresses: 253, maxInstances: 250, memoryBytes: GIB, cpus: 2, pids: 2048 },
  } satisfies PlacementHost;
}

function instance(
  id: string,
  resources: PlacementInstance['resources'] = {},
  rules: PlacementRules = { constraints: [] },
): PlacementInstance {
  return { id, fleet: id.replace(/-\d+$/, ''), resources, rules };
}

describe('why an instance fits nowhere, in words', () => {
  it('says it as the issue does: "3 hosts: 2 lack 64Mi memory, 1 fails disk=ssd"', () => {
    const full = (name: string) => ({
      ...small(name, { disk: 'ssd' }),
      reserved: { memoryBytes: 768 * MIB },
    });
    const result = place({
      hosts: [full('a'), full('b'), small('c', { disk: 'hdd' })],
      instances: [
        instance('web-0', { memoryBytes: 64 * MIB }, rulesOf({ constraints: ['disk=ssd'] })),
      ],
      current: {},
    });
    expect(result.assignments).toEqual({});
    expect(result.unplaceable).toEqual([
      {
        instance: 'web-0',
        fleet: 'web',
        reasons: [
          { check: 'memory', subject: '64Mi', hosts: 2, text: '2 lack 64Mi memory' },
          { check: 'constraint', subject: 'disk=ssd', hosts: 1, text: '1 fails disk=ssd' },
        ],
        message: '3 hosts: 2 lack 64Mi memory, 1 fails disk=ssd',
      },
    ]);
  });

  it('counts a host under the first check it fails: state, constraints, then room', () => {
    const lostAndWrong = small('a', { disk: 'hdd' }, 'lost');
    const wrongAndFull = { ...small('b', { disk: 'hdd' }), reserved: { instances: 250 } };
    const rules = rulesOf({ constraints: ['zone=a', 'disk=ssd'] });
    const result = place({
      hosts: [
        lostAndWrong,
        wrongAndFull,
        { ...small('c', { zone: 'a', disk: 'ssd' }), reserved: { instances: 250 } },
      ],
      instances: [instance('web-0', {}, rules)],
      current: {},
    });
    expect(result.unplaceable[0]!.message).toBe(
      '3 hosts: 1 is lost, 1 fails zone=a, 1 is at its instance limit',
    );
  });

  it('names CPUs, pids and instance slots, and agrees with its counts', () => {
    const busy = (name: string) => ({
      ...small(name),
      reserved: { cpus: 8, pids: 1000, instances: 250 },
    });
    const text = (resources: PlacementInstance['resources'], hosts: PlacementHost[]) =>
      place({ hosts, instances: [instance('web-0', resources)], current: {} }).unplaceable[0]!
        .message;
    expect(text({ cpus: 0.5 }, [busy('a'), busy('b')])).toBe('2 hosts: 2 lack 0.5 CPUs');
    expect(text({ cpus: 1 }, [busy('a')])).toBe('1 host: 1 lacks 1 CPU');
    expect(text({ pids: 100 }, [{ ...small('a'), reserved: { pids: 1000 } }])).toBe(
      '1 host: 1 lacks 100 pids',
    );
    expect(text({}, [{ ...small('a'), reserved: { instances: 250 } }])).toBe(
      '1 host: 1 is at its instance limit',
    );
    expect(text({}, [small('a', {}, 'draining'), small('b', {}, 'draining')])).toBe(
      '2 hosts: 2 are draining',
    );
    expect(text({}, [])).toBe('no hosts');
  });

  it('writes sizes as fleet.yaml does', () => {
    expect(formatSize(64 * MIB)).toBe('64Mi');
    expect(formatSize(1536 * MIB)).toBe('1536Mi');
    expect(formatSize(2 * GIB)).toBe('2Gi');
    expect(formatSize(100e6)).toBe('100M');
    expect(formatSize(1e9 + 1)).toBe('953.7Mi');
    expect(formatSize(4096)).toBe('4Ki');
    expect(formatSize(512)).toBe('512B');
  });
});

describe('what moves, and why', () => {
  const web = (n: number) => instance(`web-${n}`, { memoryBytes: 256 * MIB });

  it('moves the instances of a lost or draining host, and of a host gone or no longer fit', () => {
    const ssd = rulesOf({ constraints: ['disk=ssd'] });
    const result = place({
      hosts: [
        small('a', { disk: 'ssd' }),
        small('b', {}, 'lost'),
        small('c', {}, 'draining'),
        small('d'),
      ],
      instances: [web(0), web(1), web(2), instance('db-0', {}, ssd)],
      current: { 'web-0': 'b', 'web-1': 'c', 'web-2': 'x', 'db-0': 'd' },
    });
    expect(result.moves).toEqual([
      {
        instance: 'db-0',
        fleet: 'db',
        from: 'd',
        to: 'a',
        cause: 'constraint',
        detail: 'host d fails disk=ssd',
      },
      {
        instance: 'web-0',
        fleet: 'web',
        from: 'b',
        to: 'a',
        cause: 'host-lost',
        detail: 'host b is lost',
      },
      {
        instance: 'web-1',
        fleet: 'web',
        from: 'c',
        to: 'd',
        cause: 'host-draining',
        detail: 'host c is draining',
      },
      {
        instance: 'web-2',
        fleet: 'web',
        from: 'x',
        to: 'a',
        cause: 'host-gone',
        detail: 'host x is not among the hosts any more',
      },
    ]);
  });

  it('keeps instances by id while they fit on a host that shrank, and moves the rest', () => {
    const result = place({
      hosts: [small('a'), roomy('b')],
      instances: [web(0), web(1), web(2), web(3)],
      current: { 'web-0': 'a', 'web-1': 'a', 'web-2': 'a', 'web-3': 'a' },
    });
    expect(result.assignments).toEqual({ 'web-0': 'a', 'web-1': 'a', 'web-2': 'a', 'web-3': 'b' });
    expect(result.moves).toEqual([
      {
        instance: 'web-3',
        fleet: 'web',
        from: 'a',
        to: 'b',
        cause: 'capacity',
        detail: 'host a lacks 256Mi memory for it beside the instances it keeps',
      },
    ]);
  });

  it('reports a move that finds no host both as a move and as unplaceable', () => {
    const result = place({
      hosts: [small('a', {}, 'lost')],
      instances: [web(0)],
      current: { 'web-0': 'a' },
    });
    expect(result.moves).toMatchObject([
      { instance: 'web-0', from: 'a', to: null, cause: 'host-lost' },
    ]);
    expect(result.unplaceable).toMatchObject([{ instance: 'web-0', message: '1 host: 1 is lost' }]);
  });

  it('leaves an uneven spread alone (no cause) and evens it out with new instances', () => {
    const zoned = rulesOf({ spread: 'zone' });
    const w = (n: number) => instance(`web-${n}`, {}, zoned);
    const hosts = [
      roomy('a', { zone: 'z1' }),
      roomy('b', { zone: 'z1' }),
      roomy('c', { zone: 'z2' }),
    ];
    const result = place({
      hosts,
      instances: [w(0), w(1), w(2), w(3), w(4)],
      current: { 'web-0': 'a', 'web-1': 'a', 'web-2': 'a' },
    });
    expect(result.moves).toEqual([]);
    expect(result.assignments).toMatchObject({ 'web-3': 'c', 'web-4': 'c' });
  });
});

describe('where new instances go', () => {
  it('spreads a fleet first, then prefers the emptiest host, then the first by name', () => {
    const result = place({
      hosts: [roomy('c'), { ...roomy('a'), reserved: { memoryBytes: 100 * GIB } }, roomy('b')],
      instances: [instance('web-0'), instance('web-1'), instance('web-2'), instance('api-0')],
      current: {},
    });
    // Alike in size, api goes before web (by fleet). api-0 → b: a is fuller, b and c are
    // alike but for their name. web-0 → c, now the emptier; web-1 → b; web-2 → a: the fleet
    // spreads before anything else.
    expect(result.assignments).toEqual({ 'api-0': 'b', 'web-0': 'c', 'web-1': 'b', 'web-2': 'a' });
  });

  it('places the largest instances first, so small ones fill the gaps', () => {
    // Two hosts of 768 MiB for instances. Placed by id, spread, the four 256s would leave
    // 256 free on each and the 512 no host; largest first, everything fits.
    const result = place({
      hosts: [small('a'), small('b')],
      instances: [
        ...[0, 1, 2, 3].map((n) => instance(`a-${n}`, { memoryBytes: 256 * MIB })),
        instance('b-0', { memoryBytes: 512 * MIB }),
      ],
      current: {},
    });
    expect(result.unplaceable).toEqual([]);
    expect(result.assignments).toMatchObject({ 'b-0': 'a' });
  });

  it('refuses two hosts of one name or two instances of one id', () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return (err as { code?: string }).code;
      }
      return null;
    };
    expect(code(() => place({ hosts: [roomy('a'), roomy('a')], instances: [], current: {} }))).toBe(
      'E_PLACEMENT_INPUT',
    );
    expect(
      code(() => place({ hosts: [], instances: [instance('w-0'), instance('w-0')], current: {} })),
    ).toBe('E_PLACEMENT_INPUT');
    expect(
      code(() =>
        place({ hosts: [], instances: [instance('w-0', { memoryBytes: -1 })], current: {} }),
      ),
    ).toBe('E_PLACEMENT_INPUT');
  });

  it('counts a host figure that is not a number as none', () => {
    const broken = { ...small('a'), capacity: { ...small('a').capacity, memoryBytes: NaN } };
    const result = place({
      hosts: [broken],
      instances: [instance('web-0', { memoryBytes: MIB })],
      current: {},
    });
    expect(result.unplaceable[0]!.message).toBe('1 host: 1 lacks 1Mi memory');
  });

  it('takes any id, "__proto__" too, as data', () => {
    const result = place({ hosts: [roomy('a')], instances: [instance('__proto__')], current: {} });
    expect(Object.entries(result.assignments)).toEqual([['__proto__', 'a']]);
  });
});

describe('a fleet’s placement spec', () => {
  it('parses its constraints, and refuses bad ones by name', () => {
    expect(rulesOf(undefined)).toEqual({ constraints: [] });
    expect(rulesOf({ spread: 'zone', constraints: ['disk=ssd'] })).toEqual({
      spread: 'zone',
      constraints: [{ key: 'disk', op: '=', value: 'ssd', text: 'disk=ssd' }],
    });
    expect(() => rulesOf({ spread: 'Zone', constraints: ['disk==ssd'] })).toThrow(
      /spread "Zone" is not a label key.*constraint "disk==ssd"/,
    );
  });
});
