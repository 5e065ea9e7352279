import type { FastifyInstance } from 'fastify';
import type { ExtraRoutes } from './api.js';

export const JOIN_PATH = '/v1/cluster/join';
export const EVENTS_PATH = '/v1/cluster/events';

/** The use cases behind the hosts' routes: each checks its own credential. */
export interface ClusterHandlers {
  join(authorization: string | undefined, body: unknown): Promise<unknown>;
  events(authorization: string | undefined, body: unknown): Promise<unknown>;
}

/**
 * The two routes hosts call, each with its own credential instead of the admin token: join
 * (the join token) and events (the host's credential). Their connections are not kept: a
 * host calls rarely, and an unauthenticated caller must not hold one open.
 */
export function clusterRoutes(handlers: ClusterHandlers): ExtraRoutes {
  return {
    ownAuth: [JOIN_PATH, EVENTS_PATH],
    register(app: FastifyInstance) {
      app.post(JOIN_PATH, async (req, reply) => {
        void reply.header('connection', 'close');
        return handlers.join(req.headers.authorization, req.body);
      });
      app.post(EVENTS_PATH, async (req, reply) => {
        void reply.header('connection', 'close');
        return handlers.events(req.headers.authorization, req.body);
      });
    },
  };
}
