import * as z from 'zod';
import { baselineSchema } from '../baseline/schema.js';
import { fleetSchema } from '../fleet/spec.js';

/** A JSON Schema document, as plain data. */
export type JsonSchema = { [key: string]: unknown };

/**
 * Formats JSON Schema 2020-12 names. zod also writes its own ("starts_with", …) beside the
 * pattern that says the same; validators refuse or ignore unknown formats, so they go.
 */
const STANDARD_FORMATS = new Set([
  'date-time',
  'date',
  'time',
  'duration',
  'email',
  'hostname',
  'ipv4',
  'ipv6',
  'uri',
  'uri-reference',
  'uuid',
  'regex',
]);

/**
 * A zod schema as JSON Schema 2020-12, as a file is written (the input side: defaults may be
 * left out, a duration is still "5m"). What zod checks in code is said by the hints attached
 * to each check (hints.ts): a pattern where one can say it, else a description.
 */
export function toJsonSchema(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io: 'input',
    // A check no schema can express is left to ingot (and named in a description).
    unrepresentable: 'any',
    override: ({ jsonSchema }) => {
      const format = jsonSchema.format;
      if (typeof format === 'string' && !STANDARD_FORMATS.has(format)) delete jsonSchema.format;
    },
  });
}

/** The schemas of ingot.yaml and fleet.yaml, for editors (`schemas/*.schema.json`). */
export function specJsonSchemas(): { ingot: JsonSchema; fleet: JsonSchema } {
  return {
    ingot: {
      ...toJsonSchema(baselineSchema),
      $id: 'https://ingot.dev/schemas/ingot.schema.json',
      title: 'ingot.yaml',
      description:
        'ingot.yaml: a baseline, from which `ingot build` makes a reproducible, measured, signed OCI image. Generated from the zod schema (src/core/baseline/schema.ts) by `npm run schemas`; ingot checks more than a schema can say, and says so in descriptions.',
    },
    fleet: {
      ...toJsonSchema(fleetSchema),
      $id: 'https://ingot.dev/schemas/fleet.schema.json',
      title: 'fleet.yaml',
    },
  };
}
