import type { EndpointInput } from "../endpoint.js";
import { endpointList } from "../endpoint.js";
import { InvalidArgumentError } from "../errors.js";
import { Resolver } from "../resolver.js";

/**
 * A resolver driven by hand, for tests: `push()` announces a set, `error()`
 * reports a failure, exactly as a real resolver would. Nothing happens until
 * you call them, so a test controls every update an upstream sees.
 *
 * @example
 * const resolver = new ManualResolver();
 * const upstream = createUpstream({ name: "api", resolver });
 * resolver.push(["10.0.0.1:80"]);
 * resolver.error(new ResolverError("manual", "registry down")); // last good set kept
 */
export class ManualResolver extends Resolver {
  readonly name: string;
  /** How many times `start()` ran `onStart` (0 or 1). */
  starts = 0;

  constructor(name = "manual") {
    super();
    this.name = name;
  }

  /**
   * Announces a complete set; returns false when it equals the previous one
   * (nothing emitted). Listeners get the set, and after the first one the
   * delta from the previous set. The list is validated as a static
   * resolver's: entries with the same id add their weights and must agree
   * in everything else.
   *
   * @throws InvalidArgumentError (`argument: "endpoints"`) when `endpoints` is
   * not an array; InvalidEndpointError naming the index of a bad entry. Either
   * way nothing is announced.
   */
  push(endpoints: readonly (string | EndpointInput)[]): boolean {
    return this.publish(endpointList(endpoints, undefined, "endpoints"));
  }

  /**
   * Announces a change, as a watch-based resolver does (`publishChanges()`):
   * `removals` (ids) leave, then `upserts` join or replace the endpoint with
   * their id (entries of `upserts` with the same id add their weights, as in
   * `push()`). Listeners get the new set and the delta. Returns false when
   * nothing changed.
   *
   * @throws InvalidArgumentError when `removals` is not an array of strings;
   * InvalidEndpointError for a bad entry of `upserts`. Nothing is announced.
   */
  change(upserts: readonly (string | EndpointInput)[], removals: readonly string[] = []): boolean {
    const list = endpointList(upserts, undefined, "upserts");
    if (!Array.isArray(removals) || removals.some((id) => typeof id !== "string")) {
      throw new InvalidArgumentError("removals", "must be an array of endpoint ids");
    }
    return this.publishChanges(list, removals);
  }

  /** Reports a failed resolution. */
  error(error: Error): void {
    this.fail(error);
  }

  protected onStart(): void {
    this.starts++;
  }
}
