import type { LoadMetric } from "./balancers/load-metric.js";
import type { Clock } from "./clock.js";
import type { Endpoint } from "./endpoint.js";
import type { Random } from "./random.js";
import type { EndpointTable } from "./upstream/table.js";

/**
 * One endpoint as balancers see it: the endpoint and its stable slot in the
 * upstream's `EndpointTable`, where its live columns (requests in flight,
 * load-metric state, ejection) are read at pick time.
 */
export interface Host {
  /** The endpoint's current version (replaced when its weight or metadata change). */
  readonly endpoint: Endpoint;
  /** The endpoint's row in the upstream's `EndpointTable`; stable while it stays in the set. */
  readonly slot: number;
}

/**
 * What a caller may pass to `pick()` / `begin()`. Plain balancers ignore it;
 * hashing balancers read `hash` or `hashKey`; the upstream reads `avoid`.
 */
export interface PickContext {
  /** Key for consistent-hashing balancers (a user id, a session cookie...). */
  readonly hashKey?: string;
  /** A precomputed 32-bit hash of the key, so a hashing balancer need not hash a string per pick. */
  readonly hash?: number;
  /**
   * An endpoint to stay away from (the one a retry just failed on): the
   * upstream picks again, a bounded number of times, and returns it only
   * when nothing else is eligible.
   */
  readonly avoid?: Endpoint;
}

/**
 * An immutable snapshot that chooses a host (grpc-js's picker). `pick()` is
 * synchronous, allocation-free and O(1) or O(log n); it never scans all hosts.
 *
 * When built with `skipEjected`, `pick()` never returns a host that
 * `table.down` marks ineligible: it steps past such hosts a bounded number of
 * times and returns `undefined` when it gives up (the upstream then rebuilds
 * that level over the eligible hosts and picks again).
 */
export interface Picker {
  /** Chooses the host for one attempt; `undefined` when there is none to give. */
  pick(context?: PickContext): Host | undefined;
  /** The hosts this picker chooses among, in build order. */
  readonly hosts: readonly Host[];
}

/** What a balancer may use while building a picker, and its picker at pick time. */
export interface BalancerContext {
  /** Randomness for random starts and random choices (seed picker-local generators from it). */
  readonly random: Random;
  /** Time, for balancers whose choice depends on it. */
  readonly clock: Clock;
  /** The upstream's live per-endpoint columns, indexed by `Host.slot`; read them at pick time. */
  readonly table: EndpointTable;
  /**
   * True when the picker must skip hosts that `table.down` marks ineligible
   * (an ejection or an operator override set since the build). False for a
   * level in panic, which uses every host, healthy or not.
   */
  readonly skipEjected: boolean;
  /**
   * Cell 0: how many of the picker's hosts are down now, kept current by
   * the upstream (always 0 in panic). While it is 0 a picker may skip its
   * `table.down` test: the usual case costs one read, not one per host
   * stepped on. A value above the true count is safe (the picker tests).
   */
  readonly downHosts: Int32Array;
  /**
   * Every host of the priority level that `hosts` come from, eligible or
   * not: `hosts` is this list, or its eligible part when the upstream builds
   * without the down hosts. Absent (as in a context made by hand): `hosts`.
   * Ring hash sizes its ring from it, so ejections never move an endpoint's
   * points.
   */
  readonly levelHosts?: readonly Host[];
  /**
   * Asks the upstream to build this level's pickers again in `delayMs` ms
   * (on its clock), for a balancer that defers work: Maglev builds a
   * changed level's table once its debounce window ends. Requests for a
   * level coalesce (the earliest stands); the upstream's `close()` cancels
   * them. Absent in a context made by hand: a balancer then does its work
   * at once.
   */
  readonly requestRebuild?: (delayMs: number) => void;
}

/**
 * A load-balancing algorithm: builds a `Picker` over the hosts of one
 * priority level. A balancer knows nothing of where endpoints come from, nor
 * of priority levels: the upstream hands it one level's hosts, all with
 * weight > 0.
 */
export interface Balancer {
  /** The algorithm's name, e.g. `"weighted-round-robin"`. */
  readonly name: string;
  /**
   * Builds a picker over `hosts` (non-empty, weight > 0 each). Cost is O(n)
   * or O(n log n), never proportional to the weights.
   */
  build(hosts: readonly Host[], context: BalancerContext): Picker;
  /**
   * The load metric a load-aware balancer reads, if any: the upstream calls
   * its `update()` on every ended attempt, so its state stays current.
   */
  readonly metric?: LoadMetric;
  /**
   * `false` when the balancer does not weigh hosts by
   * `table.effectiveWeight` (it ignores weights, or must not move keys while
   * a weight ramps, as consistent hashing): an upstream with `slowStart`
   * then refuses it with `InvalidConfigError`. Absent: slow start applies
   * (the balancer reads effective weights at build time, as
   * `weightedRoundRobin()`, or at pick time).
   */
  readonly slowStart?: false;
}

/** A picker over nothing: `pick()` returns `undefined`. */
export const EMPTY_PICKER: Picker = Object.freeze({
  pick: () => undefined,
  hosts: Object.freeze([]) as readonly Host[],
});

/**
 * How many hosts a picker steps past before it gives up and returns
 * `undefined` (the upstream then rebuilds the level without the ejected
 * hosts). Bounds the cost of a pick while ejections await the rebuild.
 *
 * Each built-in picker writes its own few lines of this skip loop around
 * its own step rather than sharing one through a base class or a callback:
 * the loop is the hottest code there is, and a shared one would be a call
 * site that sees every picker class.
 */
export const SKIP_BOUND = 16;

/** The slots of `hosts`, in order, for pickers that test `table.down` without a pointer chase. */
export function slotsOf(hosts: readonly Host[]): Int32Array {
  const slots = new Int32Array(hosts.length);
  for (let i = 0; i < hosts.length; i++) slots[i] = (hosts[i] as Host).slot;
  return slots;
}
