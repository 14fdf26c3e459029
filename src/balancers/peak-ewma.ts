import type { Balancer } from "../balancer.js";
import { InvalidConfigError, show } from "../errors.js";
import { checkOptions } from "../options.js";
import type { EndpointTable } from "../upstream/table.js";
import type { LoadMetric } from "./load-metric.js";
import type { P2COptions } from "./p2c.js";
import { BUILT_IN_METRICS, choiceCount, p2cBalancer } from "./p2c.js";

/** Options of `peakEwma()` (Finagle's and Linkerd's Peak EWMA). */
export interface PeakEwmaOptions {
  /**
   * How fast the estimate forgets a peak, in ms (Finagle `decayTime`): a
   * latency observed Δt ms after the last one moves the estimate by a
   * weight of 1 − e^(−Δt / decayMs). Finite, > 0; default 10,000 (10 s).
   */
  decayMs?: number;
  /**
   * The round-trip time assumed for an endpoint with no latency yet, in ms
   * (Linkerd's default RTT): finite, ≥ 0; default 30.
   */
  defaultRttMs?: number;
}

/**
 * Peak EWMA's cost: (the estimate, or `defaultRtt[0]` before the first
 * latency) × (requests in flight + 1). The p2c pickers write the same
 * expression out in their comparisons. The default comes from a
 * `Float64Array` cell so that both arms of the choice are unboxed doubles:
 * with a plain number there, V8 boxed every estimate into a new heap number
 * where it inlined the function (16 B per load, measured).
 */
function peakEwmaCost(table: EndpointTable, slot: number, defaultRtt: Float64Array): number {
  const estimate = table.loadEstimate[slot] as number;
  return (Number.isNaN(estimate) ? (defaultRtt[0] as number) : estimate) * ((table.inFlight[slot] as number) + 1);
}

/** Linkerd's default RTT for an endpoint with no latency yet, ms. */
const DEFAULT_RTT_MS = 30;

/** Options of `p2cPeakEwma()`: the metric's and the p2c picker's. */
export interface P2CPeakEwmaOptions extends PeakEwmaOptions, P2COptions {}

/**
 * Peak EWMA latency as a load metric (Finagle `PeakEwma`, Linkerd's and
 * tower's `PeakEwma`): cost = estimate × (inFlight + 1), where the estimate
 * is a moving average of the endpoint's round-trip time that jumps to any
 * latency above it (the peak) and decays toward lower ones.
 *
 * - State: `table.loadEstimate[slot]` (the estimate, ms; NaN before the
 *   first latency) and `table.loadStamp[slot]` (when it was last updated).
 * - `update()`, on every ended attempt: rtt = `table.lastLatencyMs[slot]`,
 *   now = `table.lastEndedAt[slot]` (the attempt's own timestamps: no clock
 *   read). With no estimate yet, estimate = rtt. Else if rtt > estimate,
 *   estimate = rtt (the peak); else estimate = estimate × w + rtt × (1 − w)
 *   with w = e^(−max(0, now − stamp) / decayMs). Then stamp = max(stamp, now)
 *   (an attempt that ended before the last update decays nothing).
 * - `load()`, at pick time: (estimate, or `defaultRttMs` with no estimate) ×
 *   (`table.inFlight[slot]` + 1). No clock read: unlike Finagle and tower,
 *   the estimate does not decay between outcomes, it moves only when an
 *   attempt on the endpoint ends.
 *
 * @example
 * createUpstream({ name: "api", resolver, balancer: p2c(peakEwma({ decayMs: 5000 })) });
 * @throws InvalidConfigError for a `decayMs` that is not a finite number > 0
 * or a `defaultRttMs` that is not a finite number ≥ 0.
 */
export function peakEwma(options?: PeakEwmaOptions): LoadMetric {
  const o = checkOptions<PeakEwmaOptions>(options, "peakEwma()");
  const decayMs = o.decayMs ?? 10_000;
  const defaultRttMs = o.defaultRttMs ?? DEFAULT_RTT_MS;
  if (!(typeof decayMs === "number" && Number.isFinite(decayMs) && decayMs > 0)) {
    throw new InvalidConfigError("decayMs", `must be a finite number of milliseconds > 0, got ${show(decayMs)}`);
  }
  if (!(typeof defaultRttMs === "number" && Number.isFinite(defaultRttMs) && defaultRttMs >= 0)) {
    throw new InvalidConfigError(
      "defaultRttMs",
      `must be a finite number of milliseconds >= 0, got ${show(defaultRttMs)}`,
    );
  }
  const defaultRtt = Float64Array.of(defaultRttMs);
  const metric: LoadMetric = {
    name: "peak-ewma",
    load: (table, slot) => peakEwmaCost(table, slot, defaultRtt),
    update(table, slot) {
      const rtt = table.lastLatencyMs[slot] as number;
      const now = table.lastEndedAt[slot] as number;
      if (!(rtt >= 0) || Number.isNaN(now)) return; // no latency to learn from
      const estimate = table.loadEstimate[slot] as number;
      const stamp = table.loadStamp[slot] as number;
      if (Number.isNaN(estimate) || rtt > estimate) {
        table.loadEstimate[slot] = rtt;
      } else {
        const w = Math.exp(-Math.max(0, now - stamp) / decayMs);
        table.loadEstimate[slot] = estimate * w + rtt * (1 - w);
      }
      if (!(stamp >= now)) table.loadStamp[slot] = now;
    },
  };
  // p2c() computes this metric's cost in line rather than calling load().
  BUILT_IN_METRICS.set(metric, { kind: "peak-ewma", defaultRtt });
  return metric;
}

/**
 * Power of two choices over Peak EWMA (Finagle `Balancers.p2cPeakEwma`,
 * Linkerd's default balancer): `p2c(peakEwma(options), options)`, named
 * `"peak-ewma"`. Each pick compares `choiceCount` hosts (distinct with equal
 * weights, drawn by weight otherwise, as `p2c()`) and takes the lowest
 * estimate × (inFlight + 1); a tie goes to the first drawn.
 *
 * @example
 * createUpstream({ name: "api", resolver, balancer: p2cPeakEwma({ decayMs: 10_000, defaultRttMs: 30 }) });
 * @throws InvalidConfigError as `peakEwma()` and `p2c()` do.
 */
export function p2cPeakEwma(options?: P2CPeakEwmaOptions): Balancer {
  const o = checkOptions<P2CPeakEwmaOptions>(options, "p2cPeakEwma()");
  const metric = peakEwma({ decayMs: o.decayMs, defaultRttMs: o.defaultRttMs });
  return p2cBalancer("peak-ewma", {
    metric,
    choiceCount: choiceCount(o.choiceCount),
    weightExponent: 0,
    ignoreLoad: false,
    ...BUILT_IN_METRICS.get(metric),
  });
}
