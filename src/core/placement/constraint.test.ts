import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  holds,
  isLabelKey,
  isLabelValue,
  parseConstraint,
  parseConstraints,
  type Constraint,
} from './constraint.js';

fc.configureGlobal({ numRuns: Number(process.env['FC_RUNS'] ?? 100) });

function ok(raw: string): Constraint {
  const r = parseConstraint(raw);
  if (!r.ok) throw new Error(r.message);
  return r.constraint;
}

function refused(raw: string): string {
  const r = parseConstraint(raw);
  if (r.ok) throw new Error(`expected ${JSON.stringify(raw)} to be refused`);
  return r.message;
}

const key = fc.stringMatching(/^[a-z0-9](?:[a-z0-9._/-]{0,61}[a-z0-9])?$/);
const value = fc.stringMatching(/^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/);
const op = fc.constantFrom('=', '!=');

describe('constraint grammar', () => {
  it('reads key=value and key!=value', () => {
    expect(ok('disk=ssd')).toEqual({ key: 'disk', op: '=', value: 'ssd', text: 'disk=ssd' });
    expect(ok('zone!=eu-1a')).toEqual({
      key: 'zone',
      op: '!=',
      value: 'eu-1a',
      text: 'zone!=eu-1a',
    });
    expect(ok('ingot.dev/tier=Gold_1').key).toBe('ingot.dev/tier');
  });

  it('refuses anything else, quoting the constraint and saying what to write', () => {
    const cases: [string, RegExp][] = [
      ['disk', /no operator/],
      ['', /no operator/],
      ['disk = ssd', /no spaces/],
      [' disk=ssd', /no spaces/],
      ['disk==ssd', /one operator/],
      ['disk=!ssd', /one operator/],
      ['disk!!=ssd', /one operator/],
      ['cpus>=4', /one operator/],
      ['cpus<4=x', /one operator/],
      ['disk=ssd=fast', /one operator/],
      ['=ssd', /no label key/],
      ['!=ssd', /no label key/],
      ['disk=', /no value/],
      ['disk!=', /no value/],
      ['Disk=ssd', /not a label key/],
      ['-disk=ssd', /not a label key/],
      ['disk/=ssd', /not a label key/],
      [`${'k'.repeat(64)}=v`, /not a label key/],
      ['disk=s s', /no spaces/],
      ['disk=-ssd', /not a label value/],
      ['disk=ss/d', /not a label value/],
      [`k=${'v'.repeat(64)}`, /not a label value/],
      ['k=é', /not a label value/],
      ['x'.repeat(300), /longer than 200/],
    ];
    for (const [raw, why] of cases) {
      const message = refused(raw);
      expect(message).toMatch(why);
      expect(message.startsWith(`constraint "${raw.slice(0, 200)}`)).toBe(true);
    }
  });

  it('reads every well-formed constraint back to its own text, and nothing else', () => {
    fc.assert(
      fc.property(key, op, value, (k, o, v) => {
        expect(ok(`${k}${o}${v}`)).toEqual({ key: k, op: o, value: v, text: `${k}${o}${v}` });
      }),
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (raw) => {
        const r = parseConstraint(raw);
        if (!r.ok) return r.message.includes(JSON.stringify(raw));
        return (
          r.constraint.text === raw &&
          isLabelKey(r.constraint.key) &&
          isLabelValue(r.constraint.value)
        );
      }),
    );
  });

  it('holds as = and != mean, an absent label being another value', () => {
    fc.assert(
      fc.property(
        key,
        value,
        fc.dictionary(fc.constantFrom('disk', 'zone', 'rack'), fc.constantFrom('ssd', 'a', 'b')),
        (k, v, labels) => {
          const has = Object.hasOwn(labels, k) && labels[k] === v;
          expect(holds(ok(`${k}=${v}`), labels)).toBe(has);
          expect(holds(ok(`${k}!=${v}`), labels)).toBe(!has);
        },
      ),
    );
    expect(holds(ok('disk!=ssd'), {})).toBe(true);
    expect(holds(ok('disk=ssd'), {})).toBe(false);
    // Inherited properties are not labels.
    expect(holds(ok('constructor=x'), {})).toBe(false);
  });
});

describe('a fleet’s constraints together', () => {
  it('reports every bad, repeated or contradictory constraint by its index', () => {
    const { constraints, problems } = parseConstraints([
      'disk=ssd',
      'disk = ssd',
      'disk=ssd',
      'disk=hdd',
      'zone!=a',
      'zone=a',
      'zone!=b',
    ]);
    expect(problems.map((p) => p.index)).toEqual([1, 2, 3, 5]);
    expect(problems[0]!.message).toMatch(/"disk = ssd": no spaces/);
    expect(problems[1]!.message).toBe('constraint "disk=ssd" is listed twice');
    expect(problems[2]!.message).toMatch(/"disk=ssd" and "disk=hdd" can never both hold/);
    expect(problems[3]!.message).toMatch(/"zone!=a" and "zone=a" can never both hold/);
    expect(constraints.map((c) => c.text)).toContain('zone!=b');
  });

  it('accepts constraints some host can meet at once', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(key, op, value), {
          selector: ([k]) => k,
          maxLength: 6,
        }),
        (list) => {
          const { problems } = parseConstraints(list.map(([k, o, v]) => `${k}${o}${v}`));
          expect(problems).toEqual([]);
        },
      ),
    );
    expect(parseConstraints(['zone!=a', 'zone!=b', 'zone=c']).problems).toEqual([]);
  });
});
