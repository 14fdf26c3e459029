import type { Endpoint } from "../../endpoint.js";

/** A record left out of an endpoint set, and why. */
export interface DroppedRecord {
  /**
   * The record as the source wrote it, shortened: `"SRV 10 5 0 a.example.test"`,
   * `"Service.ID web-1 (10.0.0.1:0)"`, `"target a.test:99999"`.
   */
  readonly record: string;
  /** Why it was dropped, e.g. `"port 0"`. */
  readonly reason: string;
}

/** One refresh's answer, as a resolver reports it to the refresh loop. */
export interface RefreshAnswer {
  /** Every usable endpoint of the answer. */
  readonly endpoints: readonly Endpoint[];
  /** Records that could not become endpoints. */
  readonly dropped: readonly DroppedRecord[];
  /** Smallest TTL of the answer, seconds, when the source reports one (TTL mode). */
  readonly ttl?: number | undefined;
  /**
   * Delay before the next refresh, ms, before jitter and the rate limit,
   * when the resolver decides it (0 for the next blocking query of a
   * long-polling registry). Default: the interval, or the TTL in TTL mode.
   */
  readonly delayMs?: number | undefined;
  /**
   * An error reported after the endpoints are published (DNS: one address
   * family failed while the other answered).
   */
  readonly partial?: Error | undefined;
  /**
   * Exactly what changed since the resolver's last answer, when it knows (a
   * watch): the loop then publishes the change (`publishChanges()`, applied
   * in O(changed)) rather than the whole set, and reads `endpoints` only
   * when `size` is 0 or nothing was published yet (make it a getter to keep
   * an event O(changed)).
   */
  readonly changes?: AnswerChanges | undefined;
}

/** `RefreshAnswer.changes`: the endpoints that joined or changed, the ids that left, and the set's size after. */
export interface AnswerChanges {
  readonly upserts: readonly Endpoint[];
  readonly removals: readonly string[];
  /** How many endpoints the set holds with the change applied. */
  readonly size: number;
}

/** What the refresh loop tells a resolver about the lookup it asks for. */
export interface LookupContext {
  /** Aborts when the resolver closes. */
  readonly signal: AbortSignal;
  /**
   * True while an empty answer is being confirmed: a long-polling resolver
   * asks without blocking, so the confirmation comes after
   * `confirmEmptyDelayMs`, not after a whole wait.
   */
  readonly confirming: boolean;
}
