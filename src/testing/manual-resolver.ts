import type { EndpointInput } from "../endpoint.js";
import { endpoint } from "../endpoint.js";
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

  /** Announces a complete set; returns false when it equals the previous one (nothing emitted). */
  push(endpoints: readonly (string | EndpointInput)[]): boolean {
    return this.publish(endpoints.map((e) => endpoint(e)));
  }

  /** Reports a failed resolution. */
  error(error: Error): void {
    this.fail(error);
  }

  protected onStart(): void {
    this.starts++;
  }
}
