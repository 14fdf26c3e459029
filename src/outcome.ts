/**
 * Why an attempt got no response: `connect` (the connection was refused or
 * could not be made), `reset` (it broke after connecting), `timeout` (no
 * answer in time), `cancelled` (the caller gave up: not the endpoint's
 * fault), `abandoned` (never ended, reclaimed by the upstream after its
 * attempt timeout).
 */
export type FailureKind = "connect" | "reset" | "timeout" | "cancelled" | "abandoned";

/**
 * What happened to one attempt against an endpoint, as given to
 * `Upstream.end()` or `Upstream.report()`: raw facts, which each consumer
 * (counters, health plug-ins, load metrics) reads its own way.
 */
export interface Outcome {
  /** HTTP status, when a response arrived. */
  readonly status?: number;
  /** Set when no response arrived. */
  readonly failure?: FailureKind;
  /**
   * Time from sending to the response (or failure), in milliseconds. When
   * omitted, `end()` computes it from the attempt's start.
   */
  readonly latencyMs?: number;
}

/**
 * The default reading of an outcome: a failure when the endpoint did not
 * answer (connect, reset, timeout) or answered 5xx (Envoy's consecutive_5xx
 * reading). A cancelled or abandoned attempt is not the endpoint's failure.
 */
export function isFailure(outcome: Outcome): boolean {
  const f = outcome.failure;
  if (f !== undefined) return f !== "cancelled" && f !== "abandoned";
  return outcome.status !== undefined && outcome.status >= 500;
}
