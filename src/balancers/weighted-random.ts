import type { Balancer, BalancerContext, Picker } from "../balancer.js";
import { EMPTY_PICKER, weighted } from "../balancer.js";
import type { Endpoint } from "../endpoint.js";
import type { Random } from "../random.js";
import { buildAliasTable } from "./alias-table.js";
import { RandomPicker } from "./random.js";

/**
 * Weighted random by the alias method: one random number picks a bucket
 * (integer part) and primary-or-alias (fractional part). O(1) per pick, O(n)
 * memory and build.
 */
export class WeightedRandomPicker implements Picker {
  readonly endpoints: readonly Endpoint[];
  private readonly alias: readonly Endpoint[];
  private readonly share: Float64Array;
  private readonly total: number;
  private readonly n: number;
  private readonly random: Random;

  constructor(endpoints: readonly Endpoint[], random: Random) {
    const table = buildAliasTable(endpoints);
    this.endpoints = endpoints;
    this.alias = table.alias;
    this.share = table.share;
    this.total = table.total;
    this.n = table.n;
    this.random = random;
  }

  pick(): Endpoint | undefined {
    const u = this.random.next() * this.n;
    const b = Math.floor(u);
    return (u - b) * this.total < (this.share[b] as number) ? this.endpoints[b] : this.alias[b];
  }
}

/**
 * Weighted random: each pick independently chooses endpoint i with
 * probability weight_i / Σweight (Envoy RANDOM with weights, RFC 2782's
 * weighted selection). Equal weights fall back to plain random.
 */
export function weightedRandom(): Balancer {
  return {
    name: "weighted-random",
    build(endpoints: readonly Endpoint[], context: BalancerContext): Picker {
      const eligible = weighted(endpoints);
      if (eligible.length === 0) return EMPTY_PICKER;
      const w = eligible[0]?.weight;
      if (eligible.every((e) => e.weight === w)) return new RandomPicker(eligible, context.random);
      return new WeightedRandomPicker(eligible, context.random);
    },
  };
}
