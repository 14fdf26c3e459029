import type { Balancer, BalancerContext, Picker } from "../balancer.js";
import { EMPTY_PICKER, weighted } from "../balancer.js";
import type { Endpoint } from "../endpoint.js";
import type { Random } from "../random.js";

/** Picks uniformly at random. O(1) per pick. */
export class RandomPicker implements Picker {
  readonly endpoints: readonly Endpoint[];
  private readonly random: Random;
  private readonly n: number;

  constructor(endpoints: readonly Endpoint[], random: Random) {
    this.endpoints = endpoints;
    this.random = random;
    this.n = endpoints.length;
  }

  pick(): Endpoint | undefined {
    return this.endpoints[Math.floor(this.random.next() * this.n)];
  }
}

/** Uniform random over endpoints with weight > 0, ignoring weights (Envoy RANDOM). */
export function random(): Balancer {
  return {
    name: "random",
    build(endpoints: readonly Endpoint[], context: BalancerContext): Picker {
      const eligible = weighted(endpoints);
      return eligible.length === 0 ? EMPTY_PICKER : new RandomPicker(eligible, context.random);
    },
  };
}
