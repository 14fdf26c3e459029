import type { Endpoint, EndpointInput } from "../endpoint.js";
import { endpoint } from "../endpoint.js";
import { Resolver } from "../resolver.js";

/** Options of `staticResolver()`. */
export interface StaticResolverOptions {
  /** Scheme for hosts written without one (KrakenD `sd_scheme`). Default `"http"`. */
  scheme?: string;
  /** Name used in errors and events. Default `"static"`. */
  name?: string;
}

/** One entry of a static host list: a URL-like string or an endpoint object. */
export type StaticHost = string | EndpointInput;

/**
 * A fixed host list (KrakenD `sd: "static"` with `host[]` and `sd_scheme`),
 * replaceable at run time with `set()`: shift weights 100/0 → 80/20 → 0/100
 * for a Kong-style blue-green or canary rollout.
 */
export class StaticResolver extends Resolver {
  readonly name: string;
  readonly #scheme: string;
  #pending: readonly Endpoint[];

  constructor(hosts: readonly StaticHost[], options: StaticResolverOptions = {}) {
    super();
    this.name = options.name ?? "static";
    this.#scheme = options.scheme ?? "http";
    this.#pending = this.#parse(hosts);
  }

  /**
   * Replaces the whole host list. Validates every entry first: on bad input it
   * throws `InvalidEndpointError` and the current list stays in force.
   */
  set(hosts: readonly StaticHost[]): void {
    const parsed = this.#parse(hosts);
    this.#pending = parsed;
    if (this.endpoints !== undefined) this.publish(parsed);
  }

  protected onStart(): void {
    this.publish(this.#pending);
  }

  #parse(hosts: readonly StaticHost[]): readonly Endpoint[] {
    if (!Array.isArray(hosts)) throw new TypeError("staticResolver: hosts must be an array");
    return hosts.map((h) => endpoint(h, { scheme: this.#scheme }));
  }
}

/**
 * Creates a `StaticResolver` over `hosts`.
 *
 * @example
 * const resolver = staticResolver(["http://10.0.0.1:8080", { host: "10.0.0.2", port: 8080, weight: 50 }]);
 */
export function staticResolver(hosts: readonly StaticHost[], options?: StaticResolverOptions): StaticResolver {
  return new StaticResolver(hosts, options);
}
