import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseBaseline } from '../src/core/baseline/parse.js';
import { parseFleet } from '../src/core/fleet/spec.js';

/*
 * The committed JSON Schemas (schemas/*.schema.json, made by `npm run schemas`) against a
 * real JSON Schema 2020-12 validator, and against the zod schemas they were made from: every
 * example passes both, and bad files are refused by both.
 */

const root = join(import.meta.dirname, '..');

function compile(name: string): ValidateFunction {
  // Strict: a keyword or format ajv does not know is an error here, not ignored, so that
  // what editors are given is standard JSON Schema. strictRequired is a style rule (a
  // `required` in a `not` names properties declared beside it), not a validity one.
  const ajv = new Ajv2020({
    strict: true,
    strictRequired: false,
    allowUnionTypes: true,
    allErrors: true,
  });
  return ajv.compile(JSON.parse(readFileSync(join(root, 'schemas', name), 'utf8')) as object);
}

const ingotSchema = compile('ingot.schema.json');
const fleetSchema = compile('fleet.schema.json');

/** Every example file of a kind, with the schema its first line names. */
function examples(kind: 'ingot' | 'fleet'): string[] {
  const out: string[] = [];
  for (const dir of readdirSync(join(root, 'examples'), { withFileTypes: true })) {
    if (!dir.isDirectory()) continue;
    for (const name of readdirSync(join(root, 'examples', dir.name)))
      if (kind === 'ingot' ? name === 'ingot.yaml' : /^fleet.*\.yaml$/.test(name))
        out.push(join('examples', dir.name, name));
  }
  return out.sort();
}

const errorsOf = (validate: ValidateFunction) =>
  (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);

describe('example files', () => {
  it('are found (the test would pass on none)', () => {
    expect(examples('ingot').length).toBeGreaterThanOrEqual(2);
    expect(examples('fleet').length).toBeGreaterThanOrEqual(7);
  });

  for (const kind of ['ingot', 'fleet'] as const)
    for (const file of examples(kind))
      it(`${file} names its schema for editors, and zod and the JSON Schema both accept it`, () => {
        const text = readFileSync(join(root, file), 'utf8');
        expect(text.split('\n')[0]).toBe(
          `# yaml-language-server: $schema=../../schemas/${kind}.schema.json`,
        );
        if (kind === 'ingot') expect(() => parseBaseline(text, file)).not.toThrow();
        else expect(() => parseFleet(text, file)).not.toThrow();
        const validate = kind === 'ingot' ? ingotSchema : fleetSchema;
        expect(validate(parseYaml(text)), errorsOf(validate).join('; ')).toBe(true);
      });
});

/** A document both must refuse; `why` says which rule refuses it. */
const badFleets: { why: string; doc: unknown }[] = [
  { why: 'no artifact', doc: { name: 'web', replicas: 1 } },
  { why: 'unknown field', doc: { name: 'web', artifact: 'a:1', replicas: 1, replica: 2 } },
  {
    why: 'bad duration',
    doc: { name: 'web', artifact: 'a:1', replicas: 1, progressDeadline: '2 minutes' },
  },
  { why: 'name with capitals', doc: { name: 'Web', artifact: 'a:1', replicas: 1 } },
  {
    why: 'over 100%',
    doc: { name: 'web', artifact: 'a:1', replicas: 1, strategy: { rolling: { maxSurge: '150%' } } },
  },
  {
    why: 'analysis without a service',
    doc: { name: 'web', artifact: 'a:1', replicas: 1, analysis: { maxErrorPercent: 5 } },
  },
  {
    why: 'two strategies',
    doc: { name: 'web', artifact: 'a:1', replicas: 1, strategy: { rolling: {}, blueGreen: {} } },
  },
];

const badBaselines: { why: string; doc: unknown }[] = [
  { why: 'no version', doc: { name: 'app' } },
  {
    why: 'relative destination',
    doc: { name: 'app', version: '1', layers: [{ source: 'a', destination: 'etc' }] },
  },
  {
    why: 'climbing destination',
    doc: { name: 'app', version: '1', layers: [{ source: 'a', destination: '/a/../etc' }] },
  },
  {
    why: 'mode as a number',
    doc: { name: 'app', version: '1', layers: [{ source: 'a', destination: '/a', mode: 644 }] },
  },
  {
    why: 'both http and tcp',
    doc: {
      name: 'app',
      version: '1',
      runtime: { health: { http: { port: 80 }, tcp: { port: 80 } } },
    },
  },
  {
    why: 'neither http nor tcp',
    doc: { name: 'app', version: '1', runtime: { health: { interval: '5s' } } },
  },
  {
    why: 'registry base without digest',
    doc: { name: 'app', version: '1', from: { image: 'r.example/a:1' } },
  },
  {
    why: 'layout and image',
    doc: { name: 'app', version: '1', from: { layout: 'b', tag: '1', image: 'r.example/a' } },
  },
  { why: 'bad port', doc: { name: 'app', version: '1', config: { ports: ['80/sctp'] } } },
];

describe('bad files', () => {
  for (const { why, doc } of badFleets)
    it(`fleet.yaml with ${why} is refused by zod and by the JSON Schema`, () => {
      expect(() => parseFleet(JSON.stringify(doc), 'fleet.yaml')).toThrow(
        expect.objectContaining({ code: 'E_FLEET_INVALID' }),
      );
      expect(fleetSchema(doc)).toBe(false);
    });
  for (const { why, doc } of badBaselines)
    it(`ingot.yaml with ${why} is refused by zod and by the JSON Schema`, () => {
      expect(() => parseBaseline(JSON.stringify(doc), 'ingot.yaml')).toThrow(
        expect.objectContaining({ code: 'E_SPEC_INVALID' }),
      );
      expect(ingotSchema(doc)).toBe(false);
    });

  it('a refinement no schema can say is left to zod, and the schema says so', () => {
    // Canary steps that shrink: zod refuses; JSON Schema cannot compare items, so it accepts.
    const doc = {
      name: 'web',
      artifact: 'a:1',
      replicas: 4,
      strategy: { canary: { steps: [{ instances: 2 }, { instances: 1 }] } },
    };
    expect(() => parseFleet(JSON.stringify(doc), 'fleet.yaml')).toThrow(
      expect.objectContaining({ code: 'E_FLEET_INVALID' }),
    );
    expect(fleetSchema(doc)).toBe(true);
    const schema = readFileSync(join(root, 'schemas', 'fleet.schema.json'), 'utf8');
    expect(schema).toContain('canary steps never shrink');
  });
});
