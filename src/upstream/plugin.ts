import type { Host, PickContext } from "../balancer.js";
import type { Clock } from "../clock.js";
import { InvalidConfigError } from "../errors.js";
import type { Outcome } from "../outcome.js";
import type { Random } from "../random.js";
import type { EndpointTable } from "./table.js";

/**
 * What an upstream gives a plug-in when it attaches: its live table, time and
 * randomness, and the one lever a plug-in has over traffic, its own ejection
 * reason on a slot.
 */
export interface PluginContext {
  /** The upstream's name. */
  readonly upstream: string;
  /** The upstream's live per-endpoint columns, indexed by `Host.slot`. */
  readonly table: EndpointTable;
  /** The upstream's clock: schedule work on it, never on `setTimeout`. */
  readonly clock: Clock;
  /** The upstream's randomness (jitter). */
  readonly random: Random;
  /** The hosts in the set now. */
  hosts(): readonly Host[];
  /**
   * Attempts begun on the upstream (`begin()`) and not yet ended or
   * reclaimed, on every endpoint, including endpoints that have left the
   * set since. O(1). Per endpoint, read `table.inFlight[host.slot]`.
   */
  inFlight(): number;
  /**
   * Sets (`true`) or clears (`false`) this plug-in's ejection reason on
   * `host`. An endpoint with any reason set takes no traffic outside panic
   * (an operator override aside). Takes effect at once; O(levels). Ignored for
   * a host no longer in the set. Returns true when the reason changed.
   */
  eject(host: Host, ejected: boolean): boolean;
  /** Whether this plug-in's ejection reason is set on `host`. */
  ejected(host: Host): boolean;
}

/**
 * A health plug-in: active or passive health checks, outlier detection, a
 * circuit breaker, a concurrency limit (Envoy's model: the cluster's health
 * checker and outlier detector set host flags). Every method but `name` and
 * `attach` is optional. Hooks run synchronously on the upstream's paths:
 * keep them O(1) and allocation-free (`admit`, `onOutcome`), and keep
 * per-endpoint state in typed arrays indexed by `host.slot`.
 *
 * @example
 * // Ejects an endpoint after 3 failures in a row; a success brings it back.
 * function threeStrikes(): UpstreamPlugin {
 *   let ctx: PluginContext;
 *   return {
 *     name: "three-strikes",
 *     attach: (context) => { ctx = context; },
 *     onOutcome(host) {
 *       ctx.eject(host, (ctx.table.consecutiveFailures[host.slot] ?? 0) >= 3);
 *     },
 *   };
 * }
 */
export interface UpstreamPlugin {
  /** The plug-in's name: its ejection reason and its section in `snapshot()`. Unique per upstream. */
  readonly name: string;
  /** Called once, before any other hook, when the upstream is created. */
  attach(context: PluginContext): void;
  /** An endpoint joined the set (also called for every endpoint already there when the plug-in attaches). */
  onJoin?(host: Host): void;
  /** An endpoint left the set; its slot will be reused. */
  onLeave?(host: Host): void;
  /**
   * Admission in `Upstream.begin()`: return false to refuse an attempt on
   * `host` (a breaker that is open, a concurrency limit reached). The
   * upstream then tries another endpoint, a bounded number of times.
   */
  admit?(host: Host, context: PickContext | undefined): boolean;
  /**
   * The error `begin()` throws when this plug-in refused the last endpoint
   * it tried (a `ConcurrencyLimitError` saying which limit, a
   * `CircuitOpenError`...). Called once, off the hot path, only when
   * `begin()` gives up. Without it, `begin()` throws
   * `NoEndpointsError` with `reason: "overloaded"`.
   */
  refusal?(host: Host): Error;
  /**
   * An attempt on `host` ended, or an outcome was reported: called exactly
   * once per attempt. The counters in the table are already updated, and so
   * is `lastLatencyMs` when the attempt was timed (`end()` always; `report()`
   * when the outcome has `latencyMs`). `outcome.failure` is `"abandoned"` for an attempt
   * reclaimed after the attempt timeout: it says nothing of the endpoint's
   * health.
   */
  onOutcome?(host: Host, outcome: Outcome): void;
  /** This plug-in's state for `snapshot().plugins[name]` (plain data). */
  describe?(): unknown;
  /** One endpoint's state for `snapshot().endpoints[i].plugins[name]` (plain data), or undefined. */
  describeEndpoint?(host: Host): unknown;
  /** Stops timers and releases resources; called by `Upstream.close()`. */
  close?(): void | Promise<void>;
}

/**
 * For plug-ins that keep per-upstream state: throws `InvalidConfigError`
 * when `plugin` is attached to a second upstream (`attached` is the context
 * it already has). @internal
 */
export function attachOnce(plugin: { readonly name: string }, attached: PluginContext | undefined): void {
  if (attached !== undefined) {
    throw new InvalidConfigError(
      "plugins",
      `plug-in "${plugin.name}" already serves an upstream: make one per upstream`,
    );
  }
}
