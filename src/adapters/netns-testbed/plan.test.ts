import { describe, expect, it } from 'vitest';
import { hostNumberOf, overlaps, parseCidr, planTestbed } from './plan.js';

describe('test bed plan', () => {
  it('names and numbers every host from the options alone', () => {
    const plan = planTestbed({ hosts: 3 });
    expect(plan).toMatchObject({
      prefix: 'ingotc',
      bridge: 'ingotc0',
      gateway: '10.87.0.1',
      linkSubnet: '10.87.0.0/24',
      instanceSubnets: '10.88.0.0/16',
    });
    expect(plan.hosts[2]).toEqual({
      n: 3,
      netns: 'ingotc-h3',
      link: 'ingotc-h3',
      address: '10.87.0.13',
      instanceSubnet: '10.88.3.0/24',
      bridge: 'ingotc-i3',
    });
    const other = planTestbed({
      hosts: 244,
      prefix: 'abcdefgh',
      linkSubnet: '192.168.7.0/24',
      instanceSubnets: '172.20.0.0/16',
    });
    expect(other.hosts[243]).toMatchObject({
      address: '192.168.7.254',
      instanceSubnet: '172.20.244.0/24',
    });
    // Linux allows 15 characters in an interface name.
    expect(other.hosts[243]!.link.length).toBeLessThanOrEqual(15);
    expect(other.hosts[243]!.bridge.length).toBeLessThanOrEqual(15);
  });

  it('names every bad option at once', () => {
    const bad = () =>
      planTestbed({
        hosts: 245,
        prefix: 'Bad-prefix',
        linkSubnet: '10.87.0.0/23',
        instanceSubnets: '10.88.1.0/16',
      });
    expect(bad).toThrow(expect.objectContaining({ code: 'E_TESTBED_INPUT' }));
    try {
      bad();
    } catch (err) {
      expect((err as { details: { problems: string[] } }).details.problems).toHaveLength(4);
    }
    for (const options of [
      { hosts: 0 },
      { hosts: 1.5 },
      { hosts: 1, prefix: 'a; rm -rf /' },
      { hosts: 1, prefix: 'toolongprefix' },
      { hosts: 1, linkSubnet: '10.87.0.300/24' },
      { hosts: 1, linkSubnet: '10.88.0.0/24' }, // inside the instances' /16
    ])
      expect(() => planTestbed(options)).toThrow(
        expect.objectContaining({ code: 'E_TESTBED_INPUT' }),
      );
  });

  it('finds a host by its name only under its own prefix', () => {
    expect(hostNumberOf('ingotc', 'ingotc-h12')).toBe(12);
    expect(hostNumberOf('ingotc', 'ingotc-h0')).toBeNull();
    expect(hostNumberOf('ingotc', 'ingotc1-h1')).toBeNull();
    expect(hostNumberOf('ingotc', 'ingotc-h1x')).toBeNull();
    expect(hostNumberOf('ingot', 'ingotc-h1')).toBeNull();
  });

  it('tells overlapping networks', () => {
    const c = (s: string) => parseCidr(s)!;
    expect(overlaps(c('10.88.0.0/16'), c('10.88.3.0/24'))).toBe(true);
    expect(overlaps(c('10.88.3.0/24'), c('10.88.4.0/24'))).toBe(false);
    expect(overlaps(c('10.0.0.0/8'), c('10.200.1.1/32'))).toBe(true);
    expect(parseCidr('10.88.0.1/24')).toBeNull(); // host bits set
  });
});
