import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseFleet } from '../fleet/spec.js';
import { serviceSpec, serviceSpecSchema } from './service-spec.js';

const example = (name: string) => new URL(`../../../examples/hello/${name}`, import.meta.url);

function problems(value: unknown, local: string[] = []): string[] {
  const result = serviceSpecSchema(local).safeParse(value);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('service:', () => {
  it('takes an instance port and a loopback listen, and a preview on another address', () => {
    expect(serviceSpec.parse({ port: 8080, listen: '127.0.0.1:18080' })).toEqual({
      port: 8080,
      listen: '127.0.0.1:18080',
    });
    expect(
      problems({ port: 8080, listen: '127.0.0.1:18080', previewListen: '127.0.0.2:18080' }),
    ).toEqual([]);
  });

  it('refuses a listen that is not one local address and port, naming every bad field', () => {
    expect(problems({ port: 0, listen: '0.0.0.0:18080', previewListen: 'localhost:1' })).toEqual([
      'port: Too small: expected number to be >=1',
      'listen: 0.0.0.0 is not one address of this machine: name a loopback or local address',
      'previewListen: expected an IPv4 address and a port such as "127.0.0.1:18080"',
    ]);
    for (const listen of [
      '127.0.0.1',
      '127.0.0.1:0',
      '127.0.0.1:65536',
      '127.0.0.01:80',
      '[::1]:80',
      '224.0.0.1:80',
      ' 127.0.0.1:80',
      '127.0.0.1:80\n',
    ])
      expect(problems({ port: 80, listen }), listen).toHaveLength(1);
    expect(problems({ port: 65_536, listen: '127.0.0.1:80' })).toHaveLength(1);
    expect(problems({ port: 80, listen: '127.0.0.1:80', extra: 1 })).toHaveLength(1);
  });

  it('takes another address of this machine only when told it is one', () => {
    expect(problems({ port: 80, listen: '192.168.1.5:80' })[0]).toMatch(
      /not an address of this machine/,
    );
    expect(problems({ port: 80, listen: '192.168.1.5:80' }, ['192.168.1.5'])).toEqual([]);
  });

  it('refuses a preview on the listen itself', () => {
    expect(problems({ port: 80, listen: '127.0.0.1:80', previewListen: '127.0.0.1:80' })).toEqual([
      'previewListen: the preview needs an address and port of its own, not the listen',
    ]);
  });

  it('is what examples/hello/fleet-service*.yaml hold, and fleet.yaml takes it', () => {
    for (const [file, greeting] of [
      ['fleet-service.yaml', 'hello'],
      ['fleet-service-v2.yaml', 'bonjour'],
    ] as const) {
      const text = readFileSync(example(file), 'utf8');
      const doc = parse(text) as { service: unknown; env: { GREETING: string } };
      expect(serviceSpec.parse(doc.service)).toEqual({ port: 8080, listen: '127.0.0.1:18080' });
      expect(doc.env.GREETING).toBe(greeting);
      expect(parseFleet(text, file).service).toEqual({ port: 8080, listen: '127.0.0.1:18080' });
    }
  });
});
