import type { Balancer, BalancerContext, Picker } from "../balancer.js";
import { EMPTY_PICKER, weighted } from "../balancer.js";
import type { Endpoint } from "../endpoint.js";
import { randomInt } from "../random.js";
import { buildAliasTable } from "./alias-table.js";
import { RoundRobinPicker } from "./round-robin.js";

const GOLDEN = 0.6180339887498949;

/**
 * Weighted round robin without weight expansion: an alias table (one bucket
 * per endpoint, see `buildAliasTable`) visited in order, where each bucket
 * decides primary-or-alias by error diffusion (Bresenham) instead of a random
 * number. Every bucket gives its primary exactly `share` picks out of every
 * `total` visits, so over a full cycle of n × total picks each endpoint gets
 * exactly its weight's share.
 *
 * O(1) per pick with no loop (gRPC's static stride scheduler loops
 * max/mean weight times and clamps weights; Envoy's EDF is O(log n)), O(n)
 * memory and build whatever the weights. Buckets start at phases spread by the
 * golden ratio, so neighbouring buckets do not flip together and no endpoint
 * gets a long run it is not owed.
 */
export class WeightedRoundRobinPicker implements Picker {
  readonly endpoints: readonly Endpoint[];
  private readonly alias: readonly Endpoint[];
  private readonly share: Float64Array;
  private readonly acc: Float64Array;
  private readonly total: number;
  private readonly n: number;
  private next: number;

  /** `phase` in [0, 1) rotates every bucket's starting point; `start` is the first bucket visited. */
  constructor(endpoints: readonly Endpoint[], start: number, phase: number) {
    const table = buildAliasTable(endpoints);
    this.endpoints = endpoints;
    this.alias = table.alias;
    this.share = table.share;
    this.total = table.total;
    this.n = table.n;
    this.next = start % this.n;
    this.acc = new Float64Array(this.n);
    for (let b = 0; b < this.n; b++) {
      const p = b * GOLDEN + phase;
      this.acc[b] = Math.floor((p - Math.floor(p)) * this.total);
    }
  }

  pick(): Endpoint | undefined {
    const b = this.next;
    if (++this.next === this.n) this.next = 0;
    const acc = (this.acc[b] as number) + (this.share[b] as number);
    if (acc >= this.total) {
      this.acc[b] = acc - this.total;
      return this.endpoints[b];
    }
    this.acc[b] = acc;
    return this.alias[b];
  }
}

/**
 * Weighted round robin: each endpoint gets weight / Σweight of the picks,
 * exactly over a full cycle, smoothly interleaved, O(1) per pick and O(n)
 * memory. Equal weights fall back to plain round robin. Random start, as Envoy.
 */
export function weightedRoundRobin(): Balancer {
  return {
    name: "weighted-round-robin",
    build(endpoints: readonly Endpoint[], context: BalancerContext): Picker {
      const eligible = weighted(endpoints);
      if (eligible.length === 0) return EMPTY_PICKER;
      const start = randomInt(context.random, eligible.length);
      if (allEqual(eligible)) return new RoundRobinPicker(eligible, start);
      return new WeightedRoundRobinPicker(eligible, start, context.random.next());
    },
  };
}

function allEqual(endpoints: readonly Endpoint[]): boolean {
  const w = endpoints[0]?.weight;
  for (const e of endpoints) if (e.weight !== w) return false;
  return true;
}
