import type { IdMap } from '../core/runtime/id-map.js';

/** An instance's own network: a namespace with an address the host can reach. */
export interface Attachment {
  /** Path of the network namespace, for the runtime config. */
  readonly netns: string;
  /** IPv4 address of the instance, without prefix length. */
  readonly address: string;
}

export interface Network {
  /**
   * Make the instance's network namespace (empty) and return its path. The runtime can
   * create the container in it while attach configures it. With `idMap`, it is made inside
   * a new user namespace of that mapping (returned as `userns`), which then owns it: the
   * instance is run in that user namespace.
   */
  prepare(
    id: string,
    idMap?: IdMap | null,
  ): Promise<{ readonly netns: string; readonly userns: string | null }>;
  /** Give the namespace its interfaces and address (prepares it first if needed). */
  attach(id: string): Promise<Attachment>;
  /** Release everything attach made; safe to call twice or after a half-made attach. */
  detach(id: string): Promise<void>;
  /** The namespace an earlier attach made, if it still exists (after an agent restart). */
  find(id: string): Promise<Attachment | null>;
  /**
   * Remove what the instances shared and this home created (the bridge), once none is
   * attached: after `ingot down --stop-instances` no Ingot device is left on the host. Does
   * nothing while an instance (of any home) is attached. Host settings the plugins turned on,
   * such as IPv4 forwarding, stay: other software may rely on them.
   */
  release(): Promise<void>;
}
