import type { Host } from "../../balancer.js";
import type { Outcome } from "../../outcome.js";
import { grown } from "../../upstream/table.js";
import type { OutlierConfig } from "./options.js";

/**
 * The detectors of outlier detection (Envoy's `DetectorHostMonitor` and the
 * success-rate sweep): per-endpoint counters updated on every outcome in
 * O(1), the three consecutive detectors that trip inline, and the interval
 * statistics, success rate and failure percentage, computed once per sweep.
 * @module
 */

/**
 * Which detector found an outlier (Envoy's `OutlierEjectionType`, in
 * kebab-case): `consecutive-5xx`, `consecutive-gateway-failure`,
 * `consecutive-local-origin-failure`, `success-rate`,
 * `success-rate-local-origin`, `failure-percentage`,
 * `failure-percentage-local-origin`.
 */
export type OutlierEjectionType =
  | "consecutive-5xx"
  | "consecutive-gateway-failure"
  | "consecutive-local-origin-failure"
  | "success-rate"
  | "success-rate-local-origin"
  | "failure-percentage"
  | "failure-percentage-local-origin";

/** Ejection type codes, as stored in typed arrays (0: none). @internal */
export const CONSECUTIVE_5XX = 1;
/** @internal */
export const CONSECUTIVE_GATEWAY_FAILURE = 2;
/** @internal */
export const CONSECUTIVE_LOCAL_ORIGIN_FAILURE = 3;
/** @internal */
export const SUCCESS_RATE = 4;
/** @internal */
export const SUCCESS_RATE_LOCAL_ORIGIN = 5;
/** @internal */
export const FAILURE_PERCENTAGE = 6;
/** @internal */
export const FAILURE_PERCENTAGE_LOCAL_ORIGIN = 7;

/** Names by code (index 0 unused). @internal */
export const EJECTION_TYPES: readonly OutlierEjectionType[] = [
  "consecutive-5xx", // placeholder for 0, never read
  "consecutive-5xx",
  "consecutive-gateway-failure",
  "consecutive-local-origin-failure",
  "success-rate",
  "success-rate-local-origin",
  "failure-percentage",
  "failure-percentage-local-origin",
];

/** Bits `DetectorCounters.record` returns: which consecutive detectors reached their threshold. @internal */
export const TRIPPED_GATEWAY = 1;
/** @internal */
export const TRIPPED_5XX = 2;
/** @internal */
export const TRIPPED_LOCAL_ORIGIN = 4;

/**
 * Per-endpoint counters, in typed arrays indexed by slot: the three
 * consecutive counts, and this interval's requests and successes, from the
 * endpoint's answers (external origin) and, when split, from the connection
 * (local origin). Also the success rates the last sweep computed, for the
 * snapshot. @internal
 */
export class DetectorCounters {
  consecutive5xx = new Uint32Array(0);
  consecutiveGatewayFailure = new Uint32Array(0);
  consecutiveLocalOriginFailure = new Uint32Array(0);
  requests = new Uint32Array(0);
  successes = new Uint32Array(0);
  localRequests = new Uint32Array(0);
  localSuccesses = new Uint32Array(0);
  /** Last sweep's success rate (percent) of slots with enough volume for either detector; NaN otherwise. */
  successRate = new Float64Array(0);
  localSuccessRate = new Float64Array(0);

  /** Makes room for slots up to `capacity - 1`, keeping what is there. */
  grow(capacity: number): void {
    if (capacity <= this.requests.length) return;
    this.consecutive5xx = grown(this.consecutive5xx, capacity);
    this.consecutiveGatewayFailure = grown(this.consecutiveGatewayFailure, capacity);
    this.consecutiveLocalOriginFailure = grown(this.consecutiveLocalOriginFailure, capacity);
    this.requests = grown(this.requests, capacity);
    this.successes = grown(this.successes, capacity);
    this.localRequests = grown(this.localRequests, capacity);
    this.localSuccesses = grown(this.localSuccesses, capacity);
    this.successRate = grown(this.successRate, capacity);
    this.localSuccessRate = grown(this.localSuccessRate, capacity);
  }

  /** Starts a newcomer's counters from 0. */
  reset(slot: number): void {
    this.resetConsecutive(slot);
    this.requests[slot] = 0;
    this.successes[slot] = 0;
    this.localRequests[slot] = 0;
    this.localSuccesses[slot] = 0;
    this.successRate[slot] = Number.NaN;
    this.localSuccessRate[slot] = Number.NaN;
  }

  /** Clears the three consecutive counts (when an endpoint returns, as Envoy does, so a count near its threshold does not eject it again at once). */
  resetConsecutive(slot: number): void {
    this.consecutive5xx[slot] = 0;
    this.consecutiveGatewayFailure[slot] = 0;
    this.consecutiveLocalOriginFailure[slot] = 0;
  }

  /** Starts a new interval: the request and success counts of every slot back to 0. */
  newInterval(): void {
    this.requests.fill(0);
    this.successes.fill(0);
    this.localRequests.fill(0);
    this.localSuccesses.fill(0);
  }

  /**
   * Counts one outcome, as Envoy's router reports it to its detector, and
   * returns the `TRIPPED_*` bits of the consecutive detectors whose count
   * reached a threshold (a threshold of 0 never trips). O(1), no allocation.
   *
   * - `cancelled` and `abandoned` count for nothing.
   * - Not split: `connect` and `reset` count as a 503, `timeout` as a 504
   *   (gateway failures, hence also 5xx).
   * - Split: `connect`, `reset` and `timeout` are local-origin failures
   *   only; an answer is a local-origin success, then counts by its status.
   * - A status of 500..599 adds to the 5xx count, and 502, 503 and 504 to
   *   the gateway-failure count (another 5xx clears it); any other status,
   *   or none, clears both and is a success.
   */
  record(slot: number, outcome: Outcome, config: OutlierConfig): number {
    const failure = outcome.failure;
    let status: number;
    let tripped = 0;
    if (failure !== undefined) {
      if (failure === "cancelled" || failure === "abandoned") return 0;
      if (config.splitExternalLocalOriginErrors) {
        this.localRequests[slot] = (this.localRequests[slot] as number) + 1;
        const n = (this.consecutiveLocalOriginFailure[slot] as number) + 1;
        this.consecutiveLocalOriginFailure[slot] = n;
        return n === config.consecutiveLocalOriginFailure ? TRIPPED_LOCAL_ORIGIN : 0;
      }
      status = failure === "timeout" ? 504 : 503;
    } else {
      status = outcome.status ?? 200;
      if (config.splitExternalLocalOriginErrors) {
        this.localRequests[slot] = (this.localRequests[slot] as number) + 1;
        this.localSuccesses[slot] = (this.localSuccesses[slot] as number) + 1;
        this.consecutiveLocalOriginFailure[slot] = 0;
      }
    }
    this.requests[slot] = (this.requests[slot] as number) + 1;
    if (status >= 500 && status <= 599) {
      if (status >= 502 && status <= 504) {
        const n = (this.consecutiveGatewayFailure[slot] as number) + 1;
        this.consecutiveGatewayFailure[slot] = n;
        if (n === config.consecutiveGatewayFailure) tripped = TRIPPED_GATEWAY;
      } else {
        this.consecutiveGatewayFailure[slot] = 0;
      }
      const n = (this.consecutive5xx[slot] as number) + 1;
      this.consecutive5xx[slot] = n;
      if (n === config.consecutive5xx) tripped |= TRIPPED_5XX;
    } else {
      this.successes[slot] = (this.successes[slot] as number) + 1;
      this.consecutive5xx[slot] = 0;
      this.consecutiveGatewayFailure[slot] = 0;
    }
    return tripped;
  }
}

/** Mean and ejection threshold of a success-rate sweep, in percent. */
export interface SuccessRateStats {
  /** Mean success rate of the endpoints with enough requests. */
  readonly mean: number;
  /** mean − `successRateStdevFactor` × standard deviation: endpoints below it are outliers. */
  readonly threshold: number;
}

/** One outlier a sweep found: its host, the detector, its success rate (percent). @internal */
export interface Outlier {
  readonly host: Host;
  readonly type: number;
  readonly rate: number;
}

/** What one sweep of one origin found. @internal */
export interface SweepResult {
  /** The success-rate statistics, when enough endpoints had enough requests. */
  readonly successRate: SuccessRateStats | undefined;
  /** Success-rate outliers, worst first, then failure-percentage outliers, worst first. */
  readonly outliers: Outlier[];
}

/**
 * Envoy's success-rate and failure-percentage sweep over one interval's
 * counts, for the endpoints' answers or (`local`) their connections.
 * Endpoints already ejected are left out. An endpoint's success rate is
 * successes × 100 / requests. Success rate runs when at least
 * `successRateMinimumHosts` endpoints (and at least one) had
 * `successRateRequestVolume` requests: those below mean − factor × stdev
 * (population standard deviation) are outliers. Failure percentage runs
 * likewise with its own minimums: those whose failure percentage is at
 * least `failurePercentageThreshold` are outliers. Also writes each
 * endpoint's rate into `rates` (NaN when it had too few requests for
 * either). @internal
 */
export function sweep(
  hosts: readonly Host[],
  requests: Uint32Array,
  successes: Uint32Array,
  rates: Float64Array,
  ejected: Uint8Array,
  config: OutlierConfig,
  local: boolean,
): SweepResult {
  const srVolume = config.successRateRequestVolume;
  const fpVolume = config.failurePercentageRequestVolume;
  const srHosts: Outlier[] = [];
  const fpHosts: Outlier[] = [];
  let sum = 0;
  for (const host of hosts) {
    const slot = host.slot;
    rates[slot] = Number.NaN;
    const total = requests[slot] as number;
    if (ejected[slot] !== 0 || total === 0) continue;
    const rate = ((successes[slot] as number) * 100) / total;
    if (total >= Math.min(srVolume, fpVolume)) rates[slot] = rate;
    if (total >= srVolume) {
      srHosts.push({ host, type: local ? SUCCESS_RATE_LOCAL_ORIGIN : SUCCESS_RATE, rate });
      sum += rate;
    }
    if (total >= fpVolume)
      fpHosts.push({ host, type: local ? FAILURE_PERCENTAGE_LOCAL_ORIGIN : FAILURE_PERCENTAGE, rate });
  }
  let successRate: SuccessRateStats | undefined;
  const outliers: Outlier[] = [];
  if (srHosts.length > 0 && srHosts.length >= config.successRateMinimumHosts) {
    successRate = successRateStats(srHosts, sum, config.successRateStdevFactor);
    const threshold = successRate.threshold;
    outliers.push(...worstFirst(srHosts.filter((h) => h.rate < threshold)));
  }
  if (fpHosts.length > 0 && fpHosts.length >= config.failurePercentageMinimumHosts) {
    const threshold = config.failurePercentageThreshold;
    outliers.push(...worstFirst(fpHosts.filter((h) => 100 - h.rate >= threshold)));
  }
  return { successRate, outliers };
}

/** Mean and mean − factor × population standard deviation of the hosts' rates. */
function successRateStats(hosts: readonly Outlier[], sum: number, factor: number): SuccessRateStats {
  const mean = sum / hosts.length;
  let variance = 0;
  for (const h of hosts) variance += (h.rate - mean) ** 2;
  const stdev = Math.sqrt(variance / hosts.length);
  return { mean, threshold: mean - factor * stdev };
}

/** Lowest success rate first; ties keep the hosts' order (by endpoint id). */
function worstFirst(outliers: Outlier[]): Outlier[] {
  return outliers.sort((a, b) => a.rate - b.rate);
}
