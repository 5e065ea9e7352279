import { rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { passableTempDir } from './helpers/fs.js';
import { removeNet, requireHost, testNet, upArgs, type TestNet } from './helpers/agent.js';
import { ingot } from './helpers/cli.js';
import { debianBaseLayout } from './helpers/debian-base.js';

/**
 * python3-minimal has no http.server: a few lines on the socket module answer HTTP/1.0,
 * which is all the health check and the test need.
 */
const SERVER = `import socket, sys
body = ('hello from python %s on debian %s\\n' % (sys.version.split()[0], open('/etc/debian_version').read().strip())).encode()
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', 8080))
s.listen(64)
while True:
    c, _ = s.accept()
    try:
        c.settimeout(2)
        line = c.recv(4096).split(b'\\r\\n', 1)[0].split(b' ')
        out = b'ok\\n' if len(line) > 1 and line[1] == b'/healthz' else body
        c.sendall(b'HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\nContent-Length: %d\\r\\n\\r\\n' % len(out) + out)
    except OSError:
        pass
    finally:
        c.close()
`;

function httpGet(address: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get({ host: address, port: 8080, path, agent: false, timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
  });
}

/**
 * Issue 16, "Real base images": a Debian minbase made by mmdebstrap (device nodes in /dev
 * and all) is a base Ingot builds on, and a Python program in it serves as a fleet.
 */
describe('a real Debian base made by mmdebstrap', () => {
  let root: string;
  let home: string;
  let net: TestNet;
  let env: Record<string, string>;
  let ctx: string;
  const cli = (...args: string[]) => ingot(args, { env });

  beforeAll(() => {
    requireHost();
    // Made once per machine and month (about a minute), then reused: test/helpers/debian-base.ts.
    const base = debianBaseLayout();
    root = passableTempDir('ingot-debian-');
    home = join(root, 'home');
    net = testNet();
    env = { INGOT_HOME: home };
    ctx = join(root, 'ctx');
    mkdirSync(join(ctx, 'app'), { recursive: true });
    writeFileSync(join(ctx, 'app', 'server.py'), SERVER);
    writeFileSync(
      join(ctx, 'ingot.yaml'),
      [
        'name: debpy',
        "version: '1'",
        `from: { layout: ${JSON.stringify(base.layout)}, tag: ${base.tag} }`,
        'layers:',
        '  - { source: app, destination: /srv/app }',
        'config:',
        '  entrypoint: [/usr/bin/python3, /srv/app/server.py]',
        "  user: '65532:65532'",
        '  env: { PATH: /usr/bin:/bin, PYTHONDONTWRITEBYTECODE: "1" }',
        '  ports: [8080]',
        'runtime:',
        '  health:',
        '    http: { port: 8080, path: /healthz }',
        '    interval: 1s',
        '    timeout: 1s',
        '    retries: 3',
        '    startGrace: 1s',
        '  tmpfs: [/tmp]',
        '',
      ].join('\n'),
    );
    // The server first: it makes the home's signing key, which builds then sign with.
    const up = cli(...upArgs(net));
    expect(up.code, up.stderr).toBe(0);
  }, 20 * 60_000);

  afterAll(() => {
    if (!root) return;
    cli(...upArgs(net));
    cli('down', '--stop-instances');
    removeNet(net);
    rmSync(root, { recursive: true, force: true });
  });

  it(
    'builds FROM it, saying which device nodes of /dev it left out',
    () => {
      const r = cli('build', '-o', 'json', ctx);
      expect(r.code, r.stderr).toBe(0);
      const built = JSON.parse(r.stdout) as {
        base: { dropped: { path: string; type: string }[] };
        measurement: { summary: { files: number } };
      };
      expect(built.base.dropped).toEqual(
        expect.arrayContaining([
          { path: '/dev/null', type: 'character-device' },
          { path: '/dev/console', type: 'character-device' },
        ]),
      );
      expect(built.base.dropped.every((d) => d.path.startsWith('/dev/'))).toBe(true);
      expect(built.measurement.summary.files).toBeGreaterThan(5000);
      // The human summary says it too, and a rebuild is the same image.
      const text = cli('build', ctx);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stderr).toMatch(
        /dropped +\d+ device node\(s\) of the base under \/dev, which the runtime provides: .*\/dev\/null/,
      );
      expect(text.stdout.trim()).toBe((JSON.parse(r.stdout) as { digest: string }).digest);
    },
    5 * 60_000,
  );

  it(
    'deploys it as a fleet that passes its health check and serves HTTP from Python',
    async () => {
      const fleet = join(root, 'fleet.yaml');
      writeFileSync(fleet, 'name: debpy\nartifact: debpy:1\nreplicas: 1\n');
      const d = cli('deploy', fleet, '--wait', '--timeout', '180');
      expect(d.code, d.stdout + d.stderr).toBe(0);
      const s = cli('status', '-o', 'json');
      expect(s.code, s.stderr).toBe(0);
      const f = (
        JSON.parse(s.stdout) as {
          name: string;
          instances: { state: string; address?: string }[];
        }[]
      ).find((x) => x.name === 'debpy')!;
      const inst = f.instances.find((i) => i.state === 'healthy');
      expect(inst?.address, JSON.stringify(f)).toBeDefined();
      const page = await httpGet(inst!.address!, '/');
      expect(page.status).toBe(200);
      expect(page.body).toMatch(/^hello from python 3\.\d+\.\d+ on debian 12\.\d+/);
      expect((await httpGet(inst!.address!, '/healthz')).body).toBe('ok\n');
    },
    5 * 60_000,
  );
});
