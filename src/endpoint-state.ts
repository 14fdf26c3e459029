import type { Host } from "./balancer.js";
import type { Endpoint } from "./endpoint.js";
import type { Outcome } from "./outcome.js";
import { isFailure } from "./outcome.js";

/** Counters an upstream keeps per endpoint, across resolver updates. */
export interface EndpointStats {
  /** Outcomes reported. */
  readonly requests: number;
  /** Of those, failures (see `isFailure`). */
  readonly failures: number;
  /** Failures since the last success. */
  readonly consecutiveFailures: number;
  /** Latency of the last outcome that had one, in ms. */
  readonly lastLatencyMs: number | undefined;
}

/**
 * The upstream's live record of one endpoint, keyed by its id. It outlives a
 * change of the endpoint's weight or metadata: a resolver refresh does not
 * reset its counters or health.
 */
export class EndpointState implements Host, EndpointStats {
  /** The current version of the endpoint (replaced when its weight or metadata change). */
  endpoint: Endpoint;
  /** Clock time when the endpoint joined the upstream. */
  readonly addedAt: number;
  /** A manual override set by `Upstream.setHealth()`, or undefined. */
  manualHealth: boolean | undefined;
  requests = 0;
  failures = 0;
  consecutiveFailures = 0;
  lastLatencyMs: number | undefined;
  /** Update round in which the resolver last listed this endpoint (upstream bookkeeping). */
  seen = 0;

  constructor(endpoint: Endpoint, addedAt: number) {
    this.endpoint = endpoint;
    this.addedAt = addedAt;
  }

  /** Whether the endpoint may take traffic. */
  get healthy(): boolean {
    return this.manualHealth ?? true;
  }

  /** Counts one outcome. */
  record(outcome: Outcome): void {
    this.requests++;
    if (isFailure(outcome)) {
      this.failures++;
      this.consecutiveFailures++;
    } else {
      this.consecutiveFailures = 0;
    }
    if (outcome.latencyMs !== undefined) this.lastLatencyMs = outcome.latencyMs;
  }
}
