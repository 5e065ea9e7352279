import { describe, expect, it } from 'vitest';
import { policyKeyPath, trustsHomeKey } from './policy.js';

describe("a policy key's file", () => {
  it('is relative to the policy, or under HOME when written ~/', () => {
    expect(policyKeyPath('ci.pub', '/repo/examples', '/home/ann')).toEqual({
      path: '/repo/examples/ci.pub',
    });
    expect(policyKeyPath('../keys/ci.pub', '/repo/examples', undefined)).toEqual({
      path: '/repo/keys/ci.pub',
    });
    expect(policyKeyPath('/etc/ingot/ci.pub', '/repo', '/home/ann')).toEqual({
      path: '/etc/ingot/ci.pub',
    });
    expect(policyKeyPath('~/.config/ingot/keys/ci.pub', '/repo', '/home/ann')).toEqual({
      path: '/home/ann/.config/ingot/keys/ci.pub',
    });
  });

  it('refuses ~ without an absolute HOME, and ~user', () => {
    expect(policyKeyPath('~/k.pub', '/repo', undefined)).toHaveProperty('problem');
    expect(policyKeyPath('~/k.pub', '/repo', 'relative')).toHaveProperty('problem');
    expect(policyKeyPath('~root/k.pub', '/repo', '/home/ann')).toHaveProperty('problem');
  });
});

describe('the trust rule', () => {
  it("trusts the home's key exactly when neither a policy nor a key is given", () => {
    expect(trustsHomeKey({})).toBe(true);
    expect(trustsHomeKey({ keyFiles: [] })).toBe(true);
    expect(trustsHomeKey({ keyFiles: ['ci.pub'] })).toBe(false);
    expect(trustsHomeKey({ policyFile: 'policy.yaml' })).toBe(false);
    expect(trustsHomeKey({ policyFile: 'policy.yaml', keyFiles: ['ci.pub'] })).toBe(false);
  });
});
