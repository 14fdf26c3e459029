import type { Clock } from "./clock.js";
import type { Endpoint } from "./endpoint.js";
import type { Random } from "./random.js";

/**
 * What a caller may pass to `pick()`. Plain balancers ignore it; hashing
 * balancers read `hashKey`.
 */
export interface PickContext {
  /** Key for consistent-hashing balancers (a user id, a session cookie...). */
  readonly hashKey?: string;
}

/**
 * An immutable snapshot that chooses an endpoint (grpc-js's picker). `pick()`
 * is synchronous, allocation-free and O(1) or O(log n); it never scans all
 * endpoints. It returns `undefined` only when built over an empty set.
 */
export interface Picker {
  /** Chooses the endpoint for one attempt. */
  pick(context?: PickContext): Endpoint | undefined;
  /** The endpoints this picker chooses among (weight > 0), in build order. */
  readonly endpoints: readonly Endpoint[];
}

/** What a balancer may use while building a picker. */
export interface BalancerContext {
  /** Randomness for random starts and random choices. */
  readonly random: Random;
  /** Time, for balancers whose choice depends on it. */
  readonly clock: Clock;
}

/**
 * A load-balancing algorithm: builds a `Picker` over a set of endpoints. A
 * balancer knows nothing of where endpoints come from, nor of health: the
 * upstream hands it only eligible endpoints, one priority level at a time.
 */
export interface Balancer {
  /** The algorithm's name, e.g. `"weighted-round-robin"`. */
  readonly name: string;
  /**
   * Builds a picker over `endpoints`. Endpoints with weight 0 are never picked.
   * Cost is O(n) or O(n log n), never proportional to the weights.
   */
  build(endpoints: readonly Endpoint[], context: BalancerContext): Picker;
}

/** A picker over nothing: `pick()` returns `undefined`. */
export const EMPTY_PICKER: Picker = Object.freeze({
  pick: () => undefined,
  endpoints: Object.freeze([]) as readonly Endpoint[],
});

/** The endpoints that may take traffic: weight > 0. */
export function weighted(endpoints: readonly Endpoint[]): readonly Endpoint[] {
  for (const e of endpoints) if (e.weight === 0) return endpoints.filter((x) => x.weight > 0);
  return endpoints;
}

/**
 * An endpoint as the upstream sees it when building pickers: the endpoint and
 * whether it may take traffic now (today: the `Upstream.setHealth()` override).
 */
export interface Host {
  readonly endpoint: Endpoint;
  readonly healthy: boolean;
}
