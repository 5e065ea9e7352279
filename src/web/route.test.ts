import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FLEET_TABS, fleetHref, parseRoute } from './route.js';

describe('the page routes', () => {
  it('knows the fleets list and each fleet tab', () => {
    expect(parseRoute('')).toEqual({ view: 'fleets' });
    expect(parseRoute('#/fleets')).toEqual({ view: 'fleets' });
    expect(parseRoute('#/fleets/web')).toEqual({ view: 'fleet', name: 'web', tab: 'instances' });
    expect(parseRoute('#/fleets/web/drift')).toEqual({ view: 'fleet', name: 'web', tab: 'drift' });
    expect(parseRoute('#/fleets/web/nope')).toEqual({
      view: 'fleet',
      name: 'web',
      tab: 'instances',
    });
    expect(parseRoute('#/fleets/%E0%A4%A')).toEqual({ view: 'fleets' });
    expect(parseRoute('#/ledger')).toEqual({ view: 'other', hash: '/ledger' });
  });
  it('reads back every fleet name and tab it writes', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.constantFrom(...FLEET_TABS), (name, tab) => {
        expect(parseRoute(fleetHref(name, tab))).toEqual({ view: 'fleet', name, tab });
      }),
    );
  });
});
