import * as z from 'zod';
import { fleetSchema } from '../fleet/spec.js';
import { toJsonSchema, type JsonSchema } from '../json-schema/specs.js';
import { routes, type RouteName, type RouteSpec } from './routes.js';

/** Served without the token (adapters/http/api.ts): it says nothing the source does not. */
export const OPENAPI_PATH = '/openapi.json';

/**
 * Bodies the table leaves to their service (`z.unknown()`, parsed there with its own error
 * code) but whose shape a client must know: the deploy body is fleet.yaml as JSON.
 */
const documentedBodies: Partial<Record<RouteName, z.ZodType>> = { deploy: fleetSchema };

/** Every answer that is not a success: `{ error: { code, message, …details } }`. */
const errorSchema: JsonSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', pattern: '^E_[A-Z0-9_]+$', description: 'a stable error code' },
        message: { type: 'string', description: 'what was wrong, and what to do next' },
      },
      additionalProperties: true,
    },
  },
};

/** A schema to embed: without its own `$schema` (the document's dialect is 2020-12 already). */
function embedded(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _, ...rest } =
    io === 'input'
      ? toJsonSchema(schema)
      : (z.toJSONSchema(schema, {
          target: 'draft-2020-12',
          io: 'output',
          unrepresentable: 'any',
        }) as JsonSchema);
  return rest;
}

/** "/v1/fleets/:name/rollback" → "/v1/fleets/{name}/rollback", and the names. */
function openApiPath(path: string): { path: string; params: string[] } {
  const params: string[] = [];
  const converted = path.replace(/:([a-z]+)/gi, (_, name: string) => {
    params.push(name);
    return `{${name}}`;
  });
  return { path: converted, params };
}

/** A query schema's fields as OpenAPI parameters (each one value, as the server reads it). */
function queryParameters(query: z.ZodType): JsonSchema[] {
  const schema = embedded(query, 'input');
  const properties = (schema['properties'] ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema['required'] ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: 'query',
    required: required.has(name),
    schema: property,
  }));
}

function operation(name: RouteName, route: RouteSpec): JsonSchema {
  const { params } = openApiPath(route.path);
  const parameters = [
    ...params.map((p) => ({ name: p, in: 'path', required: true, schema: { type: 'string' } })),
    ...(route.query ? queryParameters(route.query) : []),
  ];
  const body = documentedBodies[name] ?? route.body;
  return {
    operationId: name,
    ...(parameters.length > 0 && { parameters }),
    ...(body !== undefined && {
      requestBody: {
        required: true,
        content: { 'application/json': { schema: embedded(body, 'input') } },
      },
    }),
    responses: {
      '200': {
        description: 'the answer',
        content: { 'application/json': { schema: embedded(route.response, 'output') } },
      },
      default: { $ref: '#/components/responses/Error' },
    },
  };
}

/**
 * The HTTP API as an OpenAPI 3.1 document, made from the route table (routes.ts): the
 * server serves it and `schemas/openapi.json` is it, so neither can drift from the code.
 * Pure: the same table and version give the same bytes.
 */
export function openApiDocument(version: string): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  const add = (path: string, method: string, op: JsonSchema) => {
    (paths[path] ??= {})[method.toLowerCase()] = op;
  };
  for (const name of Object.keys(routes) as RouteName[]) {
    const route: RouteSpec = routes[name];
    add(openApiPath(route.path).path, route.method, operation(name, route));
  }
  add('/v1/identify', 'GET', {
    operationId: 'identify',
    description:
      "Before a client sends its token, the server proves it knows it: HMAC-SHA256 of the client's nonce, keyed with the token.",
    security: [],
    parameters: [
      {
        name: 'nonce',
        in: 'query',
        required: true,
        schema: { type: 'string', pattern: '^[0-9a-f]{32,128}$' },
      },
    ],
    responses: {
      '200': {
        description: 'the proof',
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['proof'],
              properties: { proof: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
            },
          },
        },
      },
      default: { $ref: '#/components/responses/Error' },
    },
  });
  add(OPENAPI_PATH, 'GET', {
    operationId: 'openapi',
    description: 'This document.',
    security: [],
    responses: {
      '200': {
        description: 'OpenAPI 3.1',
        content: { 'application/json': { schema: { type: 'object' } } },
      },
    },
  });
  return {
    openapi: '3.1.0',
    info: {
      title: 'Ingot API',
      version,
      description:
        'The API of an Ingot server (`ingot up`, `ingot server`). Every call but /v1/identify and this document needs the admin token as a bearer token ($INGOT_HOME/token). Generated from src/core/api/routes.ts.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'the admin token' },
      },
      responses: {
        Error: {
          description: 'a refusal or a failure, with its error code',
          content: { 'application/json': { schema: errorSchema } },
        },
      },
    },
  };
}
