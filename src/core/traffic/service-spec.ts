import * as z from 'zod';
import { listenProblem } from './address.js';

/**
 * `service:` of a fleet: the port its instances answer on, and where clients connect to the
 * fleet through the edge. Kept apart from the fleet schema until the controller routes
 * traffic (issue 19): fleet.yaml itself does not accept the key yet.
 *
 *   service: { port: 8080, listen: '127.0.0.1:18080', previewListen: '127.0.0.1:18081' }
 */
export interface ServiceSpec {
  readonly port: number;
  readonly listen: string;
  readonly previewListen?: string;
}

/**
 * The schema, for a machine whose addresses besides loopback are `localAddresses` (the
 * adapter reads its interfaces; empty: loopback only). A listen must be one address and
 * port of this machine: never the wildcard, which would put the fleet on every interface,
 * public ones included.
 */
export function serviceSpecSchema(localAddresses: Iterable<string> = []) {
  const local: ReadonlySet<string> = new Set(localAddresses);
  const listen = z
    .string()
    .max(64)
    .superRefine((text, ctx) => {
      const problem = listenProblem(text, local);
      if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
    });
  return z
    .strictObject({
      port: z.number().int().min(1).max(65_535),
      listen,
      previewListen: listen.optional(),
    })
    .superRefine((spec, ctx) => {
      if (spec.previewListen !== undefined && spec.previewListen === spec.listen)
        ctx.addIssue({
          code: 'custom',
          path: ['previewListen'],
          message: 'the preview needs an address and port of its own, not the listen',
        });
    });
}

/** The schema for loopback listens only (what a machine without local addresses given allows). */
export const serviceSpec = serviceSpecSchema();
