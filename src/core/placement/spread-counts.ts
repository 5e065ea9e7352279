import type { PlacementHost } from './types.js';

/**
 * How many instances of each fleet each host runs, and each value of a label the fleet
 * spreads over ("how many of web are in zone a"), kept up to date as instances are placed,
 * so that scoring a host is a look-up rather than a count. Mutable, local to one `place`.
 */
export class SpreadCounts {
  private readonly hosts: readonly PlacementHost[];
  private readonly perHost = new Map<string, Int32Array>();
  /** Label → each host's index among the label's values, -1 where the host lacks it. */
  private readonly zones = new Map<string, { readonly of: Int32Array; readonly count: number }>();
  /** Fleet → label → instances of the fleet per value of the label. */
  private readonly perZone = new Map<string, Map<string, Int32Array>>();

  /** `hosts` in the order the table indexes them. */
  constructor(hosts: readonly PlacementHost[]) {
    this.hosts = hosts;
  }

  /** Instances of `fleet` on each host, by host index. */
  onHost(fleet: string): Int32Array {
    let counts = this.perHost.get(fleet);
    if (!counts) this.perHost.set(fleet, (counts = new Int32Array(this.hosts.length)));
    return counts;
  }

  /** Each host's value of `label`, as an index (-1: the host lacks the label). */
  zoneOf(label: string): Int32Array {
    return this.zonesOf(label).of;
  }

  /** Instances of `fleet` per value of `label`, by the indexes `zoneOf` gives. */
  inZone(fleet: string, label: string): Int32Array {
    let byLabel = this.perZone.get(fleet);
    if (!byLabel) this.perZone.set(fleet, (byLabel = new Map<string, Int32Array>()));
    let counts = byLabel.get(label);
    if (!counts) {
      // First asked: counted from the hosts' counts, then kept up to date by `add`.
      const zones = this.zonesOf(label);
      counts = new Int32Array(zones.count);
      const onHost = this.onHost(fleet);
      onHost.forEach((n, h) => {
        const z = zones.of[h]!;
        if (z >= 0) counts![z]! += n;
      });
      byLabel.set(label, counts);
    }
    return counts;
  }

  /** One more instance of `fleet` on host `h`. */
  add(fleet: string, h: number): void {
    this.onHost(fleet)[h]! += 1;
    const byLabel = this.perZone.get(fleet);
    if (!byLabel) return;
    for (const [label, counts] of byLabel) {
      const z = this.zonesOf(label).of[h]!;
      if (z >= 0) counts[z]! += 1;
    }
  }

  private zonesOf(label: string): { readonly of: Int32Array; readonly count: number } {
    let zones = this.zones.get(label);
    if (!zones) {
      const index = new Map<string, number>();
      const of = new Int32Array(this.hosts.length);
      this.hosts.forEach((host, h) => {
        const labels = host.labels;
        if (!Object.hasOwn(labels, label)) return void (of[h] = -1);
        const value = labels[label]!;
        let z = index.get(value);
        if (z === undefined) index.set(value, (z = index.size));
        of[h] = z;
      });
      this.zones.set(label, (zones = { of, count: index.size }));
    }
    return zones;
  }
}
