import { InvalidArgumentError, show } from "./errors.js";

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

const FAILURE_KINDS: ReadonlySet<unknown> = new Set(["connect", "reset", "timeout", "cancelled", "abandoned"]);

/**
 * Checks an outcome given to `end()` or `report()`: an object whose
 * `status` is an integer HTTP status (100..599), `failure` a `FailureKind`
 * and `latencyMs` a finite number >= 0, each when present. Throws
 * `InvalidArgumentError` otherwise. A few comparisons, no allocation.
 */
export function checkOutcome(outcome: Outcome): void {
  if (typeof outcome !== "object" || outcome === null) {
    throw new InvalidArgumentError("outcome", "must be an object { status?, failure?, latencyMs? }");
  }
  const { status, failure, latencyMs } = outcome;
  if (status !== undefined && !(Number.isInteger(status) && status >= 100 && status <= 599)) {
    throw new InvalidArgumentError(
      "outcome.status",
      `must be an HTTP status, an integer in 100..599, got ${show(status)}`,
    );
  }
  if (failure !== undefined && !FAILURE_KINDS.has(failure)) {
    throw new InvalidArgumentError(
      "outcome.failure",
      `must be "connect", "reset", "timeout", "cancelled" or "abandoned", got ${show(failure)}`,
    );
  }
  if (
    latencyMs !== undefined &&
    !(typeof latencyMs === "number" && latencyMs >= 0 && latencyMs < Number.POSITIVE_INFINITY)
  ) {
    throw new InvalidArgumentError("outcome.latencyMs", `must be a finite number >= 0, got ${show(latencyMs)}`);
  }
}

/**
 * The default reading of an outcome: a failure when the endpoint did not
 * answer (connect, reset, timeout) or answered 5xx (Envoy's consecutive_5xx
 * reading). A cancelled or abandoned attempt is not the endpoint's failure.
 * @throws InvalidArgumentError for an outcome that is not one (`checkOutcome`).
 */
export function isFailure(outcome: Outcome): boolean {
  checkOutcome(outcome);
  const f = outcome.failure;
  if (f !== undefined) return f !== "cancelled" && f !== "abandoned";
  return outcome.status !== undefined && outcome.status >= 500;
}
