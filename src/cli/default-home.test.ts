import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultHome, ROOT_HOME } from './default-home.js';

describe('the default home', () => {
  it('is /var/lib/ingot for root, whatever the environment says', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom('HOME', 'XDG_STATE_HOME', 'PWD'), fc.string()),
        (env) => defaultHome(0, env) === ROOT_HOME,
      ),
    );
  });

  it('is under XDG_STATE_HOME for others, else under HOME/.local/state, else none', () => {
    expect(defaultHome(1000, { XDG_STATE_HOME: '/s', HOME: '/h' })).toBe('/s/ingot');
    expect(defaultHome(1000, { HOME: '/home/ann' })).toBe('/home/ann/.local/state/ingot');
    // Relative values are ignored (XDG): they would make the home depend on the folder again.
    expect(defaultHome(1000, { XDG_STATE_HOME: 'state', HOME: '/h' })).toBe(
      '/h/.local/state/ingot',
    );
    expect(defaultHome(1000, { XDG_STATE_HOME: '', HOME: '' })).toBeNull();
    expect(defaultHome(1000, { HOME: '.' })).toBeNull();
    expect(defaultHome(1000, {})).toBeNull();
    // Off POSIX (no uid), the user rule.
    expect(defaultHome(undefined, { HOME: '/h' })).toBe('/h/.local/state/ingot');
  });

  it('is always absolute, never the working folder', () => {
    fc.assert(
      fc.property(
        fc.option(fc.nat(), { nil: undefined }),
        fc.dictionary(fc.constantFrom('HOME', 'XDG_STATE_HOME'), fc.string()),
        (uid, env) => {
          const home = defaultHome(uid, env);
          return home === null || (home.startsWith('/') && home.endsWith('ingot'));
        },
      ),
    );
  });
});
