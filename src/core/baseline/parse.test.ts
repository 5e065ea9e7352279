import { describe, expect, it } from 'vitest';
import { parseBaseline, SpecError } from './parse.js';

function problems(text: string): SpecError {
  try {
    parseBaseline(text, 'ingot.yaml');
  } catch (err) {
    if (err instanceof SpecError) return err as SpecError;
    throw err;
  }
  throw new Error('expected the baseline to be refused');
}

describe('parseBaseline', () => {
  it('normalises a complete baseline', () => {
    const b = parseBaseline(
      `name: hello
version: "1.0"
from: { layout: ../base, tag: stable, digest: "sha256:${'a'.repeat(64)}" }
platform: linux/arm64/v8
layers:
  - source: www
    destination: /srv/www/
    mode: "0640"
    dirMode: "0750"
    uid: 1000
    exclude: ["**/*.md"]
config:
  entrypoint: [/bin/busybox, httpd]
  env: { PORT: 8080, DEBUG: false }
  ports: [8080, "53/udp", 8080]
  workdir: /srv//www/
runtime:
  health: { http: { port: 8080, path: /healthz }, interval: 5s, timeout: 500ms, startGrace: 1m }
  tmpfs: [/tmp, { path: /run, size: 1Mi }]
  volumes: [{ name: data, path: /var/lib/hello }]
  capabilities: [CAP_NET_BIND_SERVICE, CAP_NET_BIND_SERVICE]
`,
      'ingot.yaml',
    );
    expect(b.from).toEqual({
      kind: 'layout',
      layout: '../base',
      tag: 'stable',
      digest: `sha256:${'a'.repeat(64)}`,
    });
    expect(b.layers[0]).toMatchObject({
      destination: '/srv/www',
      intoDirectory: true,
      mode: 0o640,
      dirMode: 0o750,
      uid: 1000,
      gid: 0,
    });
    expect(b.config.env).toEqual([
      ['PORT', '8080'],
      ['DEBUG', 'false'],
    ]);
    expect(b.config.ports).toEqual(['8080/tcp', '53/udp']);
    expect(b.config.workdir).toBe('/srv/www');
    expect(b.runtime.health).toEqual({
      probe: { kind: 'http', port: 8080, path: '/healthz' },
      intervalMs: 5000,
      timeoutMs: 500,
      retries: 3,
      startGraceMs: 60000,
    });
    expect(b.runtime.tmpfs).toEqual([{ path: '/tmp' }, { path: '/run', sizeBytes: 1048576 }]);
    expect(b.runtime.capabilities).toEqual(['CAP_NET_BIND_SERVICE']);
  });

  it('reports every problem at once, each with line, column and field path', () => {
    const err = problems(`name: Hello
version: 1.0
layers:
  - source: www
    destination: ../etc
    mode: 0644
    sourc: x
runtime:
  health: { http: { port: 8080 }, tcp: { port: 1 } }
  volumes:
    - { name: data, path: /data }
    - { name: data, path: /data }
`);
    expect(err.code).toBe('E_SPEC_INVALID');
    const byPath = Object.fromEntries(err.issues.map((i) => [i.path, i]));
    expect(Object.keys(byPath).sort()).toEqual(
      [
        'layers[0].destination',
        'layers[0].mode',
        'layers[0].sourc',
        'name',
        'runtime.health',
        'runtime.volumes[1].name',
        'runtime.volumes[1].path',
        'version',
      ].sort(),
    );
    expect(byPath['version']).toMatchObject({ line: 2, column: 10 });
    expect(byPath['version']?.message).toMatch(/quote/);
    expect(byPath['layers[0].destination']).toMatchObject({ line: 5 });
    expect(byPath['layers[0].sourc']).toMatchObject({ line: 7, column: 5 });
    expect(err.message).toContain('ingot.yaml:5:');
  });

  it('names missing required fields', () => {
    const err = problems('layers: []\n');
    expect(err.issues.map((i) => i.path).sort()).toEqual(['name', 'version']);
    expect(err.issues[0]?.message).toMatch(/required/);
  });

  it('refuses YAML syntax errors, duplicate keys and alias bombs', () => {
    expect(problems('name: [a\n').code).toBe('E_SPEC_SYNTAX');
    expect(problems('name: a\nname: b\nversion: "1"\n').code).toBe('E_SPEC_SYNTAX');
    const bomb = ['a: &a [x,x,x,x,x,x,x,x,x,x]'];
    for (let i = 0; i < 8; i++)
      bomb.push(
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(97 + i)}`)
          .join(',')}]`,
      );
    expect(problems(bomb.join('\n') + '\n').code).toBe('E_SPEC_SYNTAX');
  });

  it('reads runtime.seccomp.deny sorted and once each, and refuses what is not a name', () => {
    const head = 'name: a\nversion: "1"\nruntime:\n';
    const deny = (list: string) => parseBaseline(`${head}  seccomp: { deny: ${list} }\n`, 'y');
    expect(deny('[uname, getcwd, uname, no_such_call]').runtime.seccomp).toEqual({
      deny: ['getcwd', 'no_such_call', 'uname'],
    });
    // Absent stays absent: the label of an image that never asked is byte for byte as before.
    expect(parseBaseline(head + '  tmpfs: [/tmp]\n', 'y').runtime).not.toHaveProperty('seccomp');
    const bad = problems(`${head}  seccomp: { deny: [Mount, "a b"], allow: [mount] }\n`);
    expect(bad.issues.map((i) => i.path).sort()).toEqual([
      'runtime.seccomp.allow',
      'runtime.seccomp.deny[0]',
      'runtime.seccomp.deny[1]',
    ]);
    expect(bad.issues.find((i) => i.path === 'runtime.seccomp.deny[0]')?.message).toMatch(
      /system call name/,
    );
    const many = Array.from({ length: 513 }, (_, i) => `s${i}`).join(', ');
    expect(problems(`${head}  seccomp: { deny: [${many}] }\n`).issues[0]?.path).toBe(
      'runtime.seccomp.deny',
    );
  });

  it('refuses a file too large to be a baseline', () => {
    expect(problems(`name: a\n#${'x'.repeat(1024 * 1024)}\n`).code).toBe('E_SPEC_TOO_LARGE');
  });

  it('requires a tag or digest for a layout base, and checks digests', () => {
    expect(problems('name: a\nversion: "1"\nfrom: { layout: x }\n').issues[0]?.path).toBe('from');
    expect(
      problems('name: a\nversion: "1"\nfrom: { layout: x, digest: "sha256:abc" }\n').issues[0]
        ?.path,
    ).toBe('from.digest');
    expect(problems('name: a\nversion: "1"\nfrom: ubuntu\n').issues[0]?.message).toMatch(/scratch/);
  });
});

describe('from: a registry image', () => {
  const pin = `sha256:${'b'.repeat(64)}`;
  const head = 'name: a\nversion: "1"\n';
  const issuesOf = (from: string) =>
    Object.fromEntries(problems(`${head}from: ${from}\n`).issues.map((i) => [i.path, i.message]));

  it('reads HOST[:PORT]/REPO[:TAG] pinned by digest', () => {
    expect(
      parseBaseline(`${head}from: { image: 127.0.0.1:5000/team/base:1, digest: "${pin}" }\n`, 'y')
        .from,
    ).toEqual({
      kind: 'registry',
      image: { host: '127.0.0.1', port: 5000, repository: 'team/base', tag: '1', digest: null },
      digest: pin,
    });
    expect(
      parseBaseline(`${head}from: { image: registry.example/debian, digest: "${pin}" }\n`, 'y')
        .from,
    ).toMatchObject({ image: { host: 'registry.example', port: null, tag: null } });
  });

  it('requires the digest: a tag alone is whatever was pushed last', () => {
    const issues = issuesOf('{ image: 127.0.0.1:5000/base:1 }');
    expect(Object.keys(issues)).toEqual(['from.digest']);
    expect(issues['from.digest']).toMatch(/required with image:.*pinned by digest/);
  });

  it('refuses a bad reference at from.image, with every other problem at once', () => {
    const cases: [string, RegExp][] = [
      ['debian', /not HOST\[:PORT\]\/REPO/],
      ['127.0.0.1:5000/Base:1', /repository "Base" is not valid/],
      ['127.0.0.1:99999/base', /port 99999/],
      ['127.0.0.1:5000/base:-x', /tag "-x" is not valid/],
      [`127.0.0.1:5000/base@${pin}`, /give the digest as digest:/],
    ];
    for (const [image, message] of cases) {
      const issues = issuesOf(`{ image: "${image}", digest: "${pin}" }`);
      expect(Object.keys(issues), image).toEqual(['from.image']);
      expect(issues['from.image'], image).toMatch(message);
    }
    // A bad reference does not hide the missing pin, nor the misplaced tag.
    expect(Object.keys(issuesOf('{ image: debian, tag: stable }')).sort()).toEqual([
      'from.digest',
      'from.image',
      'from.tag',
    ]);
    const badPin = issuesOf('{ image: 127.0.0.1/base, digest: "sha256:abc" }');
    expect(Object.keys(badPin)).toEqual(['from.digest']);
    expect(badPin['from.digest']).toMatch(/sha256:<64/);
  });

  it('takes layout or image, not both, not neither', () => {
    expect(Object.keys(issuesOf(`{ layout: ../base, image: h/base, digest: "${pin}" }`))).toEqual([
      'from',
    ]);
    expect(issuesOf(`{ digest: "${pin}" }`)['from']).toMatch(/layout: DIR .* or image:/);
    const unknown = issuesOf(`{ image: h/base, digest: "${pin}", registry: x }`);
    expect(Object.keys(unknown)).toEqual(['from.registry']);
    expect(unknown['from.registry']).toMatch(/unknown field/);
  });
});
