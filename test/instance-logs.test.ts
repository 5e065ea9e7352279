import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../src/bin/agent.js';
import type { Digest } from '../src/domain/digest.js';
import type { Agent } from '../src/services/agent/index.js';
import { buildWith } from './helpers/app.js';
import { ingot } from './helpers/cli.js';
import {
  hostResidue,
  removeNet,
  requireHost,
  sleep,
  testNet,
  type TestNet,
} from './helpers/agent.js';

const HELLO = fileURLToPath(new URL('../examples/hello', import.meta.url));
const CAP = 1024 * 1024;
const BURST_MB = 50;

describe("an instance's log never holds more than its cap", () => {
  let root: string;
  let home: string;
  let net: TestNet;
  let agent: Agent;
  let artifact: Digest;

  beforeAll(async () => {
    requireHost();
    root = mkdtempSync(join(tmpdir(), 'ingot-logs-'));
    home = join(root, 'home');
    net = testNet();
    // hello, but it first writes 50 MB to stdout as fast as it can, then serves.
    const app = join(root, 'app');
    cpSync(HELLO, app, { recursive: true, verbatimSymlinks: true });
    const yaml = readFileSync(join(app, 'ingot.yaml'), 'utf8').replace(
      /^ {2}entrypoint: .*$/m,
      `  entrypoint: [/bin/busybox, sh, -c, 'for i in $(/bin/busybox seq ${BURST_MB}); do /bin/busybox head -c 1048576 /dev/zero; done 2>/dev/null; exec /bin/busybox httpd -f -vv -p 8080 -h /srv/www']`,
    );
    writeFileSync(join(app, 'ingot.yaml'), yaml);
    const keys = join(root, 'keys');
    expect(ingot(['key', 'generate', '--out', keys, '--name', 'ci']).code).toBe(0);
    artifact = (await buildWith(home, app, { keys: [join(keys, 'ci.key')] })).digest;
    agent = await createAgent({
      home,
      keyFiles: [join(keys, 'ci.pub')],
      bridge: net.bridge,
      subnet: net.subnet,
      cgroupParent: `/ingot-test-${net.bridge}`,
      stopGraceMs: 1000,
      logMaxBytes: CAP,
    });
    agent.run(100);
  }, 60_000);

  afterAll(async () => {
    await agent?.apply([]).catch(() => undefined);
    await agent?.close();
    if (net) removeNet(net);
    rmSync(root, { recursive: true, force: true });
  });

  it(`holds a ${BURST_MB} MB burst to the cap at every moment, and the instance lives on`, async () => {
    const dir = join(home, 'instances', 'burst-a');
    const size = (p: string) => (existsSync(p) ? statSync(p).size : 0);
    const total = () =>
      size(join(dir, 'log')) + size(join(dir, 'log.1')) + size(join(dir, 'out', 'log'));
    let most = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        most = Math.max(most, total());
        await sleep(2);
      }
    })();
    await agent.apply([{ id: 'burst-a', fleet: 'burst', artifact }]);
    let state = '';
    for (let n = 0; n < 300 && state !== 'healthy'; n++) {
      state = (await agent.observe()).find((i) => i.id === 'burst-a')?.state ?? '';
      if (state === 'failed' || state === 'refused') break;
      await sleep(100);
    }
    sampling = false;
    await sampler;
    expect(state).toBe('healthy');
    expect(most).toBeGreaterThan(CAP / 4); // the burst did reach the log
    expect(most).toBeLessThanOrEqual(CAP);
    expect(total()).toBeLessThanOrEqual(CAP);
    expect(size(join(dir, 'log.1'))).toBeGreaterThan(0); // it was rotated
    // Stopped: the log's tmpfs goes with the instance.
    await agent.apply([]);
    expect(hostResidue(home, net, ['burst-a']).mounts).toEqual([]);
  }, 90_000);
});
