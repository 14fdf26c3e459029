import type { Balancer } from "../balancer.js";
import { weightedRoundRobin } from "../balancers/weighted-round-robin.js";
import type { Clock } from "../clock.js";
import { systemClock } from "../clock.js";
import type { Endpoint } from "../endpoint.js";
import type { EndpointFilter } from "../endpoint-filter.js";
import { endpointMatcher } from "../endpoint-filter.js";
import { InvalidConfigError } from "../errors.js";
import { checkClock, checkNumber, checkRandom, duration } from "../options.js";
import type { Random } from "../random.js";
import { systemRandom } from "../random.js";
import type { Resolver } from "../resolver.js";
import type { UpstreamPlugin } from "./plugin.js";
import type { PriorityOptions } from "./priority-options.js";
import { priorityOptions } from "./priority-options.js";
import type { SlowStartOptions } from "./slow-start.js";
import { slowStartOptions } from "./slow-start.js";
import type { ResolvedZoneOptions, ZoneOptions } from "./zone-options.js";
import { zoneOptions } from "./zone-options.js";

/** Options of `createUpstream()`. */
export interface UpstreamOptions {
  /** The service name (Kong upstream name, Envoy cluster name). */
  name: string;
  /**
   * Where endpoints come from. The upstream starts it; the last upstream using
   * it closes it on `close()` (several upstreams may share one resolver).
   */
  resolver: Resolver;
  /** How to choose within a priority level. Default `weightedRoundRobin()`. */
  balancer?: Balancer;
  /** Priority-level spill and panic threshold (Envoy defaults: 1.4 and 50%). */
  priority?: PriorityOptions;
  /** Keep only matching endpoints (a service version, a zone) before balancing. */
  filter?: EndpointFilter;
  /** Health plug-ins (health checks, outlier detection, breakers, limits), in order. At most 32. */
  plugins?: readonly UpstreamPlugin[];
  /**
   * An attempt not ended this long after `begin()` is reclaimed as
   * `abandoned`: its in-flight count is released, it has no health effect,
   * and the `abandoned` event fires. Default 60,000 ms; `Infinity` disables.
   */
  attemptTimeoutMs?: number;
  /**
   * How long picker rebuilds that eligibility changes call for are held, so a
   * burst of changes costs one rebuild. Ejections take effect at once
   * regardless (pickers skip ejected endpoints); this delays only an
   * endpoint's return when it was left out of the current picker. Default 0
   * (the next timer turn).
   */
  rebuildDelayMs?: number;
  /** Default timeout of `ready()`, ms. Default 10,000. */
  readyTimeoutMs?: number;
  /**
   * Kong's `healthchecks.threshold`: the percentage (0..100) of the total
   * weight that must be available (weight > 0, not ejected or forced down)
   * for `health()` to call the upstream HEALTHY. Reporting only: traffic
   * follows the priority and panic rules whatever this says (Kong refuses
   * all traffic below it). Default 0: healthy while any weight is available.
   */
  healthThreshold?: number;
  /** Time source. Default the system clock. */
  clock?: Clock;
  /** Randomness source. Default `Math.random`. */
  random?: Random;
  /**
   * Slow start (Envoy): an endpoint that joins a running upstream, or
   * becomes eligible again, ramps from a tenth of its weight to all of it
   * over `windowMs`. Default none. Refused with a balancer that does not
   * weigh by `effectiveWeight` (`Balancer.slowStart` false).
   */
  slowStart?: SlowStartOptions;
  /**
   * Zone affinity (Envoy zone-aware routing): keep traffic in the caller's
   * zone `local` while that zone's healthy endpoints cover its callers,
   * spilling the rest by Envoy's rule. Default none.
   */
  zone?: ZoneOptions;
}

/** `UpstreamOptions` validated, with every default filled in. */
export interface ResolvedUpstreamOptions {
  readonly name: string;
  readonly resolver: Resolver;
  readonly balancer: Balancer;
  readonly priority: Required<PriorityOptions>;
  readonly filter: ((endpoint: Endpoint) => boolean) | undefined;
  readonly plugins: readonly UpstreamPlugin[];
  readonly attemptTimeoutMs: number;
  readonly rebuildDelayMs: number;
  readonly readyTimeoutMs: number;
  readonly healthThreshold: number;
  readonly clock: Clock;
  readonly random: Random;
  readonly slowStart: Required<SlowStartOptions> | undefined;
  readonly zone: ResolvedZoneOptions | undefined;
}

/**
 * Validates `createUpstream()`'s options: anything but what `UpstreamOptions`
 * documents throws `InvalidConfigError` naming the option.
 */
export function upstreamOptions(options: UpstreamOptions): ResolvedUpstreamOptions {
  if (!isObject(options)) throw new InvalidConfigError("options", "createUpstream() needs an options object");
  const { name, resolver, balancer, priority, filter, plugins, clock, random } = options;
  if (typeof name !== "string" || name === "")
    throw new InvalidConfigError("name", "an upstream needs a non-empty name");
  if (!isObject(resolver) || !hasMethods(resolver, "on", "off", "start", "close")) {
    throw new InvalidConfigError("resolver", "an upstream needs a resolver (a Resolver: start, close, on, off)");
  }
  if (resolver.closed === true) throw new InvalidConfigError("resolver", `resolver "${resolver.name}" is closed`);
  if (
    balancer !== undefined &&
    !(isObject(balancer) && typeof balancer.name === "string" && hasMethods(balancer, "build"))
  ) {
    throw new InvalidConfigError("balancer", "must be a Balancer ({ name, build }), e.g. roundRobin()");
  }
  if (priority !== undefined && !isObject(priority)) throw new InvalidConfigError("priority", "must be an object");
  const slowStart = slowStartOptions(options.slowStart);
  if (slowStart !== undefined && balancer?.slowStart === false) {
    throw new InvalidConfigError(
      "slowStart",
      `balancer "${balancer.name}" does not weigh endpoints by effectiveWeight, so slow start cannot ramp them; use weightedRoundRobin(), weightedRandom(), leastRequest() or p2c()`,
    );
  }
  return {
    name,
    resolver,
    balancer: balancer ?? weightedRoundRobin(),
    priority: priorityOptions(priority),
    filter: filter === undefined ? undefined : endpointMatcher(filter),
    plugins: checkedPlugins(plugins ?? []),
    attemptTimeoutMs: duration("attemptTimeoutMs", options.attemptTimeoutMs ?? 60_000, { infinite: true }),
    rebuildDelayMs: duration("rebuildDelayMs", options.rebuildDelayMs ?? 0),
    readyTimeoutMs: duration("readyTimeoutMs", options.readyTimeoutMs ?? 10_000),
    healthThreshold: checkNumber(options.healthThreshold, "healthThreshold", 0, 0, 100),
    clock: checkClock(clock) ?? systemClock,
    random: checkRandom(random) ?? systemRandom,
    slowStart,
    zone: zoneOptions(options.zone),
  };
}

function checkedPlugins(plugins: unknown): readonly UpstreamPlugin[] {
  if (!Array.isArray(plugins)) throw new InvalidConfigError("plugins", "must be an array of plug-ins");
  if (plugins.length > 32) throw new InvalidConfigError("plugins", `at most 32 plug-ins, got ${plugins.length}`);
  const names = new Set<string>();
  for (const p of plugins as unknown[]) {
    if (!isObject(p) || typeof p.name !== "string" || p.name === "" || !hasMethods(p, "attach")) {
      throw new InvalidConfigError("plugins", "each plug-in needs a non-empty name and an attach() method");
    }
    if (names.has(p.name)) throw new InvalidConfigError("plugins", `two plug-ins are named "${p.name}"`);
    names.add(p.name);
  }
  return plugins as UpstreamPlugin[];
}

// biome-ignore lint/suspicious/noExplicitAny: a type guard over unknown input
function isObject(value: unknown): value is Record<string, any> {
  return typeof value === "object" && value !== null;
}

function hasMethods(value: object, ...names: string[]): boolean {
  return names.every((n) => typeof (value as Record<string, unknown>)[n] === "function");
}
