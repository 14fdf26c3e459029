import type { Balancer, BalancerContext, Picker } from "../balancer.js";
import { EMPTY_PICKER, weighted } from "../balancer.js";
import type { Endpoint } from "../endpoint.js";
import { randomInt } from "../random.js";

/** Cycles through endpoints in order from a random start (Envoy round robin). O(1) per pick. */
export class RoundRobinPicker implements Picker {
  readonly endpoints: readonly Endpoint[];
  private next: number;
  private readonly n: number;

  /** `start` is the index of the first endpoint picked. */
  constructor(endpoints: readonly Endpoint[], start: number) {
    this.endpoints = endpoints;
    this.n = endpoints.length;
    this.next = start % this.n;
  }

  pick(): Endpoint | undefined {
    const e = this.endpoints[this.next];
    if (++this.next === this.n) this.next = 0;
    return e;
  }
}

/**
 * Round robin: every endpoint with weight > 0 in turn, ignoring weights,
 * starting at a random position so a fleet of clients does not hit the same
 * endpoint first (as Envoy). KrakenD's and Kong's default.
 */
export function roundRobin(): Balancer {
  return {
    name: "round-robin",
    build(endpoints: readonly Endpoint[], context: BalancerContext): Picker {
      const eligible = weighted(endpoints);
      if (eligible.length === 0) return EMPTY_PICKER;
      return new RoundRobinPicker(eligible, randomInt(context.random, eligible.length));
    },
  };
}
