import { InvalidConfigError, show } from "../../errors.js";
import { checkDelay, checkInteger, checkKnownOptions } from "../../options.js";
import type { StatusSet } from "../http-statuses.js";
import { KONG_PASSIVE_HEALTHY, KONG_PASSIVE_UNHEALTHY, statusSet } from "../http-statuses.js";
import { MAX_COUNT } from "./counters.js";

/**
 * Options of `passiveHealthChecks()`: Kong's `healthchecks.passive.*` fields
 * in camelCase, with Kong's defaults, plus the ejection time Kong lacks
 * (Kong never lets a passively ejected target back by itself).
 */
export interface PassiveHealthChecksOptions {
  /** The plug-in's name: its ejection reason and snapshot section. Default `"passive-health"`. */
  name?: string;
  /** What counts as a success (Kong `passive.healthy`). */
  healthy?: {
    /**
     * Successes that make an endpoint on probation healthy again (Kong
     * `passive.healthy.successes`, default 0: then one success does). 0..255.
     */
    successes?: number;
    /** Statuses that count as successes (Kong `passive.healthy.http_statuses`). Default 200–208, 226, 300–308. */
    httpStatuses?: readonly number[];
  };
  /** What counts as a failure, and how many eject (Kong `passive.unhealthy`). A count of 0 turns that counter off. */
  unhealthy?: {
    /** Responses with a status in `httpStatuses` that eject (Kong `passive.unhealthy.http_failures`). Default 0 (off). 0..255. */
    httpFailures?: number;
    /** Connections refused or reset that eject (Kong `passive.unhealthy.tcp_failures`). Default 0 (off). 0..255. */
    tcpFailures?: number;
    /** Timeouts that eject (Kong `passive.unhealthy.timeouts`). Default 0 (off). 0..255. */
    timeouts?: number;
    /** Statuses that count as HTTP failures (Kong `passive.unhealthy.http_statuses`). Default 429, 500, 503. */
    httpStatuses?: readonly number[];
  };
  /**
   * How long an ejected endpoint is kept out before it is let back on
   * probation, ms. Default 30,000 (Envoy outlier detection's
   * `base_ejection_time`). Each ejection in a row (ejected again from
   * probation) adds as much again, up to `maxEjectionMs`.
   */
  ejectionMs?: number;
  /** The longest ejection, ms. Default 300,000 (Envoy's `max_ejection_time`), or `ejectionMs` if larger. */
  maxEjectionMs?: number;
}

const FACTORY = "passiveHealthChecks()";
/** The option names (a Kong field name such as `tcp_failures` is refused, naming `tcpFailures`). */
const TOP = ["name", "healthy", "unhealthy", "ejectionMs", "maxEjectionMs"];
const HEALTHY = ["successes", "httpStatuses"];
const UNHEALTHY = ["httpFailures", "tcpFailures", "timeouts", "httpStatuses"];

/** Validated options of `passiveHealthChecks()`. @internal */
export interface PassiveConfig {
  readonly name: string;
  readonly successes: number;
  readonly healthyStatuses: StatusSet;
  readonly httpFailures: number;
  readonly tcpFailures: number;
  readonly timeouts: number;
  readonly unhealthyStatuses: StatusSet;
  readonly ejectionMs: number;
  readonly maxEjectionMs: number;
}

/**
 * Checks `passiveHealthChecks()` options and fills in the defaults.
 * @throws InvalidConfigError naming the option (e.g. `unhealthy.tcpFailures`).
 * @internal
 */
export function passiveConfig(options: unknown): PassiveConfig {
  const o = checkKnownOptions<PassiveHealthChecksOptions>(options, FACTORY, TOP);
  const name = o.name ?? "passive-health";
  if (typeof name !== "string" || name === "") {
    throw new InvalidConfigError("name", `must be a non-empty string, got ${show(name)}`);
  }
  const healthy = checkKnownOptions<Record<string, unknown>>(o.healthy, FACTORY, HEALTHY, "healthy");
  const unhealthy = checkKnownOptions<Record<string, unknown>>(o.unhealthy, FACTORY, UNHEALTHY, "unhealthy");
  const ejectionMs = checkDelay(o.ejectionMs, "ejectionMs", 30_000);
  const maxEjectionMs = checkDelay(o.maxEjectionMs, "maxEjectionMs", Math.max(300_000, ejectionMs));
  if (maxEjectionMs < ejectionMs) {
    throw new InvalidConfigError("maxEjectionMs", `must be >= ejectionMs (${ejectionMs}), got ${maxEjectionMs}`);
  }
  return {
    name,
    successes: count("healthy.successes", healthy.successes),
    healthyStatuses: statusSet("healthy.httpStatuses", healthy.httpStatuses, KONG_PASSIVE_HEALTHY),
    httpFailures: count("unhealthy.httpFailures", unhealthy.httpFailures),
    tcpFailures: count("unhealthy.tcpFailures", unhealthy.tcpFailures),
    timeouts: count("unhealthy.timeouts", unhealthy.timeouts),
    unhealthyStatuses: statusSet("unhealthy.httpStatuses", unhealthy.httpStatuses, KONG_PASSIVE_UNHEALTHY),
    ejectionMs,
    maxEjectionMs,
  };
}

function count(option: string, value: unknown): number {
  return checkInteger(value, option, 0, 0, MAX_COUNT);
}
