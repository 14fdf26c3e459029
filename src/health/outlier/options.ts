import { InvalidConfigError, show } from "../../errors.js";
import { checkBoolean, checkDelay, checkInteger, checkKnownOptions, checkNumber } from "../../options.js";

/**
 * Options of `outlierDetection()`: Envoy's `outlier_detection` fields in
 * camelCase, durations in ms, with Envoy's defaults. A consecutive threshold
 * of 0 turns that detector off; an `enforcing*` percentage is the chance
 * that a detected outlier is ejected (0: detected and counted, never
 * ejected).
 */
export interface OutlierDetectionOptions {
  /** The plug-in's name: its ejection reason and snapshot section. Default `"outlier-detection"`. */
  name?: string;
  /** Time between ejection sweeps: success rate and failure percentage, returns, decay (`interval`). Default 10,000. */
  intervalMs?: number;
  /** Ejection time for a first ejection; the n-th in a row is n times as long (`base_ejection_time`). Default 30,000. */
  baseEjectionTimeMs?: number;
  /** The longest ejection time (`max_ejection_time`). Default 300,000, or `baseEjectionTimeMs` if larger. */
  maxEjectionTimeMs?: number;
  /** A random 0..this ms added to each ejection time, so endpoints ejected together return apart (`max_ejection_time_jitter`). Default 0. */
  maxEjectionTimeJitterMs?: number;
  /** At most this percent of the endpoints ejected at once (`max_ejection_percent`). Default 10. */
  maxEjectionPercent?: number;
  /**
   * One endpoint may be ejected whatever `maxEjectionPercent` says, when none
   * is (`always_eject_one_host`). Default **true** (Envoy's older rule and
   * gRPC's A50; current Envoy defaults to false): with the default 10% and
   * fewer than 10 endpoints, false means nothing is ever ejected.
   */
  alwaysEjectOneHost?: boolean;
  /** 5xx answers in a row that eject (`consecutive_5xx`); connect, reset and timeout count as 5xx unless split. Default 5. */
  consecutive5xx?: number;
  /** Percent chance a consecutive-5xx outlier is ejected (`enforcing_consecutive_5xx`). Default 100. */
  enforcingConsecutive5xx?: number;
  /** 502/503/504 answers in a row that eject (`consecutive_gateway_failure`); connect, reset, timeout count unless split. Default 5. */
  consecutiveGatewayFailure?: number;
  /** Percent chance a gateway-failure outlier is ejected (`enforcing_consecutive_gateway_failure`). Default 0. */
  enforcingConsecutiveGatewayFailure?: number;
  /**
   * Count local-origin failures (connect, reset, timeout) apart from the
   * endpoint's answers (`split_external_local_origin_errors`). Default false.
   */
  splitExternalLocalOriginErrors?: boolean;
  /** Local-origin failures in a row that eject, when split (`consecutive_local_origin_failure`). Default 5. */
  consecutiveLocalOriginFailure?: number;
  /** Percent chance a local-origin outlier is ejected (`enforcing_consecutive_local_origin_failure`). Default 100. */
  enforcingConsecutiveLocalOriginFailure?: number;
  /** Endpoints with enough requests in an interval for success rate to run (`success_rate_minimum_hosts`). Default 5. */
  successRateMinimumHosts?: number;
  /** Requests an endpoint needs in an interval to count for success rate (`success_rate_request_volume`). Default 100. */
  successRateRequestVolume?: number;
  /** Ejects below mean − factor × stdev of the success rates (`success_rate_stdev_factor`, here 1.9, not 1900). Default 1.9. */
  successRateStdevFactor?: number;
  /** Percent chance a success-rate outlier is ejected (`enforcing_success_rate`). Default 100. */
  enforcingSuccessRate?: number;
  /** Same, for local-origin success rate when split (`enforcing_local_origin_success_rate`). Default 100. */
  enforcingLocalOriginSuccessRate?: number;
  /** Ejects an endpoint whose failure percentage in an interval is at least this (`failure_percentage_threshold`). Default 85. */
  failurePercentageThreshold?: number;
  /** Endpoints with enough requests in an interval for failure percentage to run (`failure_percentage_minimum_hosts`). Default 5. */
  failurePercentageMinimumHosts?: number;
  /** Requests an endpoint needs in an interval to count for failure percentage (`failure_percentage_request_volume`). Default 50. */
  failurePercentageRequestVolume?: number;
  /** Percent chance a failure-percentage outlier is ejected (`enforcing_failure_percentage`). Default 0. */
  enforcingFailurePercentage?: number;
  /** Same, for local-origin failures when split (`enforcing_failure_percentage_local_origin`). Default 0. */
  enforcingFailurePercentageLocalOrigin?: number;
}

/** Validated `OutlierDetectionOptions`, every default filled in. @internal */
export interface OutlierConfig {
  readonly name: string;
  readonly intervalMs: number;
  readonly baseEjectionTimeMs: number;
  readonly maxEjectionTimeMs: number;
  readonly maxEjectionTimeJitterMs: number;
  readonly maxEjectionPercent: number;
  readonly alwaysEjectOneHost: boolean;
  readonly consecutive5xx: number;
  readonly consecutiveGatewayFailure: number;
  readonly splitExternalLocalOriginErrors: boolean;
  readonly consecutiveLocalOriginFailure: number;
  readonly successRateMinimumHosts: number;
  readonly successRateRequestVolume: number;
  readonly successRateStdevFactor: number;
  readonly failurePercentageThreshold: number;
  readonly failurePercentageMinimumHosts: number;
  readonly failurePercentageRequestVolume: number;
  /** Enforcing percentages by ejection type code (see detectors.ts); index 0 unused. */
  readonly enforcing: Float64Array;
}

/** A count option (threshold, hosts, volume): an integer >= 0. */
const MAX_COUNT = 2 ** 32 - 1;

/** The option names (an Envoy field name such as `base_ejection_time` is refused, naming `baseEjectionTimeMs`). */
const OPTIONS = [
  "name",
  "intervalMs",
  "baseEjectionTimeMs",
  "maxEjectionTimeMs",
  "maxEjectionTimeJitterMs",
  "maxEjectionPercent",
  "alwaysEjectOneHost",
  "consecutive5xx",
  "enforcingConsecutive5xx",
  "consecutiveGatewayFailure",
  "enforcingConsecutiveGatewayFailure",
  "splitExternalLocalOriginErrors",
  "consecutiveLocalOriginFailure",
  "enforcingConsecutiveLocalOriginFailure",
  "successRateMinimumHosts",
  "successRateRequestVolume",
  "successRateStdevFactor",
  "enforcingSuccessRate",
  "enforcingLocalOriginSuccessRate",
  "failurePercentageThreshold",
  "failurePercentageMinimumHosts",
  "failurePercentageRequestVolume",
  "enforcingFailurePercentage",
  "enforcingFailurePercentageLocalOrigin",
];

/**
 * Checks `outlierDetection()` options and fills in Envoy's defaults.
 * @throws InvalidConfigError naming the option.
 * @internal
 */
export function outlierConfig(options: unknown): OutlierConfig {
  const o = checkKnownOptions<OutlierDetectionOptions>(options, "outlierDetection()", OPTIONS);
  const name = o.name ?? "outlier-detection";
  if (typeof name !== "string" || name === "") {
    throw new InvalidConfigError("name", `must be a non-empty string, got ${show(name)}`);
  }
  const intervalMs = checkDelay(o.intervalMs, "intervalMs", 10_000);
  if (intervalMs === 0) throw new InvalidConfigError("intervalMs", "must be > 0");
  const baseEjectionTimeMs = checkDelay(o.baseEjectionTimeMs, "baseEjectionTimeMs", 30_000);
  if (baseEjectionTimeMs === 0) throw new InvalidConfigError("baseEjectionTimeMs", "must be > 0");
  const maxEjectionTimeMs = checkDelay(o.maxEjectionTimeMs, "maxEjectionTimeMs", Math.max(300_000, baseEjectionTimeMs));
  if (maxEjectionTimeMs < baseEjectionTimeMs) {
    throw new InvalidConfigError(
      "maxEjectionTimeMs",
      `must be >= baseEjectionTimeMs (${baseEjectionTimeMs}), got ${maxEjectionTimeMs}`,
    );
  }
  const enforcing = new Float64Array(8);
  enforcing[1] = checkNumber(o.enforcingConsecutive5xx, "enforcingConsecutive5xx", 100, 0, 100);
  enforcing[2] = checkNumber(o.enforcingConsecutiveGatewayFailure, "enforcingConsecutiveGatewayFailure", 0, 0, 100);
  enforcing[3] = checkNumber(
    o.enforcingConsecutiveLocalOriginFailure,
    "enforcingConsecutiveLocalOriginFailure",
    100,
    0,
    100,
  );
  enforcing[4] = checkNumber(o.enforcingSuccessRate, "enforcingSuccessRate", 100, 0, 100);
  enforcing[5] = checkNumber(o.enforcingLocalOriginSuccessRate, "enforcingLocalOriginSuccessRate", 100, 0, 100);
  enforcing[6] = checkNumber(o.enforcingFailurePercentage, "enforcingFailurePercentage", 0, 0, 100);
  enforcing[7] = checkNumber(
    o.enforcingFailurePercentageLocalOrigin,
    "enforcingFailurePercentageLocalOrigin",
    0,
    0,
    100,
  );
  const factor = o.successRateStdevFactor ?? 1.9;
  if (typeof factor !== "number" || !(factor >= 0 && factor < Number.POSITIVE_INFINITY)) {
    throw new InvalidConfigError("successRateStdevFactor", `must be a finite number >= 0, got ${show(factor)}`);
  }
  return {
    name,
    intervalMs,
    baseEjectionTimeMs,
    maxEjectionTimeMs,
    maxEjectionTimeJitterMs: checkDelay(o.maxEjectionTimeJitterMs, "maxEjectionTimeJitterMs", 0),
    maxEjectionPercent: checkNumber(o.maxEjectionPercent, "maxEjectionPercent", 10, 0, 100),
    alwaysEjectOneHost: checkBoolean(o.alwaysEjectOneHost, "alwaysEjectOneHost", true),
    consecutive5xx: count("consecutive5xx", o.consecutive5xx, 5),
    consecutiveGatewayFailure: count("consecutiveGatewayFailure", o.consecutiveGatewayFailure, 5),
    splitExternalLocalOriginErrors: checkBoolean(
      o.splitExternalLocalOriginErrors,
      "splitExternalLocalOriginErrors",
      false,
    ),
    consecutiveLocalOriginFailure: count("consecutiveLocalOriginFailure", o.consecutiveLocalOriginFailure, 5),
    successRateMinimumHosts: count("successRateMinimumHosts", o.successRateMinimumHosts, 5),
    successRateRequestVolume: count("successRateRequestVolume", o.successRateRequestVolume, 100),
    successRateStdevFactor: factor,
    failurePercentageThreshold: checkNumber(o.failurePercentageThreshold, "failurePercentageThreshold", 85, 0, 100),
    failurePercentageMinimumHosts: count("failurePercentageMinimumHosts", o.failurePercentageMinimumHosts, 5),
    failurePercentageRequestVolume: count("failurePercentageRequestVolume", o.failurePercentageRequestVolume, 50),
    enforcing,
  };
}

function count(option: string, value: unknown, fallback: number): number {
  return checkInteger(value, option, fallback, 0, MAX_COUNT);
}
