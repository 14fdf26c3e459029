import type { Balancer, BalancerContext, Host, Picker } from "../balancer.js";
import { SKIP_BOUND, slotsOf } from "../balancer.js";
import type { EndpointTable } from "../upstream/table.js";
import type { AliasTable } from "./alias-table.js";
import { buildAliasTable, buildWeights, equalWeights } from "./alias-table.js";
import { roundRobinPicker } from "./round-robin.js";

const GOLDEN = 0.6180339887498949;

/**
 * Weighted round robin without weight expansion: an alias table (one bucket
 * per host, see `buildAliasTable`) visited in order, where each bucket
 * decides primary-or-alias by error diffusion (Bresenham) instead of a random
 * number. Every bucket gives its primary exactly `share` picks out of every
 * `total` visits, so over a full cycle of n × total picks each host gets
 * exactly its weight's share.
 *
 * O(1) per pick with no loop (gRPC's static stride scheduler loops
 * max/mean weight times and clamps weights; Envoy's EDF is O(log n)), O(n)
 * memory and build whatever the weights. Buckets start at phases spread by the
 * golden ratio, so neighbouring buckets do not flip together and no host
 * gets a long run it is not owed.
 *
 * With `skipEjected`, a pick that lands on a host marked down since the build
 * takes the sequence's next step instead: over a cycle every eligible host
 * still gets exactly its share, relative to the others.
 */
class WeightedRoundRobinPicker implements Picker {
  readonly hosts: readonly Host[];
  readonly #slots: Int32Array;
  readonly #alias: Int32Array;
  readonly #share: Float64Array;
  readonly #acc: Float64Array;
  readonly #total: number;
  readonly #n: number;
  readonly #table: EndpointTable;
  readonly #skip: boolean;
  readonly #downHosts: Int32Array;
  #next: number;

  /** `phase` in [0, 1) rotates every bucket's starting point; `start` is the first bucket visited. */
  constructor(hosts: readonly Host[], context: BalancerContext, table: AliasTable, start: number, phase: number) {
    this.hosts = hosts;
    this.#slots = slotsOf(hosts);
    this.#alias = table.alias;
    this.#share = table.share;
    this.#total = table.total;
    this.#n = table.n;
    this.#table = context.table;
    this.#skip = context.skipEjected;
    this.#downHosts = context.downHosts;
    this.#next = start % this.#n;
    this.#acc = phases(table, phase);
  }

  pick(): Host | undefined {
    if (!this.#skip || this.#downHosts[0] === 0) return this.hosts[this.#step()];
    const down = this.#table.down;
    for (let k = 0; k < SKIP_BOUND; k++) {
      const i = this.#step();
      if (down[this.#slots[i] as number] === 0) return this.hosts[i];
    }
    return undefined;
  }

  /** The sequence's next host index. */
  #step(): number {
    const b = this.#next;
    this.#next = b + 1 === this.#n ? 0 : b + 1;
    const acc = (this.#acc[b] as number) + (this.#share[b] as number);
    if (acc >= this.#total) {
      this.#acc[b] = acc - this.#total;
      return b;
    }
    this.#acc[b] = acc;
    return this.#alias[b] as number;
  }
}

/**
 * The same picker in 32-bit integers, for tables whose `total` is below
 * 2^30 (every table of up to 16,384 endpoints, and most others): the
 * primary-or-alias choice is made without a branch, which the golden-ratio
 * phases would make the branch predictor miss about half the time.
 */
class SmallWeightedRoundRobinPicker implements Picker {
  readonly hosts: readonly Host[];
  /** Per bucket b, four integers side by side: [4b] accumulator, [4b+1] share, [4b+2] alias index, [4b+3] host b's slot. */
  readonly #buckets: Int32Array;
  readonly #total: number;
  readonly #n: number;
  readonly #table: EndpointTable;
  readonly #skip: boolean;
  readonly #downHosts: Int32Array;
  #next: number;

  constructor(hosts: readonly Host[], context: BalancerContext, table: AliasTable, start: number, phase: number) {
    this.hosts = hosts;
    this.#total = table.total;
    this.#n = table.n;
    const acc = phases(table, phase);
    this.#buckets = new Int32Array(4 * table.n);
    for (let b = 0; b < table.n; b++) {
      this.#buckets[4 * b] = acc[b] as number;
      this.#buckets[4 * b + 1] = table.share[b] as number;
      this.#buckets[4 * b + 2] = table.alias[b] as number;
      this.#buckets[4 * b + 3] = (hosts[b] as Host).slot;
    }
    this.#table = context.table;
    this.#skip = context.skipEjected;
    this.#downHosts = context.downHosts;
    this.#next = start % this.#n;
  }

  pick(): Host | undefined {
    if (!this.#skip || this.#downHosts[0] === 0) return this.hosts[this.#step()];
    const down = this.#table.down;
    for (let k = 0; k < SKIP_BOUND; k++) {
      const i = this.#step();
      if (down[this.#buckets[(i << 2) + 3] as number] === 0) return this.hosts[i];
    }
    return undefined;
  }

  /** The sequence's next host index: mask is -1 when the bucket's accumulator reaches `total`. */
  #step(): number {
    const b = this.#next;
    this.#next = b + 1 === this.#n ? 0 : b + 1;
    const buckets = this.#buckets;
    const at = b << 2;
    const acc = ((buckets[at] as number) + (buckets[at + 1] as number)) | 0;
    const mask = (this.#total - 1 - acc) >> 31;
    buckets[at] = acc - (this.#total & mask);
    return (b & mask) | ((buckets[at + 2] as number) & ~mask);
  }
}

/** Each bucket's starting accumulator: phases spread by the golden ratio, rotated by `phase`. */
function phases(table: AliasTable, phase: number): Float64Array {
  const acc = new Float64Array(table.n);
  for (let b = 0; b < table.n; b++) {
    const p = b * GOLDEN + phase;
    acc[b] = Math.floor((p - Math.floor(p)) * table.total);
  }
  return acc;
}

/**
 * Weighted round robin: each host gets weight / Σweight of the picks,
 * exactly over a full cycle, smoothly interleaved, O(1) per pick and O(n)
 * memory. Equal weights fall back to plain round robin. Random start, as Envoy.
 * Weights are the table's effective weights at build time (`buildWeights`):
 * the upstream rebuilds while slow start ramps one.
 */
export function weightedRoundRobin(): Balancer {
  return {
    name: "weighted-round-robin",
    build(hosts: readonly Host[], context: BalancerContext): Picker {
      const start = Math.floor(context.random.next() * hosts.length);
      const weights = buildWeights(hosts, context.table);
      if (equalWeights(hosts, weights)) return roundRobinPicker(hosts, context, start);
      const table = buildAliasTable(hosts, weights);
      const phase = context.random.next();
      if (table.total < 2 ** 30) return new SmallWeightedRoundRobinPicker(hosts, context, table, start, phase);
      return new WeightedRoundRobinPicker(hosts, context, table, start, phase);
    },
  };
}
