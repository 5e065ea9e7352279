/** Bounds on what one layer may decompress to: a layer is attacker-controlled input. */
export interface LayerLimits {
  /** Uncompressed bytes of one layer. */
  readonly maxBytes: number;
  /** Entries of one layer. */
  readonly maxEntries: number;
  /** Uncompressed/compressed, checked once `ratioAfter` bytes have come out. */
  readonly maxRatio: number;
  readonly ratioAfter: number;
}

export const DEFAULT_LAYER_LIMITS: LayerLimits = {
  maxBytes: 16 * 1024 ** 3,
  maxEntries: 1_000_000,
  maxRatio: 250,
  ratioAfter: 64 * 1024 ** 2,
};
