/**
 * What happened to one attempt against an endpoint, as reported to
 * `Upstream.report()`, which counts it per endpoint (`stats()`, `snapshot()`).
 */
export interface Outcome {
  /** HTTP status, when a response arrived. */
  readonly status?: number;
  /** Set when no response arrived: the connection failed, or the attempt timed out. */
  readonly failure?: "connect" | "timeout";
  /** Time from sending to the response (or failure), in milliseconds. */
  readonly latencyMs?: number;
}

/**
 * The default reading of an outcome: a failure when no response arrived or
 * the status is 5xx (Envoy's consecutive_5xx reading).
 */
export function isFailure(outcome: Outcome): boolean {
  return outcome.failure !== undefined || (outcome.status !== undefined && outcome.status >= 500);
}
