import * as z from 'zod';
import { isUnlistenable, parseHostPort } from '../traffic/address.js';
import { digestOf, type Digest } from '../../domain/digest.js';
import { MAX_STOP_GRACE_MS } from '../../domain/fleet.js';
import { isInstanceId } from '../../domain/instance.js';
import { parseSize } from '../baseline/units.js';
import { DAY_MS } from '../duration.js';
import { durationField } from '../duration-schema.js';
import { canonicalJson } from '../canonical-json.js';
import { isLabelKey, LABEL_KEY_RULE, parseConstraints } from '../placement/constraint.js';
import { parseYamlSpec, type SpecCodes } from '../yaml-spec.js';
import { durationHint, listenHint, sizeHint } from '../json-schema/hints.js';

export type FleetSpecErrorCode =
  'E_FLEET_SYNTAX' | 'E_FLEET_INVALID' | 'E_FLEET_TOO_LARGE' | 'E_FLEET_ENCODING';

/** "30s", "10m", "1m30s", "7d", or a number of seconds; up to a year. */
const duration = durationField({ maxMs: 366 * DAY_MS }).meta(durationHint('366 days'));

/** A count or a percentage of replicas: 1, "25%". */
const countOrPercent = z.union([
  z.number().int().min(0).max(10_000),
  z
    .string()
    .regex(/^\d{1,3}%$/, 'a count or a percentage such as "25%"')
    .refine((p) => Number(p.slice(0, -1)) <= 100, 'at most 100%')
    .meta({ pattern: '^(\\d{1,2}|0\\d\\d|100)%$' }),
]);

const size = z
  .union([z.string(), z.number()])
  .transform((raw, ctx) => {
    const bytes = parseSize(raw);
    if (bytes === null) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a size such as "64Mi", got ${JSON.stringify(raw)}`,
      });
      return z.NEVER;
    }
    return bytes;
  })
  .meta(sizeHint);

const name = z
  .string()
  .refine(
    (n) => isInstanceId(n) && n.length <= 30,
    'lowercase letters, digits and "-", at most 30 characters',
  )
  .meta({
    description: 'lowercase letters, digits and "-", at most 30 characters',
    pattern: '^[a-z0-9](?:[a-z0-9-]{0,28}[a-z0-9])?$',
  });

const strategy = z.union([
  z.strictObject({
    rolling: z
      .strictObject({
        maxSurge: countOrPercent.default('25%'),
        maxUnavailable: countOrPercent.default(0),
      })
      .default({ maxSurge: '25%', maxUnavailable: 0 }),
  }),
  z.strictObject({
    canary: z.strictObject({
      steps: z
        .array(
          z.union([
            z.strictObject({ instances: z.number().int().min(1), pause: duration.optional() }),
            z.strictObject({
              percent: z.number().int().min(1).max(100),
              pause: duration.optional(),
            }),
          ]),
        )
        .min(1)
        .max(32)
        .meta({
          description:
            'Canary steps, each a count or a percentage of the replicas with an optional pause. They must not shrink (checked by ingot).',
        }),
    }),
  }),
  z.strictObject({
    blueGreen: z.strictObject({
      previewReplicas: z.number().int().min(0).max(10_000).optional(),
      autoPromote: z.boolean().default(false),
    }),
  }),
]);

export { MAX_STOP_GRACE_MS };

/** "5s", "1m", 0: how long an instance has between SIGTERM and SIGKILL, up to 10 minutes. */
const stopGrace = durationField({ maxMs: MAX_STOP_GRACE_MS });

/**
 * Where the fleet's instances may run (`constraints` on the hosts' labels, as
 * core/placement/constraint.ts reads them) and the label they spread over (`spread: zone`).
 * Every bad constraint is reported, at its index.
 */
const placement = z.strictObject({
  spread: z
    .string()
    .refine(isLabelKey, `expected ${LABEL_KEY_RULE}`)
    .meta({ description: LABEL_KEY_RULE, pattern: '^[a-z0-9](?:[a-z0-9._/-]{0,61}[a-z0-9])?$' })
    .optional(),
  constraints: z
    .array(z.string())
    .max(32)
    .superRefine((list, ctx) => {
      for (const { index, message } of parseConstraints(list).problems)
        ctx.addIssue({ code: 'custom', message, path: [index] });
    })
    .meta({
      description:
        'Constraints on host labels, such as "zone=a" or "disk!=hdd" (their grammar is checked by ingot).',
    })
    .default([]),
});

/** "ip:port" an edge may listen on somewhere: loopback or a unicast address, never 0.0.0.0. */
const listen = z
  .string()
  .max(21)
  .superRefine((text, ctx) => {
    const parsed = parseHostPort(text);
    if (parsed === null)
      ctx.addIssue({
        code: 'custom',
        message: 'an IPv4 address and a port, such as "127.0.0.1:18080"',
      });
    else if (isUnlistenable(parsed.ip))
      ctx.addIssue({
        code: 'custom',
        message: `${parsed.ip} is not one address: name a loopback or local address`,
      });
  })
  .meta(listenHint);

const service = z
  .strictObject({
    port: z.number().int().min(1).max(65_535),
    listen,
    previewListen: listen.optional(),
  })
  .refine((s) => s.previewListen === undefined || s.previewListen !== s.listen, {
    message: 'the preview needs an address and port of its own, not the listen',
    path: ['previewListen'],
  })
  .meta({
    description:
      'A stable endpoint through the edge: the instance port and where clients connect. previewListen differs from listen (checked by ingot).',
  });

const fleetFields = z.strictObject({
  name,
  /** A tag (resolved to a digest at deploy time and recorded) or a digest. */
  artifact: z.string().min(1).max(512),
  replicas: z.number().int().min(0).max(10_000),
  env: z
    .record(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'),
      z.string().max(65_536),
    )
    .default({}),
  /**
   * The artifact's named volumes, backed by a named host volume instead of the fleet's own
   * ($INGOT_HOME/volumes/<fleet>/<name>): fleets that name the same source share it.
   */
  volumes: z
    .record(
      z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'a volume name of the artifact'),
      z.strictObject({
        source: z
          .string()
          .regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'lowercase letters, digits, _ . - (at most 63)'),
      }),
    )
    .default({}),
  resources: z
    .strictObject({
      memory: size.optional(),
      cpus: z.number().positive().max(1024).optional(),
      pids: z.number().int().min(1).max(4_194_304).optional(),
    })
    .default({}),
  strategy: strategy.default({ rolling: { maxSurge: '25%', maxUnavailable: 0 } }),
  minReadySeconds: z.number().int().min(0).max(3600).default(0),
  progressDeadline: duration.default(600_000),
  autoRollback: z.boolean().default(true),
  maxInstanceAge: duration.optional(),
  /**
   * Between SIGTERM and SIGKILL when an instance stops (ms); absent: the host's (10 s).
   * Pacing, not an instance setting: it is not part of the release (releaseDigest).
   */
  stopGrace: stopGrace.optional(),
  /**
   * Which hosts its instances may run on and how they spread. Where, not what: it is not part
   * of the release (releaseDigest); an instance whose host no longer meets it is moved.
   */
  placement: placement.optional(),
  /**
   * A stable endpoint through the edge (issue 19): the instance port and where clients
   * connect. Routing, not an instance setting: not part of the release. Whether `listen` is
   * an address of the machine is the server's to check at deploy (it knows its interfaces).
   */
  service: service.optional(),
  /**
   * With a service: the new release's answers judged during its rollout, as Argo Rollouts and
   * Flagger do. Over `maxErrorPercent` of 5xx answers and failed connections, once it has had
   * `minRequests`, it is rolled back. Judging, not an instance setting: not part of the release.
   */
  analysis: z
    .strictObject({
      maxErrorPercent: z.number().min(0).max(100),
      minRequests: z.number().int().min(1).max(1_000_000_000).default(100),
    })
    .optional(),
  meltdown: z
    .strictObject({
      maxFailedPercent: z.number().int().min(1).max(100),
      window: duration,
    })
    .optional(),
});

export const fleetSchema = fleetFields
  .refine((f) => f.analysis === undefined || f.service !== undefined, {
    message: 'analysis judges the answers of a service: give the fleet a service',
    path: ['analysis'],
  })
  .refine(
    (f) =>
      f.maxInstanceAge === undefined ||
      f.maxInstanceAge >= 2 * (f.minReadySeconds * 1000 + f.progressDeadline),
    {
      message:
        'maxInstanceAge must be at least twice minReadySeconds + progressDeadline, or instances are replaced about as fast as they can serve',
      path: ['maxInstanceAge'],
    },
  )
  .refine(
    (f) =>
      !('canary' in f.strategy) ||
      f.strategy.canary.steps.every(
        (s, n, all) =>
          n === 0 || canaryStepSize(s, f.replicas) >= canaryStepSize(all[n - 1]!, f.replicas),
      ),
    {
      message:
        'canary steps must not shrink: each runs at least as many instances as the one before',
      path: ['strategy', 'canary', 'steps'],
    },
  )
  // What a schema can say of the checks above; the rest is said in words.
  .meta({
    description:
      'fleet.yaml: the desired state of one fleet. Checked by ingot beyond this schema: maxInstanceAge is at least twice minReadySeconds + progressDeadline, and canary steps never shrink.',
    dependentRequired: { analysis: ['service'] },
  });

/** Instances of the new release at a canary step: a count, or a percentage rounded up. */
export function canaryStepSize(
  s: { instances: number } | { percent: number },
  replicas: number,
): number {
  return 'instances' in s ? s.instances : Math.ceil((s.percent * replicas) / 100);
}

export type FleetSpec = z.output<typeof fleetSchema>;

const codes: SpecCodes<FleetSpecErrorCode> = {
  syntax: 'E_FLEET_SYNTAX',
  invalid: 'E_FLEET_INVALID',
  tooLarge: 'E_FLEET_TOO_LARGE',
  encoding: 'E_FLEET_ENCODING',
};

/** fleet.yaml → a validated spec, every problem at once with its path and line. */
export function parseFleet(source: string | Uint8Array, file: string): FleetSpec {
  return parseYamlSpec(fleetSchema, source, file, codes);
}

/**
 * maxSurge and maxUnavailable as counts, as Kubernetes resolves them: surge rounds up,
 * unavailability rounds down, and if both come to 0 the surge is 1 (a fleet that may
 * neither grow nor shrink could never be replaced).
 */
export function rollingBudgets(
  replicas: number,
  rolling: { maxSurge: number | string; maxUnavailable: number | string },
): { maxSurge: number; maxUnavailable: number } {
  const resolve = (v: number | string, round: (x: number) => number) =>
    typeof v === 'number' ? v : round((replicas * Number(v.slice(0, -1))) / 100);
  const maxSurge = resolve(rolling.maxSurge, Math.ceil);
  const maxUnavailable = Math.min(replicas, resolve(rolling.maxUnavailable, Math.floor));
  return maxSurge + maxUnavailable === 0
    ? { maxSurge: 1, maxUnavailable: 0 }
    : { maxSurge, maxUnavailable };
}

/**
 * A release is what every instance of it runs: the artifact and the instance-level
 * settings (environment, resources). Its digest names its instances; any change to these
 * makes a new release and so new instances. Replicas, the strategy, the stop grace and the
 * placement say how many, how fast and where: changing them scales, paces or moves the fleet
 * without making a new release (a move re-places an instance only where its host no longer
 * meets the placement: core/placement).
 */
export function releaseDigest(artifact: Digest, spec: FleetSpec): Digest {
  const volumes = Object.entries(spec.volumes)
    .map(([name, v]) => [name, v.source])
    .sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0));
  const doc = {
    artifact,
    env: Object.entries(spec.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    fleet: spec.name,
    resources: spec.resources,
    // Only when set: releases made before fleets could name volumes keep their digests.
    ...(volumes.length > 0 && { volumes }),
  };
  return digestOf(canonicalJson(doc));
}
