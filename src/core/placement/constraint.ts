/**
 * Placement constraints: which hosts a fleet's instances may run on, by the hosts' labels.
 *
 * The grammar is small and strict, so that a constraint means one thing and a typo is an
 * error rather than a constraint no host ever meets:
 *
 * ```
 * constraint = key ( "=" | "!=" ) value          no spaces anywhere
 * key        = 1–63 of [a-z0-9._/-], first and last [a-z0-9]
 * value      = 1–63 of [A-Za-z0-9._-], first and last [A-Za-z0-9]
 * ```
 *
 * `disk=ssd` holds on a host labelled `disk: ssd`; `disk!=ssd` holds on a host whose `disk`
 * label is anything else or absent (as Nomad's `!=` and Kubernetes' NotIn). Keys are
 * lowercase so that `Zone` and `zone` are not two labels; values keep their case. The same
 * key grammar names the label a fleet spreads over and the labels a host registers with.
 */

export type ConstraintOp = '=' | '!=';

export interface Constraint {
  readonly key: string;
  readonly op: ConstraintOp;
  readonly value: string;
  /** Its canonical text, `key=value`: how reasons and causes name it. */
  readonly text: string;
}

export type ConstraintResult =
  | { readonly ok: true; readonly constraint: Constraint }
  | { readonly ok: false; readonly message: string };

const KEY = /^[a-z0-9](?:[a-z0-9._/-]{0,61}[a-z0-9])?$/;
const VALUE = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const MAX_TEXT = 200;

/** A label key: lowercase letters, digits and . _ / -, at most 63, alphanumeric at both ends. */
export function isLabelKey(key: string): boolean {
  return KEY.test(key);
}

/** A label value: letters, digits and . _ -, at most 63, alphanumeric at both ends. */
export function isLabelValue(value: string): boolean {
  return VALUE.test(value);
}

export const LABEL_KEY_RULE =
  'a label key: lowercase letters, digits and . _ / -, at most 63, starting and ending with a letter or digit';
const LABEL_VALUE_RULE =
  'letters, digits and . _ -, at most 63, starting and ending with a letter or digit';

/** "disk=ssd" → a constraint, or a message that quotes the constraint and says what to write. */
export function parseConstraint(raw: string): ConstraintResult {
  const shown = JSON.stringify(raw.length > MAX_TEXT ? `${raw.slice(0, MAX_TEXT)}…` : raw);
  const fail = (why: string): ConstraintResult => ({
    ok: false,
    message: `constraint ${shown}: ${why}`,
  });
  if (raw.length > MAX_TEXT) return fail(`longer than ${MAX_TEXT} characters`);
  if (/\s/.test(raw)) return fail('no spaces: write key=value or key!=value, such as disk=ssd');
  const at = raw.indexOf('=');
  if (at < 0) return fail('no operator: write key=value or key!=value, such as disk=ssd');
  const negated = at > 0 && raw[at - 1] === '!';
  const key = raw.slice(0, negated ? at - 1 : at);
  const value = raw.slice(at + 1);
  if (value.includes('=') || /[!<>~]/.test(key) || value.startsWith('!'))
    return fail(
      'one operator, = or !=, between a key and a value (==, <, > and ~ are not operators)',
    );
  if (key === '') return fail('no label key before the operator');
  if (!isLabelKey(key)) return fail(`${JSON.stringify(key)} is not ${LABEL_KEY_RULE}`);
  if (value === '') return fail('no value after the operator');
  if (!isLabelValue(value))
    return fail(`value ${JSON.stringify(value)} is not a label value: ${LABEL_VALUE_RULE}`);
  const op: ConstraintOp = negated ? '!=' : '=';
  return { ok: true, constraint: { key, op, value, text: `${key}${op}${value}` } };
}

/** Whether a host with these labels meets the constraint. Pure. */
export function holds(c: Constraint, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, c.key) && labels[c.key] === c.value;
  return c.op === '=' ? has : !has;
}

/**
 * A fleet's constraints, each parsed, then checked together: a constraint listed twice, or
 * two that no host can meet at once (`disk=ssd` and `disk=hdd`; `disk=ssd` and `disk!=ssd`),
 * are refused rather than leave every instance unplaceable. Every problem is reported, each
 * with the index of the constraint it is about.
 */
export function parseConstraints(raws: readonly string[]): {
  readonly constraints: readonly Constraint[];
  readonly problems: readonly { readonly index: number; readonly message: string }[];
} {
  const constraints: Constraint[] = [];
  const problems: { index: number; message: string }[] = [];
  const seen = new Map<string, Constraint>();
  raws.forEach((raw, index) => {
    const r = parseConstraint(raw);
    if (!r.ok) return void problems.push({ index, message: r.message });
    const c = r.constraint;
    const clash = [...seen.values()].find((o) => o.key === c.key && contradicts(o, c));
    if (seen.has(c.text))
      problems.push({ index, message: `constraint "${c.text}" is listed twice` });
    else if (clash)
      problems.push({
        index,
        message: `constraints "${clash.text}" and "${c.text}" can never both hold: no host would take the fleet`,
      });
    seen.set(c.text, c);
    constraints.push(c);
  });
  return { constraints, problems };
}

function contradicts(a: Constraint, b: Constraint): boolean {
  if (a.op === '=' && b.op === '=') return a.value !== b.value;
  if (a.op !== b.op) return a.value === b.value;
  return false;
}
