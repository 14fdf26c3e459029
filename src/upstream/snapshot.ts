import type { Endpoint } from "../endpoint.js";
import type { PriorityLevel } from "./priority-options.js";

/** Counters an upstream keeps per endpoint, across resolver updates; `Upstream.stats()` returns a copy. */
export interface EndpointStats {
  /** Outcomes counted: ended attempts and reports (abandoned attempts are counted apart). */
  readonly requests: number;
  /** Of those, failures (see `isFailure`). */
  readonly failures: number;
  /** Failures since the last success. */
  readonly consecutiveFailures: number;
  /** Latency of the last outcome that had one, in ms. */
  readonly lastLatencyMs: number | undefined;
  /** Attempts begun and not yet ended. */
  readonly inFlight: number;
  /** Attempts reclaimed as abandoned after the attempt timeout. */
  readonly abandoned: number;
}

/** Health of one endpoint in a snapshot (Kong's target health words). */
export type EndpointHealth = "HEALTHY" | "UNHEALTHY" | "DRAINED";

/** An operator's override of an endpoint's eligibility (`Upstream.override()`). */
export type EndpointOverride = "up" | "down";

/** One endpoint in `Upstream.snapshot()`. */
export interface EndpointSnapshot extends EndpointStats {
  readonly endpoint: Endpoint;
  /** `DRAINED` for weight 0, `UNHEALTHY` when ejected or forced down, else `HEALTHY`. */
  readonly health: EndpointHealth;
  /** Names of the plug-ins whose ejection reason is set on it, in plug-in order. */
  readonly ejections: readonly string[];
  /** The operator override in force, if any. */
  readonly override: EndpointOverride | undefined;
  /** Each plug-in's view of the endpoint, by plug-in name (only plug-ins that describe endpoints). */
  readonly plugins: Readonly<Record<string, unknown>>;
}

/** An error as plain data, so `JSON.stringify(snapshot())` keeps what it says. */
export interface ErrorSummary {
  /** The error's class name, e.g. `"DnsError"`. */
  readonly name: string;
  /** Its stable `code` (`ERR_DNS_TIMEOUT`...), when it has one. */
  readonly code: string | undefined;
  readonly message: string;
}

/**
 * A point-in-time view of an upstream, shaped after Kong's
 * `GET /upstreams/{name}/health`: plain data, so `JSON.stringify()` keeps
 * all of it (plug-in sections are whatever their `describe()` returns).
 */
export interface UpstreamSnapshot {
  readonly name: string;
  readonly balancer: string;
  readonly resolver: string;
  /** True once the resolver produced a good set. */
  readonly resolved: boolean;
  /**
   * The last error the resolver reported, until its next successful
   * resolution, as plain data (`Upstream.lastResolverError` is the error itself).
   */
  readonly lastResolverError: ErrorSummary | undefined;
  /** Every endpoint in the set, sorted by id. */
  readonly endpoints: readonly EndpointSnapshot[];
  /** Priority levels, lowest first, with their whole-percent load and panic state. */
  readonly levels: readonly PriorityLevel[];
  /** Kong's `data.weight`: total weight, and the part that can take traffic. */
  readonly weight: { readonly total: number; readonly available: number; readonly unavailable: number };
  /** Attempts in flight now, and attempts reclaimed as abandoned since the upstream started. */
  readonly attempts: { readonly inFlight: number; readonly abandoned: number };
  /** Each plug-in's own section, by plug-in name. */
  readonly plugins: Readonly<Record<string, unknown>>;
}
