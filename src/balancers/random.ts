import type { Balancer, BalancerContext, Host, Picker } from "../balancer.js";
import { SKIP_BOUND, slotsOf } from "../balancer.js";
import type { EndpointTable } from "../upstream/table.js";
import { PickerRandom } from "./picker-random.js";

/**
 * Picks uniformly at random. O(1) per pick, from a picker-local generator
 * (no allocation). With `skipEjected` a host marked down since the build is
 * redrawn, which keeps the choice uniform over the eligible hosts.
 */
class RandomPicker implements Picker {
  readonly hosts: readonly Host[];
  readonly #slots: Int32Array;
  readonly #table: EndpointTable;
  readonly #n: number;
  readonly #skip: boolean;
  readonly #downHosts: Int32Array;
  readonly #random: PickerRandom;

  constructor(hosts: readonly Host[], context: BalancerContext) {
    this.hosts = hosts;
    this.#slots = slotsOf(hosts);
    this.#table = context.table;
    this.#n = hosts.length;
    this.#skip = context.skipEjected;
    this.#downHosts = context.downHosts;
    this.#random = new PickerRandom(context.random);
  }

  pick(): Host | undefined {
    if (!this.#skip || this.#downHosts[0] === 0) return this.hosts[this.#random.below(this.#n)];
    const down = this.#table.down;
    for (let k = 0; k < SKIP_BOUND; k++) {
      const i = this.#random.below(this.#n);
      if (down[this.#slots[i] as number] === 0) return this.hosts[i];
    }
    return undefined;
  }
}

/** Uniform random over the hosts, ignoring weights (Envoy RANDOM); so no slow start (`slowStart: false`). */
export function random(): Balancer {
  return {
    name: "random",
    slowStart: false,
    build(hosts: readonly Host[], context: BalancerContext): Picker {
      return randomPicker(hosts, context);
    },
  };
}

/** A uniform random picker (weighted random's equal-weight case). */
export function randomPicker(hosts: readonly Host[], context: BalancerContext): Picker {
  return new RandomPicker(hosts, context);
}
