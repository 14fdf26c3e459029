import type { EndpointTable } from "../upstream/table.js";

/**
 * How loaded an endpoint is, for load-aware balancers (tower's `Load`): the
 * metric is separate from the algorithm that compares loads, so a
 * power-of-two-choices picker works the same over requests in flight, Peak
 * EWMA latency, or a user's own metric.
 *
 * A metric keeps its state in the upstream's `EndpointTable` (`inFlight`,
 * `loadEstimate`, `loadStamp`, `lastLatencyMs`, `lastEndedAt`), never in
 * objects, so reading and updating it allocates nothing.
 *
 * @example
 * // Fewest failures since the last success: a metric of one's own.
 * const consecutiveFailures: LoadMetric = {
 *   name: "consecutive-failures",
 *   load: (table, slot) => table.consecutiveFailures[slot] ?? 0,
 * };
 */
export interface LoadMetric {
  /** The metric's name, e.g. `"in-flight"` or `"peak-ewma"`. */
  readonly name: string;
  /** The slot's load now; lower is less loaded. Called at pick time: O(1), no allocation. */
  load(table: EndpointTable, slot: number): number;
  /**
   * An attempt on `slot` ended: its latency is in `table.lastLatencyMs[slot]`
   * and its end time in `table.lastEndedAt[slot]`. Update the slot's state
   * columns here. `failed` says whether the attempt failed (`isFailure()`:
   * a 5xx, a connection failure, a timeout). Optional: a metric read
   * straight off the table needs none.
   */
  update?(table: EndpointTable, slot: number, failed: boolean): void;
}

/** Requests in flight (tower's `PendingRequests`, Envoy least request's active requests): `table.inFlight[slot]`. */
export function inFlightLoad(): LoadMetric {
  return {
    name: "in-flight",
    load: (table, slot) => table.inFlight[slot] as number,
  };
}
