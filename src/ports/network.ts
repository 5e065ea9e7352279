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
   * create the container in it while attach configures it.
   */
  prepare(id: string): Promise<string>;
  /** Give the namespace its interfaces and address (prepares it first if needed). */
  attach(id: string): Promise<Attachment>;
  /** Release everything attach made; safe to call twice or after a half-made attach. */
  detach(id: string): Promise<void>;
  /** The namespace an earlier attach made, if it still exists (after an agent restart). */
  find(id: string): Promise<Attachment | null>;
  /**
   * Remove what instances shared (the bridge), once none is attached: `ingot down
   * --stop-instances` leaves the host as it found it. Does nothing while one still is.
   */
  release(): Promise<void>;
}
