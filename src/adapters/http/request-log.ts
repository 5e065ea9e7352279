import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

/**
 * Fastify's request lines, at debug and one per request. Its defaults are two lines at info
 * per request (in and out), which were 99.8 % of server.log and buried what happened (the
 * ledger's events, logged at info by the server). A route not found is a request like any
 * other: at info, whoever probes the port would write the log. Errors keep their levels.
 * The URL only, never a header: the token is one.
 */
export class RequestLog extends LogController {
  override incomingRequest(): void {
    // The completion line says it all.
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const fields = {
      method: request.method,
      url: request.url.length > 200 ? `${request.url.slice(0, 200)}…` : request.url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
    };
    if (error) reply.log.error({ ...fields, err: error }, 'request failed');
    else reply.log.debug(fields, 'request');
  }

  override routeNotFound(request: FastifyRequest): void {
    request.log.debug({ method: request.method }, 'route not found');
  }
}
