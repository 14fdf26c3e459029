import type { Balancer, BalancerContext, Host, Picker } from "../balancer.js";
import { SKIP_BOUND, slotsOf } from "../balancer.js";
import type { EndpointTable } from "../upstream/table.js";

/**
 * Cycles through hosts in order from a random start (Envoy round robin).
 * O(1) per pick. With `skipEjected` it steps past hosts marked down since
 * the build: each eligible host still gets exactly one pick per cycle.
 */
class RoundRobinPicker implements Picker {
  readonly hosts: readonly Host[];
  readonly #slots: Int32Array;
  readonly #table: EndpointTable;
  readonly #n: number;
  readonly #bound: number;
  readonly #skip: boolean;
  readonly #downHosts: Int32Array;
  #next: number;

  constructor(hosts: readonly Host[], context: BalancerContext, start: number) {
    this.hosts = hosts;
    this.#slots = slotsOf(hosts);
    this.#table = context.table;
    this.#n = hosts.length;
    this.#bound = Math.min(this.#n, SKIP_BOUND);
    this.#skip = context.skipEjected;
    this.#downHosts = context.downHosts;
    this.#next = start % this.#n;
  }

  pick(): Host | undefined {
    let i = this.#next;
    const n = this.#n;
    if (!this.#skip || this.#downHosts[0] === 0) {
      this.#next = i + 1 === n ? 0 : i + 1;
      return this.hosts[i];
    }
    const down = this.#table.down;
    for (let k = 0; k < this.#bound; k++) {
      const at = i;
      if (++i === n) i = 0;
      if (down[this.#slots[at] as number] === 0) {
        this.#next = i;
        return this.hosts[at];
      }
    }
    this.#next = i;
    return undefined;
  }
}

/**
 * Round robin: every host in turn, ignoring weights, starting at a random
 * position so a fleet of clients does not hit the same endpoint first (as
 * Envoy). KrakenD's and Kong's default. Ignoring weights, it takes no slow
 * start (`slowStart: false`; `weightedRoundRobin()` does).
 */
export function roundRobin(): Balancer {
  return {
    name: "round-robin",
    slowStart: false,
    build(hosts: readonly Host[], context: BalancerContext): Picker {
      return roundRobinPicker(hosts, context, Math.floor(context.random.next() * hosts.length));
    },
  };
}

/** A round robin picker starting at host `start` (weighted round robin's equal-weight case). */
export function roundRobinPicker(hosts: readonly Host[], context: BalancerContext, start: number): Picker {
  return new RoundRobinPicker(hosts, context, start);
}
