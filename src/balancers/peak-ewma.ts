import type { Balancer } from "../balancer.js";
import { InvalidConfigError, show } from "../errors.js";
import { checkOptions } from "../options.js";
import type { EndpointTable } from "../upstream/table.js";
import type { LoadMetric } from "./load-metric.js";
import type { P2COptions } from "./p2c.js";
import { BUILT_IN_METRICS, choiceCount, DEFAULT_RTT, INV_DECAY, p2cBalancer, peakEwmaEstimateNow } from "./p2c.js";

/** Options of `peakEwma()` (Finagle's and Linkerd's Peak EWMA). */
export interface PeakEwmaOptions {
  /**
   * How fast the estimate forgets, in ms (Finagle `decayTime`): a latency
   * observed Δt ms after the last one moves the estimate by a weight of
   * 1 − e^(−Δt / decayMs), and an estimate Δt ms old counts e^(−Δt / decayMs)
   * of itself at pick time. Finite, > 0; default 10,000 (10 s).
   */
  decayMs?: number;
  /**
   * The round-trip time assumed for an endpoint with no latency yet, in ms
   * (Linkerd's default RTT): finite, ≥ 0; default 30.
   */
  defaultRttMs?: number;
  /**
   * How much costlier a failed attempt makes the endpoint (a 5xx, a refused
   * or reset connection, a timeout: `isFailure()`): the failure counts as a
   * latency of `failurePenalty` × the larger of its own latency and the
   * estimate now (the default RTT before any), capped at the larger of
   * `decayMs` and `failurePenalty` × its latency, and never lowers the
   * estimate. Each failure in a row thus multiplies the endpoint's cost, so
   * one that fails fast (connections refused at once, quick 503s) does not
   * look fast. 0 turns it off: a failure's latency counts like any other
   * (Finagle's and tower's Peak EWMA). 0 or a finite number ≥ 1; default 2.
   */
  failurePenalty?: number;
}

/**
 * Peak EWMA's cost now: (the estimate decayed by its age, or the default RTT
 * before the first latency) × (requests in flight + 1). "Now" is the
 * upstream's attempt time (`table.attemptTime[0]`): no clock read.
 */
function peakEwmaCost(table: EndpointTable, slot: number, params: Float64Array): number {
  const pending = (table.inFlight[slot] as number) + 1;
  return Number.isNaN(table.loadEstimate[slot] as number)
    ? (params[DEFAULT_RTT] as number) * pending
    : peakEwmaEstimateNow(table, slot, params) * pending;
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
 *   first latency), `table.loadStamp[slot]` (when it was last updated) and
 *   `table.loadKey[slot]` (ln(estimate) + stamp / decayMs), and through
 *   `table.refreshLoadRank()` `table.loadRank[slot]` (loadKey + ln(inFlight
 *   + 1) in fixed point, what the pickers compare; the table keeps it as
 *   counts move).
 * - `update()`, on every ended attempt: rtt = `table.lastLatencyMs[slot]`,
 *   now = `table.lastEndedAt[slot]` (the attempt's own timestamps: no clock
 *   read). With no estimate yet, estimate = rtt. Else if rtt > estimate,
 *   estimate = rtt (the peak); else estimate = estimate × w + rtt × (1 − w)
 *   with w = e^(−max(0, now − stamp) / decayMs). Then stamp = max(stamp, now)
 *   (an attempt that ended before the last update decays nothing). A
 *   failed attempt instead sets estimate = max(known, min(failurePenalty ×
 *   max(rtt, known), max(decayMs, failurePenalty × rtt))), known being the
 *   estimate decayed to now (the default RTT with none): see `failurePenalty`.
 * - `load()`, at pick time: estimate × e^(−age / decayMs) × (inFlight + 1),
 *   where age = `table.attemptTime[0]` − stamp (when > 0): the upstream's
 *   time of the last attempt begun, no clock read. With no estimate:
 *   `defaultRttMs` × (inFlight + 1), which does not decay. As in Finagle
 *   and tower, an estimate decays toward 0 while no latency renews it, so
 *   an endpoint that was slow and then got no traffic (every other endpoint
 *   cheaper) is tried again within a few `decayMs` rather than never; a
 *   latency after a long gap then replaces most of the estimate (w ≈ 0).
 * - `p2c()` compares the same costs without a clock read or an `exp()` per
 *   pick: the decay to the attempt time is a factor common to both
 *   candidates, so it compares ln(estimate) + stamp / decayMs + ln(inFlight
 *   + 1), as the integer `table.loadRank` (the same order as `load()`
 *   whenever the attempt time is past both stamps, to a cost ratio of
 *   1 + 10^-6: closer costs tie, and a tie goes to the first drawn). Only
 *   a candidate with no estimate against one with an estimate computes
 *   `load()`'s decay.
 *
 * @example
 * createUpstream({ name: "api", resolver, balancer: p2c(peakEwma({ decayMs: 5000 })) });
 * @throws InvalidConfigError for a `decayMs` that is not a finite number > 0,
 * a `defaultRttMs` that is not a finite number ≥ 0, or a `failurePenalty`
 * that is neither 0 nor a finite number ≥ 1.
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
  const penalty = o.failurePenalty ?? 2;
  if (!(typeof penalty === "number" && Number.isFinite(penalty) && (penalty === 0 || penalty >= 1))) {
    throw new InvalidConfigError("failurePenalty", `must be 0 (off) or a finite number >= 1, got ${show(penalty)}`);
  }
  const params = Float64Array.of(defaultRttMs, 1 / decayMs);
  const metric: LoadMetric = {
    name: "peak-ewma",
    load: (table, slot) => peakEwmaCost(table, slot, params),
    update(table, slot, failed) {
      const rtt = table.lastLatencyMs[slot] as number;
      const now = table.lastEndedAt[slot] as number;
      if (!(rtt >= 0) || Number.isNaN(now)) return; // no latency to learn from
      const estimate = table.loadEstimate[slot] as number;
      const stamp = table.loadStamp[slot] as number;
      if (failed === true && penalty > 0) {
        // penalty × max(rtt, the estimate decayed to now), capped at max(decayMs, penalty × rtt); never lower.
        const known = Number.isNaN(estimate) ? defaultRttMs : estimate * Math.exp(-Math.max(0, now - stamp) / decayMs);
        const penalized = Math.min(penalty * Math.max(rtt, known), Math.max(decayMs, penalty * rtt));
        table.loadEstimate[slot] = Math.max(known, penalized);
      } else if (Number.isNaN(estimate) || rtt > estimate) {
        table.loadEstimate[slot] = rtt;
      } else {
        const w = Math.exp(-Math.max(0, now - stamp) / decayMs);
        table.loadEstimate[slot] = estimate * w + rtt * (1 - w);
      }
      if (!(stamp >= now)) table.loadStamp[slot] = now;
      // The key p2c compares: the estimate carried back to time 0, in logarithms (see load()).
      table.loadKey[slot] =
        Math.log(table.loadEstimate[slot] as number) +
        (table.loadStamp[slot] as number) * (params[INV_DECAY] as number);
      table.refreshLoadRank(slot);
    },
  };
  // p2c() computes this metric's cost in line rather than calling load().
  BUILT_IN_METRICS.set(metric, { kind: "peak-ewma", params });
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
  const metric = peakEwma({ decayMs: o.decayMs, defaultRttMs: o.defaultRttMs, failurePenalty: o.failurePenalty });
  return p2cBalancer("peak-ewma", {
    metric,
    choiceCount: choiceCount(o.choiceCount),
    weightExponent: 0,
    ignoreLoad: false,
    ...BUILT_IN_METRICS.get(metric),
  });
}
