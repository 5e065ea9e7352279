import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { openApiDocument } from './openapi.js';
import { routes } from './routes.js';

type Operation = {
  operationId: string;
  security?: unknown[];
  parameters?: { name: string; in: string; required: boolean }[];
  requestBody?: { content: { 'application/json': { schema: object } } };
  responses: Record<string, { content?: { 'application/json': { schema: object } } }>;
};
const doc = openApiDocument('1.2.3') as {
  openapi: string;
  security: unknown[];
  components: { securitySchemes: Record<string, { type: string; scheme: string }> };
  paths: Record<string, Record<string, Operation>>;
};
const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
  Object.entries(methods).map(([method, op]) => ({ path, method, op })),
);

describe('openApiDocument', () => {
  it('is OpenAPI 3.1 with the admin token as a bearer token, required by default', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes['bearer']).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    });
    expect(doc.security).toEqual([{ bearer: [] }]);
  });

  it('has one operation per route, with its path parameters and its query', () => {
    const ids = operations.map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const [name, route] of Object.entries(routes)) {
      const found = operations.find((o) => o.op.operationId === name);
      expect(found, name).toBeDefined();
      expect(found!.method).toBe(route.method.toLowerCase());
      const params = [...route.path.matchAll(/:([a-z]+)/g)].map((m) => m[1]);
      expect(found!.op.parameters?.filter((p) => p.in === 'path').map((p) => p.name) ?? []).toEqual(
        params,
      );
      if ('query' in route) expect(found!.op.parameters?.some((p) => p.in === 'query')).toBe(true);
      expect('body' in route).toBe(found!.op.requestBody !== undefined);
    }
  });

  it('only the identify handshake and the document itself go without the token', () => {
    const open = operations.filter((o) => o.op.security !== undefined).map((o) => o.path);
    expect(open.sort()).toEqual(['/openapi.json', '/v1/identify']);
  });

  it('documents the deploy body as fleet.yaml, which the table leaves to its service', () => {
    const deploy = operations.find((o) => o.op.operationId === 'deploy')!;
    const schema = deploy.op.requestBody!.content['application/json'].schema;
    expect(schema).toMatchObject({ required: ['name', 'artifact', 'replicas'] });
  });

  it('every schema in it is JSON Schema 2020-12 a validator compiles', () => {
    const ajv = new Ajv2020({ strict: false });
    for (const { op } of operations) {
      const schemas = [
        op.requestBody?.content['application/json'].schema,
        op.responses['200']?.content?.['application/json'].schema,
      ];
      for (const schema of schemas) if (schema) expect(() => ajv.compile(schema)).not.toThrow();
    }
  });

  it('declares every time in an answer as an RFC 3339 date-time, never a number', () => {
    // Names that hold a time, wherever they sit in an answer (issue 20).
    const TIME = /^(time|at|since|lastSigned|lastHeartbeat|heldUntil|healthySince|\w+At)$/;
    const seen: string[] = [];
    const walk = (node: unknown, name: string, where: string): void => {
      if (Array.isArray(node)) node.forEach((n, i) => walk(n, name, `${where}[${i}]`));
      if (typeof node !== 'object' || node === null) return;
      const schema = node as Record<string, unknown>;
      if (TIME.test(name) && ('type' in schema || 'anyOf' in schema)) {
        const text = JSON.stringify(schema);
        expect(text, where).toContain('"format":"date-time"');
        expect(text, where).not.toContain('"number"');
        seen.push(name);
      }
      const properties = (schema['properties'] ?? {}) as Record<string, unknown>;
      for (const [key, value] of Object.entries(properties)) walk(value, key, `${where}.${key}`);
      for (const [key, value] of Object.entries(schema))
        if (key !== 'properties') walk(value, key === 'items' ? name : '', `${where}/${key}`);
    };
    for (const { op } of operations)
      walk(op.responses['200']?.content?.['application/json'].schema, '', op.operationId);
    for (const name of ['rolloutStartedAt', 'pausedAt', 'time', 'since', 'startedAt'])
      expect(seen).toContain(name);
  });

  it('is the same bytes for the same table and version', () => {
    expect(JSON.stringify(openApiDocument('1.2.3'))).toBe(JSON.stringify(doc));
  });
});
