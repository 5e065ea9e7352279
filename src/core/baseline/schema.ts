import * as z from 'zod';
import { parseImagePath, pathProblemText } from '../paths.js';
import { MAX_SECCOMP_DENY, SYSCALL_NAME } from '../runtime/seccomp-default.js';
import { fromSchema } from './from.js';
import { parseOctalMode, parseSize } from './units.js';
import { DAY_MS } from '../duration.js';
import { durationField } from '../duration-schema.js';
import {
  durationHint,
  imagePathHint,
  modeHint,
  sizeHint,
  sourcePathHint,
} from '../json-schema/hints.js';

/**
 * The schema of ingot.yaml. Every field is checked on its own so that one run reports every
 * problem; the messages say what was expected, in the words a user would look for.
 */

const imagePath = z
  .string()
  .transform((raw, ctx) => {
    const parsed = parseImagePath(raw);
    if (!parsed.ok) {
      ctx.addIssue({
        code: 'custom',
        message: `path ${JSON.stringify(raw)} ${pathProblemText[parsed.problem]}`,
      });
      return z.NEVER;
    }
    return parsed.path;
  })
  .meta(imagePathHint);

const mode = z
  .string({ error: 'expected a quoted octal mode such as "0644"' })
  .transform((raw, ctx) => {
    const value = parseOctalMode(raw);
    if (value === null) {
      ctx.addIssue({
        code: 'custom',
        message: `expected an octal mode from "0000" to "7777", got ${JSON.stringify(raw)}`,
      });
      return z.NEVER;
    }
    return value;
  })
  .meta(modeHint);

const duration = durationField({ maxMs: DAY_MS }).meta(durationHint('a day'));

const id = z
  .number()
  .int()
  .min(0)
  .max(2 ** 32 - 2);
const port = z.number({ error: 'expected a port number from 1 to 65535' }).int().min(1).max(65535);

const versionText = z
  .string({ error: 'expected a string (quote numbers: version: "1.0")' })
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/,
    'expected letters, digits and . _ + - (at most 128)',
  );

const nameText = z
  .string()
  .regex(
    /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/,
    'expected lowercase letters and digits, separated by . _ or -',
  )
  .max(128);

const relativeSource = z
  .string()
  .min(1)
  .max(4096)
  .refine((s) => !s.includes('\0'), 'must not contain NUL bytes')
  .meta(sourcePathHint);

const layerSchema = z.strictObject({
  source: relativeSource,
  destination: z
    .string()
    .transform((raw, ctx) => {
      const parsed = parseImagePath(raw);
      if (!parsed.ok) {
        ctx.addIssue({
          code: 'custom',
          message: `path ${JSON.stringify(raw)} ${pathProblemText[parsed.problem]}`,
        });
        return z.NEVER;
      }
      return { path: parsed.path, intoDirectory: raw.endsWith('/') && parsed.path !== '/' };
    })
    .meta({
      ...imagePathHint,
      description: `${imagePathHint['description'] as string} Ending in "/": into that folder.`,
    }),
  mode: mode.optional(),
  dirMode: mode.optional(),
  uid: id.default(0),
  gid: id.default(0),
  exclude: z.array(z.string().min(1).max(1024)).max(1024).default([]),
  followSymlinks: z.boolean().default(false),
  setuid: z.boolean().default(false),
});

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;

const configSchema = z.strictObject({
  entrypoint: z.array(z.string().max(65536)).min(1).max(1024).optional(),
  cmd: z.array(z.string().max(65536)).max(1024).optional(),
  env: z
    .record(
      z.string().regex(envName, 'expected an environment variable name'),
      z.union([z.string(), z.number(), z.boolean()]).transform(String),
    )
    .default({}),
  user: z
    .string()
    .regex(
      /^[A-Za-z0-9_][A-Za-z0-9_.-]*(?::[A-Za-z0-9_][A-Za-z0-9_.-]*)?$/,
      'expected "user", "uid" or "uid:gid"',
    )
    .max(256)
    .optional(),
  workdir: imagePath.optional(),
  ports: z
    .array(
      z
        .union([port, z.string()])
        .transform((raw, ctx) => {
          const m = /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(String(raw));
          const n = m ? Number(m[1]) : 0;
          if (!m || n < 1 || n > 65535) {
            ctx.addIssue({
              code: 'custom',
              message: `expected a port such as 8080 or "53/udp", got ${JSON.stringify(raw)}`,
            });
            return z.NEVER;
          }
          return `${n}/${m[2] ?? 'tcp'}`;
        })
        .meta({
          description: 'A port such as 8080 or "53/udp" (from 1 to 65535).',
          anyOf: [
            { type: 'integer', minimum: 1, maximum: 65535 },
            { type: 'string', pattern: '^\\d{1,5}(/(tcp|udp))?$' },
          ],
        }),
    )
    .max(1024)
    .default([]),
  labels: z.record(z.string().min(1).max(1024), z.string().max(65536)).default({}),
});

const healthSchema = z
  .strictObject({
    http: z
      .strictObject({
        port,
        path: z
          .string()
          .startsWith('/', 'expected a path starting with "/"')
          .max(2048)
          .default('/'),
      })
      .optional(),
    tcp: z.strictObject({ port }).optional(),
    interval: duration.default(10_000),
    timeout: duration.default(2_000),
    retries: z.number().int().min(1).max(100).default(3),
    startGrace: duration.default(0),
  })
  .refine(
    (h) => (h.http === undefined) !== (h.tcp === undefined),
    'give exactly one of http or tcp',
  )
  .refine((h) => h.timeout <= h.interval, 'timeout must not be longer than interval')
  .meta({
    description:
      'A health check: exactly one of http or tcp. The timeout must not be longer than the interval (checked by ingot).',
    oneOf: [{ required: ['http'] }, { required: ['tcp'] }],
  });

const tmpfsSchema = z.union([
  imagePath.transform((path) => ({ path })),
  z.strictObject({
    path: imagePath,
    size: z
      .union([z.string(), z.number()])
      .transform((raw, ctx) => {
        const bytes = parseSize(raw);
        if (bytes === null) {
          ctx.addIssue({
            code: 'custom',
            message: `expected a size such as "64Mi" or 1048576, got ${JSON.stringify(raw)}`,
          });
          return z.NEVER;
        }
        return bytes;
      })
      .meta(sizeHint)
      .optional(),
  }),
]);

const capability = z
  .string()
  .regex(/^CAP_[A-Z_]{2,32}$/, 'expected a capability name such as CAP_NET_BIND_SERVICE');

/** Two mounts on one path hide each other; each list is checked on its own so all show at once. */
function uniquePaths(items: readonly { path: string }[], ctx: z.RefinementCtx, what: string): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const first = seen.get(item.path);
    if (first !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: [i, 'path'],
        message: `${item.path} is already used by ${what}[${first}]`,
      });
    else seen.set(item.path, i);
  });
}

const runtimeSchema = z
  .strictObject({
    health: healthSchema.optional(),
    /** Run the host's static init (tini) as PID 1 before the entrypoint (core/runtime/init.ts). */
    init: z.boolean().default(false),
    tmpfs: z
      .array(tmpfsSchema)
      .max(64)
      .meta({
        description:
          'Writable tmpfs mounts: a path, or a path and a size. Each path once, and never the root (checked by ingot).',
      })
      .default([])
      .superRefine((list, ctx) => {
        uniquePaths(list, ctx, 'tmpfs');
        list.forEach((t, i) => {
          if (t.path === '/')
            ctx.addIssue({
              code: 'custom',
              path: [i, 'path'],
              message: 'the root cannot be writable: it is read-only by design',
            });
        });
      }),
    volumes: z
      .array(
        z.strictObject({
          name: z
            .string()
            .regex(
              /^[a-z0-9][a-z0-9_.-]{0,62}$/,
              'expected lowercase letters, digits, _ . - (at most 63)',
            ),
          path: imagePath,
        }),
      )
      .max(64)
      .meta({
        description:
          'Named volume mount points. Each name and path once, never the root nor a tmpfs path (checked by ingot).',
      })
      .default([])
      .superRefine((list, ctx) => {
        uniquePaths(list, ctx, 'volumes');
        const names = new Set<string>();
        list.forEach((v, i) => {
          if (names.has(v.name))
            ctx.addIssue({
              code: 'custom',
              path: [i, 'name'],
              message: `volume name ${JSON.stringify(v.name)} is used twice`,
            });
          names.add(v.name);
          if (v.path === '/')
            ctx.addIssue({
              code: 'custom',
              path: [i, 'path'],
              message: 'a volume cannot be mounted on the root',
            });
        });
      }),
    capabilities: z.array(capability).max(64).default([]),
    // Only ever narrows Ingot's default allowlist: there is no `allow`.
    seccomp: z
      .strictObject({
        deny: z
          .array(z.string().regex(SYSCALL_NAME, 'expected a system call name such as "ptrace"'))
          .max(MAX_SECCOMP_DENY),
      })
      .optional(),
  })
  .superRefine((r, ctx) => {
    // The init's folder belongs to the host: nothing of the contract may cover or fill it.
    for (const kind of ['tmpfs', 'volumes'] as const)
      r[kind].forEach((m, i) => {
        if (m.path === '/.ingot' || m.path.startsWith('/.ingot/'))
          ctx.addIssue({
            code: 'custom',
            path: [kind, i, 'path'],
            message: "/.ingot is the host's (the init is mounted there)",
          });
      });
    const tmpfs = new Set(r.tmpfs.map((t) => t.path));
    r.volumes.forEach((v, i) => {
      if (tmpfs.has(v.path))
        ctx.addIssue({
          code: 'custom',
          path: ['volumes', i, 'path'],
          message: `${v.path} is also a tmpfs mount`,
        });
    });
  })
  .meta({
    description:
      "The runtime contract baked into the artifact. No tmpfs or volume on /.ingot, which is the host's (checked by ingot).",
  });

export const baselineSchema = z.strictObject({
  name: nameText,
  version: versionText,
  from: fromSchema.default('scratch'),
  platform: z
    .string()
    .regex(
      /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/,
      'expected "os/architecture[/variant]", such as "linux/amd64"',
    )
    .optional(),
  layers: z.array(layerSchema).max(256).default([]),
  config: configSchema.default({ env: {}, ports: [], labels: {} }),
  runtime: runtimeSchema.default({ init: false, tmpfs: [], volumes: [], capabilities: [] }),
});

export type BaselineInput = z.input<typeof baselineSchema>;
export type BaselineParsed = z.output<typeof baselineSchema>;
