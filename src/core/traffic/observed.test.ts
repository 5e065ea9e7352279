import { describe, expect, it } from 'vitest';
import { fleet, server } from './fixtures.case.js';
import { observedEdge } from './observed.js';
import { planRuntime } from './plan-runtime.js';

describe('observedEdge', () => {
  it('puts what HAProxy reports under the listens it loaded, and leaves other backends out', () => {
    const loaded = {
      fleets: [
        fleet('web', '127.0.0.1:18080', [server('w-1')], {
          listen: '127.0.0.1:18081',
          servers: [],
        }),
      ],
    };
    const observed = observedEdge(loaded, [
      {
        backend: 'be_web',
        server: 'w-2',
        address: '10.88.0.4',
        port: 8080,
        weight: 3,
        state: 'drain',
      },
      {
        backend: 'be_web_preview',
        server: 'w-3',
        address: '10.88.0.5',
        port: 8080,
        weight: 1,
        state: 'ready',
      },
      {
        backend: 'be_gone',
        server: 'w-9',
        address: '10.88.0.9',
        port: 8080,
        weight: 1,
        state: 'ready',
      },
    ]);
    expect(observed.fleets[0]?.backends).toEqual({
      live: [server('w-2', 3, 'drain')],
      preview: [server('w-3', 1)],
    });
    expect(observed.fleets[0]?.service).toEqual(loaded.fleets[0]?.service);
    // What was loaded, read back unchanged, needs nothing.
    expect(
      planRuntime(
        observedEdge(loaded, [
          {
            backend: 'be_web',
            server: 'w-1',
            address: '10.88.0.3',
            port: 8080,
            weight: 10,
            state: 'ready',
          },
        ]),
        loaded,
      ),
    ).toEqual({ kind: 'runtime', commands: [] });
  });
});
