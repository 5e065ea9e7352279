/**
 * The two parts of undici the transport uses, declared for their own files: `import … from
 * 'undici'` loads all of it (fetch, WebSocket, EventSource, mocks, caches: about 1.1 MB that
 * every push and pull compiled at start-up); these files and what they need are about 0.5 MB.
 * The types are undici's own. The paths are undici's private layout, which any release may
 * change: package.json pins undici to one version, and undici-parts.test.ts checks that it
 * still has both, so that an upgrade is a deliberate step that runs that test.
 */

declare module 'undici/lib/dispatcher/agent.js' {
  import type { Agent } from 'undici';
  const AgentClass: typeof Agent;
  export default AgentClass;
}

declare module 'undici/lib/api/api-request.js' {
  import type { Dispatcher } from 'undici';
  /** undici's `request`, called on the dispatcher that sends it (as undici's index does). */
  function request(
    this: Dispatcher,
    options: Dispatcher.RequestOptions,
  ): Promise<Dispatcher.ResponseData>;
  export default request;
}
