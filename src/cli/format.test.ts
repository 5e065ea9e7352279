import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { json, yamlIo } from './format.js';
import type { Io } from './io.js';

describe('yamlIo', () => {
  it('turns each JSON document written into YAML, and lets other text through', () => {
    const written: string[] = [];
    const io: Io = {
      out: (t) => written.push(t),
      err: () => undefined,
      errIsTty: false,
      columns: 80,
      env: {},
    };
    const y = yamlIo(io, stringify);
    y.out(json({ a: 1, b: ['x'] }));
    y.out(json([{ c: null }]));
    y.out('not json\n');
    expect(written).toEqual(['a: 1\nb:\n  - x\n', '---\n- c: null\n', 'not json\n']);
  });
});
