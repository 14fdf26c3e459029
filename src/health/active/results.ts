/**
 * What active health checks report: probe results, health changes, and the
 * plain-data views for `snapshot()`. Every shape is JSON-safe.
 * @module
 */

/** An endpoint's health as active checks see it (Kong's HEALTHY / UNHEALTHY). */
export type ActiveHealthState = "healthy" | "unhealthy";

/**
 * Why a probe failed, as Kong counts it: `"tcp"` (the connection was refused
 * or reset, a name did not resolve, the TLS handshake or certificate check
 * failed: `unhealthy.tcpFailures`), `"timeout"` (no status line within
 * `timeoutMs`: `unhealthy.timeouts`), `"http"` (the answer was not a valid
 * HTTP response, Kong's status 0: `unhealthy.httpFailures`).
 */
export type ActiveProbeFailure = "tcp" | "timeout" | "http";

/**
 * One probe's result. An HTTP probe that got a response has `status`; a
 * probe that failed has `failure` and `error`; a TCP probe that connected
 * has neither.
 */
export interface ActiveProbeResult {
  /** The response's status (http, https). */
  readonly status?: number;
  /** Why it failed. */
  readonly failure?: ActiveProbeFailure;
  /** The error's code (`ECONNREFUSED`, `DEPTH_ZERO_SELF_SIGNED_CERT`, `HPE_INVALID_CONSTANT`...) or message. */
  readonly error?: string;
  /** Clock time the probe ended, ms. */
  readonly atMs: number;
}

/** An endpoint turned healthy or unhealthy, as `onHealthChange` gets it. */
export interface ActiveHealthChange {
  readonly from: ActiveHealthState;
  readonly to: ActiveHealthState;
  /** Clock time of the change, ms. */
  readonly at: number;
  /** The probe that made the change. */
  readonly probe: ActiveProbeResult;
}

/**
 * One endpoint's active health, for `snapshot().endpoints[i].plugins[name]`
 * (Kong's counters, 0..255 each).
 */
export interface ActiveEndpointHealth {
  readonly state: ActiveHealthState;
  /** Clock time of the last change of `state` (or the time the endpoint joined), ms. */
  readonly since: number;
  /** Successes counted toward `healthy.successes`. */
  readonly successes: number;
  /** HTTP failures counted toward `unhealthy.httpFailures`. */
  readonly httpFailures: number;
  /** TCP failures counted toward `unhealthy.tcpFailures`. */
  readonly tcpFailures: number;
  /** Timeouts counted toward `unhealthy.timeouts`. */
  readonly timeouts: number;
  /** The last probe's result, once there was one. */
  readonly lastProbe?: ActiveProbeResult;
}

/** The plug-in's section of `snapshot().plugins`. */
export interface ActiveHealthSummary {
  /** Endpoints in the set that are healthy (drained ones included). */
  readonly healthy: number;
  /** Endpoints in the set that are unhealthy (drained ones included). */
  readonly unhealthy: number;
  /** Probes in flight now (at most `concurrency`). */
  readonly inFlight: number;
  /** Probes due and waiting for a place. */
  readonly queued: number;
  /** Probes that ended since the plug-in started. */
  readonly probes: number;
}
