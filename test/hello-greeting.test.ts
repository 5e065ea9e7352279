import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { getOnce } from './helpers/http-load.js';
import { HELLO, useServer } from './helpers/server.js';

const V2 = fileURLToPath(new URL('../examples/hello/fleet-v2.yaml', import.meta.url));

/**
 * examples/hello tells its releases apart: /cgi-bin/greeting (busybox httpd's CGI) answers
 * with the instance's GREETING, as the edge tests of issue 19 will need from real instances.
 */
describe('examples/hello', () => {
  const server = useServer('greeting');

  it('answers /cgi-bin/greeting with its fleet’s GREETING, from a read-only root', async () => {
    server.up();
    expect(server.cli('build', '-q', HELLO).code).toBe(0);
    const greetingOf = async (): Promise<string | null> => {
      const instance = server.fleet('hello')?.instances.find((i) => i.state === 'healthy');
      if (instance?.address === undefined) return null;
      return getOnce(`http://${instance.address}:8080/cgi-bin/greeting`, 2_000);
    };
    const v1 = server.cli('deploy', server.helloFleet(1), '--wait');
    expect(v1.code, v1.stderr).toBe(0);
    expect(await greetingOf()).toBe('hello\n');
    // The page itself is still the static one.
    const page = server.fleet('hello')?.instances[0]?.address;
    expect(await getOnce(`http://${page}:8080/`, 2_000)).toBe(
      readFileSync(`${HELLO}/www/index.html`, 'utf8'),
    );
    const v2 = server.writeFleet(
      'hello',
      readFileSync(V2, 'utf8')
        .replace(/^name: hello\n/m, '')
        .replace(/^replicas: \d+$/m, 'replicas: 1')
        .split('\n'),
    );
    const deployed = server.cli('deploy', v2, '--wait');
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(await greetingOf()).toBe('bonjour\n');
  }, 120_000);
});
