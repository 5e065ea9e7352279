import { z } from 'zod';

/** POST /v1/shutdown: stop the server, and its instances with `stopInstances`. */
export const shutdownRequest = z.object({ stopInstances: z.boolean().exactOptional() });

export const ok = z.object({ ok: z.literal(true) });
