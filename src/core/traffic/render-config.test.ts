import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Edge } from './edge.js';
import { arbEdgeOf, arbSkeleton, fleet, server, shuffled } from './fixtures.case.js';
import { renderConfig } from './render-config.js';

const PATHS = { adminSocket: '/run/ingot/edge/admin.sock', pidFile: '/run/ingot/edge/haproxy.pid' };

/** Every line renderConfig may write: anything else would be an injected line. */
const LINE_SHAPES = [
  /^# Rendered by Ingot from its state: edits here are overwritten\.$/,
  /^$/,
  /^(global|defaults)$/,
  /^ {2}(master-worker|stats timeout 30s)$/,
  /^ {2}stats socket '[^'\n]+' mode 600 level admin expose-fd listeners$/,
  /^ {2}pidfile '[^'\n]+'$/,
  /^ {2}hard-stop-after \d+ms$/,
  /^ {2}(uid|gid) \d+$/,
  /^ {2}(mode http|option redispatch|retries 3|option idle-close-on-response|balance roundrobin)$/,
  /^ {2}timeout [a-z-]+ \d+s$/,
  /^(frontend fe|backend be)_[a-z0-9-]+(_preview)?$/,
  /^ {2}bind \d{1,3}(\.\d{1,3}){3}:\d{1,5}$/,
  /^ {2}default_backend be_[a-z0-9-]+(_preview)?$/,
  /^ {2}server [a-z0-9-]+ \d{1,3}(\.\d{1,3}){3}:\d{1,5} weight \d{1,3}( disabled)?$/,
];

function unexpectedLines(text: string): string[] {
  return text
    .slice(0, -1)
    .split('\n')
    .filter((l) => !LINE_SHAPES.some((shape) => shape.test(l)));
}

describe('renderConfig', () => {
  it('writes the whole file: master-worker, admin socket, defaults, one frontend and backend per listen', () => {
    const edge: Edge = {
      fleets: [
        fleet('hello', '127.0.0.1:18080', [server('hello-2', 9), server('hello-1', 1, 'drain')], {
          listen: '127.0.0.1:18081',
          servers: [server('hello-3', 5, 'maint')],
        }),
      ],
    };
    expect(renderConfig(edge, PATHS, { runAs: { uid: 65534, gid: 65534 } })).toBe(
      `# Rendered by Ingot from its state: edits here are overwritten.
global
  master-worker
  stats socket '/run/ingot/edge/admin.sock' mode 600 level admin expose-fd listeners
  stats timeout 30s
  pidfile '/run/ingot/edge/haproxy.pid'
  hard-stop-after 30000ms
  uid 65534
  gid 65534

defaults
  mode http
  option redispatch
  retries 3
  option idle-close-on-response
  timeout connect 2s
  timeout queue 5s
  timeout http-request 10s
  timeout http-keep-alive 10s
  timeout client 30s
  timeout server 30s

frontend fe_hello
  bind 127.0.0.1:18080
  default_backend be_hello

backend be_hello
  balance roundrobin
  server hello-1 10.88.0.3:8080 weight 1 disabled
  server hello-2 10.88.0.4:8080 weight 9

frontend fe_hello_preview
  bind 127.0.0.1:18081
  default_backend be_hello_preview

backend be_hello_preview
  balance roundrobin
  server hello-3 10.88.0.5:8080 weight 5 disabled
`,
    );
  });

  it('is a function of the state alone: any order of fleets and servers gives the same text', () => {
    fc.assert(
      fc.property(arbSkeleton.chain(arbEdgeOf), fc.nat(), (edge, seed) => {
        const text = renderConfig(edge, PATHS);
        expect(renderConfig(shuffled(edge, seed), PATHS)).toBe(text);
        expect(unexpectedLines(text)).toEqual([]);
      }),
    );
  });

  it('cannot be made to write a line of its own by any fleet name, instance id or address', () => {
    const hostile = fc.oneof(
      fc.string(),
      fc.constantFrom(
        'a\nlisten evil',
        'a b',
        "a'",
        'a#',
        'a;b',
        'a\r',
        'A',
        '-a',
        'a'.repeat(49),
        '',
      ),
    );
    fc.assert(
      fc.property(
        fc.oneof(hostile, fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,8}$/)),
        fc.oneof(hostile, fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,8}$/)),
        fc.oneof(hostile, fc.ipV4()),
        (name, id, address) => {
          const edge: Edge = {
            fleets: [fleet(name, '127.0.0.1:18080', [{ ...server('w-1'), instance: id, address }])],
          };
          let text: string;
          try {
            text = renderConfig(edge, PATHS);
          } catch (err) {
            expect(err).toMatchObject({ code: 'E_EDGE_INVALID' });
            return;
          }
          expect(unexpectedLines(text)).toEqual([]);
          expect(text.split('\n').filter((l) => l.startsWith('  server '))).toHaveLength(1);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('refuses paths that would break out of their quotes or a socket name', () => {
    for (const adminSocket of [
      "/tmp/a' level admin",
      '/tmp/a\nlisten x',
      'relative.sock',
      `/${'x'.repeat(120)}`,
    ])
      expect(() => renderConfig({ fleets: [] }, { ...PATHS, adminSocket })).toThrow(
        expect.objectContaining({ code: 'E_EDGE_INVALID' }),
      );
    // "$" and "#" are plain text inside single quotes.
    expect(renderConfig({ fleets: [] }, { ...PATHS, pidFile: '/tmp/$HOME#x' })).toContain(
      "pidfile '/tmp/$HOME#x'",
    );
  });

  it('refuses an edge that does not validate, naming every problem', () => {
    const edge: Edge = {
      fleets: [
        fleet('web', '0.0.0.0:80', [server('w-1', 257), server('w-1')]),
        fleet('web', '10.1.2.3:80', []),
      ],
    };
    let message = '';
    try {
      renderConfig(edge, PATHS);
    } catch (err) {
      expect(err).toMatchObject({ code: 'E_EDGE_INVALID' });
      message = (err as Error).message;
    }
    expect(message).toContain('fleets[0].service.listen: "0.0.0.0:80": 0.0.0.0 is not one address');
    expect(message).toContain('fleets[0].backends.live[0].weight');
    expect(message).toContain('fleets[0].backends.live[1].instance: w-1 is listed twice');
    expect(message).toContain('fleets[1].fleet: fleet web is also fleets[0]');
    expect(message).toContain(
      'fleets[1].service.listen: "10.1.2.3:80": 10.1.2.3 is not an address of this machine',
    );
    // Told that 10.1.2.3 is this machine's, the listen passes.
    expect(() =>
      renderConfig({ fleets: [fleet('web', '10.1.2.3:80', [])] }, PATHS, {
        localAddresses: ['10.1.2.3'],
      }),
    ).not.toThrow();
  });
});
