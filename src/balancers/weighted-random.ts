import type { Balancer, BalancerContext, Host, Picker } from "../balancer.js";
import { SKIP_BOUND, slotsOf } from "../balancer.js";
import type { EndpointTable } from "../upstream/table.js";
import { buildAliasTable, buildWeights, equalWeights } from "./alias-table.js";
import { PickerRandom } from "./picker-random.js";
import { randomPicker } from "./random.js";

/**
 * Weighted random by the alias method: one draw picks a bucket, a second
 * picks its primary or its alias. O(1) per pick, O(n) memory and build, no
 * allocation (picker-local generator). With `skipEjected` a host marked down
 * since the build is redrawn: the choice stays weight-proportional over the
 * eligible hosts.
 */
class WeightedRandomPicker implements Picker {
  readonly hosts: readonly Host[];
  readonly #slots: Int32Array;
  readonly #alias: Int32Array;
  /** Bucket b keeps its primary when a 31-bit draw is below threshold[b] = ⌊2^31 × share / total⌋. */
  readonly #threshold: Int32Array;
  readonly #n: number;
  readonly #table: EndpointTable;
  readonly #skip: boolean;
  readonly #downHosts: Int32Array;
  readonly #random: PickerRandom;

  constructor(hosts: readonly Host[], context: BalancerContext, weights: Float64Array) {
    const table = buildAliasTable(hosts, weights);
    this.hosts = hosts;
    this.#slots = slotsOf(hosts);
    this.#alias = table.alias;
    this.#threshold = new Int32Array(table.n);
    for (let b = 0; b < table.n; b++) {
      const share = table.share[b] as number;
      // A full bucket never goes to its alias: 2^31 - 1 is above every draw but the last.
      this.#threshold[b] = share >= table.total ? 0x7fffffff : Math.floor((share / table.total) * TWO_31);
    }
    this.#n = table.n;
    this.#table = context.table;
    this.#skip = context.skipEjected;
    this.#downHosts = context.downHosts;
    this.#random = new PickerRandom(context.random);
  }

  pick(): Host | undefined {
    if (!this.#skip || this.#downHosts[0] === 0) return this.hosts[this.#draw()];
    const down = this.#table.down;
    for (let k = 0; k < SKIP_BOUND; k++) {
      const i = this.#draw();
      if (down[this.#slots[i] as number] === 0) return this.hosts[i];
    }
    return undefined;
  }

  /**
   * A bucket from one draw, its primary or its alias from a second, chosen
   * without a branch (the choice is random, so a branch would be
   * mispredicted half the time): mask = -1 when the draw is below the
   * threshold, else 0.
   */
  #draw(): number {
    const b = this.#random.below(this.#n);
    const mask = (this.#random.next31() - (this.#threshold[b] as number)) >> 31;
    return (b & mask) | ((this.#alias[b] as number) & ~mask);
  }
}

const TWO_31 = 2147483648;

/**
 * Weighted random: each pick independently chooses host i with probability
 * weight_i / Σweight (Envoy RANDOM with weights, RFC 2782's weighted
 * selection). Equal weights fall back to plain random. Weights are the
 * table's effective weights at build time (`buildWeights`): the upstream
 * rebuilds while slow start ramps one.
 */
export function weightedRandom(): Balancer {
  return {
    name: "weighted-random",
    build(hosts: readonly Host[], context: BalancerContext): Picker {
      const weights = buildWeights(hosts, context.table);
      if (equalWeights(hosts, weights)) return randomPicker(hosts, context);
      return new WeightedRandomPicker(hosts, context, weights);
    },
  };
}
