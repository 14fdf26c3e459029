import type { Balancer } from "../balancer.js";
import { InvalidConfigError, show } from "../errors.js";
import { checkOptions } from "../options.js";
import { inFlightLoad } from "./load-metric.js";
import { choiceCount, p2cBalancer } from "./p2c.js";

/** Options of `leastRequest()` (Envoy's `LeastRequest` policy). */
export interface LeastRequestOptions {
  /** Random choices a pick compares (Envoy `choice_count`): an integer ≥ 2, default 2. */
  choiceCount?: number;
  /**
   * How strongly requests in flight count against a host's weight when the
   * weights differ (Envoy `active_request_bias`): a finite number ≥ 0,
   * default 1. Candidates are compared by inFlight / effectiveWeight^(1/bias);
   * 0 ignores requests in flight (weighted random). No effect with equal
   * weights.
   */
  activeRequestBias?: number;
}

/**
 * Least request (Envoy `least_request`, choice_count 2, active_request_bias
 * 1.0): power of `choiceCount` random choices over the requests in flight
 * (`inFlightLoad()`, counted by `begin()` / `end()`).
 *
 * - Equal weights: Envoy's P2C: `choiceCount` distinct hosts drawn
 *   uniformly, the fewest requests in flight wins, a tie goes to the first
 *   drawn (distinct, as Envoy documents it and tower and Finagle draw them:
 *   a host with more in flight than every other gets nothing).
 * - Unequal weights: Envoy gives each host the effective weight
 *   `weight / (active + 1)^bias` and picks in proportion to it (an EDF
 *   schedule, O(log n)). switchyard stays O(choiceCount) and splits that
 *   formula in two: the weight makes a host a candidate in proportion to
 *   its effective weight at build time (each draw independent, by the alias
 *   method; the upstream rebuilds while slow start ramps a weight), and
 *   candidates are compared by `inFlight / effectiveWeight^(1/bias)`, the
 *   lowest winning (the same order as Envoy's `effectiveWeight / inFlight^bias`,
 *   highest winning). Envoy's `+ 1` is left out: with weighted draws it
 *   would count the weight twice, sending an idle upstream more than its
 *   share to heavy hosts. So with nothing in flight (or with `pick()` +
 *   `report()`, which count nothing in flight) traffic follows the weights
 *   exactly; under load, bias 1 keeps requests in flight in proportion to
 *   the weights (in flight per unit of weight, as nginx and HAProxy
 *   least-connections), a larger bias lets in-flight counts override the
 *   weights more (in flight ∝ weight^(1/bias)), and bias 0 ignores them:
 *   weighted random. `effectiveWeight` is read from the table at pick time
 *   (it equals the endpoint's weight unless slow start ramps it).
 *
 * O(choiceCount) per pick, allocation-free; ejected hosts are redrawn
 * outside panic, up to 16 redraws a pick.
 *
 * @example
 * createUpstream({ name: "api", resolver, balancer: leastRequest({ choiceCount: 3 }) });
 * @throws InvalidConfigError for a `choiceCount` that is not an integer ≥ 2
 * or an `activeRequestBias` that is not a finite number ≥ 0.
 */
export function leastRequest(options?: LeastRequestOptions): Balancer {
  const o = checkOptions<LeastRequestOptions>(options, "leastRequest()");
  const count = choiceCount(o.choiceCount);
  const bias = o.activeRequestBias ?? 1;
  if (!(typeof bias === "number" && Number.isFinite(bias) && bias >= 0)) {
    throw new InvalidConfigError("activeRequestBias", `must be a finite number >= 0, got ${show(bias)}`);
  }
  return p2cBalancer("least-request", {
    metric: inFlightLoad(),
    choiceCount: count,
    weightExponent: bias === 0 ? 0 : 1 / bias,
    ignoreLoad: bias === 0,
    kind: "in-flight",
  });
}
