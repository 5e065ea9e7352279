/**
 * JSON Canonicalization Scheme (RFC 8785): object keys sorted by UTF-16 code units, no
 * insignificant whitespace, strings and numbers as ECMAScript's JSON.stringify writes them
 * (which is exactly what RFC 8785 §3.2.2 prescribes). Every document whose digest matters
 * (config, manifests, measurement, SBOM) is written through this, so that equal content
 * always has equal bytes.
 *
 * Written out by hand rather than by re-building sorted objects: JavaScript enumerates
 * integer-like keys ("1", "42") before all others whatever the insertion order.
 */
export function canonicalJson(value: unknown): string {
  // Fast path: the engine's own stringify over copies with sorted keys. It is exact unless
  // a key is integer-like, which the copy detects; then the careful writer below is used.
  const sorted = sortedCopy(value);
  if (sorted !== INTEGER_KEY) return JSON.stringify(sorted);
  const out: string[] = [];
  write(value, out);
  return out.join('');
}

const INTEGER_KEY = Symbol('integer-like key');
const ARRAY_INDEX = /^(?:0|[1-9]\d{0,9})$/;

function sortedCopy(value: unknown): unknown {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value))
      throw new TypeError(`canonical JSON cannot encode ${value}`);
    return value;
  }
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      const v = sortedCopy(value[i] === undefined ? null : value[i]);
      if (v === INTEGER_KEY) return INTEGER_KEY;
      out[i] = v;
    }
    return out;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  // No prototype: a "__proto__" key from parsed input stays a key instead of silently
  // becoming the copy's prototype (and vanishing from the output).
  const out = Object.create(null) as Record<string, unknown>;
  for (const key of keys) {
    if (ARRAY_INDEX.test(key)) return INTEGER_KEY;
    const v = record[key];
    if (v === undefined) continue;
    const copy = sortedCopy(v);
    if (copy === INTEGER_KEY) return INTEGER_KEY;
    out[key] = copy;
  }
  return out;
}

/**
 * Whether `canonicalJson(a) === canonicalJson(b)`, without writing either out: for the values
 * it encodes (null, booleans, finite numbers, strings, arrays and plain objects), with
 * undefined taken as JSON.stringify takes it (a key left out of an object, null in an array).
 * The leader compares each of 10,000 assignments with what the host holds on every pass;
 * serialising both sides was most of that comparison's time.
 */
export function sameCanonicalJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++)
      if (!sameCanonicalJson(a[i] === undefined ? null : a[i], b[i] === undefined ? null : b[i]))
        return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let keys = 0;
  for (const key of Object.keys(x)) {
    const v = x[key];
    if (v === undefined) continue;
    keys++;
    if (!Object.hasOwn(y, key) || !sameCanonicalJson(v, y[key])) return false;
  }
  for (const key of Object.keys(y)) if (y[key] !== undefined) keys--;
  return keys === 0;
}

export function canonicalJsonBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}

function write(value: unknown, out: string[]): void {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') {
    out.push(JSON.stringify(value));
    return;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`canonical JSON cannot encode ${value}`);
    out.push(JSON.stringify(value));
    return;
  }
  if (Array.isArray(value)) {
    out.push('[');
    value.forEach((item, i) => {
      if (i > 0) out.push(',');
      write(item === undefined ? null : item, out);
    });
    out.push(']');
    return;
  }
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort();
    out.push('{');
    keys.forEach((key, i) => {
      if (i > 0) out.push(',');
      out.push(JSON.stringify(key), ':');
      write(record[key], out);
    });
    out.push('}');
    return;
  }
  throw new TypeError(`canonical JSON cannot encode a ${typeof value}`);
}
