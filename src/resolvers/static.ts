import type { Endpoint, EndpointInput } from "../endpoint.js";
import { endpointList, normalizeScheme } from "../endpoint.js";
import { InvalidConfigError, show } from "../errors.js";
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
 *
 * Entries that share an id (`host:port`) are one endpoint whose weight is the
 * sum of theirs (`["a:1", "a:1", "b:1"]` gives `a:1` two thirds of the
 * traffic, as in KrakenD); they must agree in everything but weight, so
 * `"http://a:80"` with `"https://a:80"` is an error, never a silent loss.
 */
export class StaticResolver extends Resolver {
  readonly name: string;
  readonly #scheme: string;
  #pending: readonly Endpoint[];

  /**
   * @throws InvalidArgumentError when `hosts` is not an array.
   * @throws InvalidEndpointError on a bad entry (see `set()`).
   * @throws InvalidConfigError on bad options.
   */
  constructor(hosts: readonly StaticHost[], options?: StaticResolverOptions) {
    super();
    const { name, scheme } = checkOptions(options);
    this.name = name;
    this.#scheme = scheme;
    this.#pending = this.#parse(hosts);
  }

  /**
   * Replaces the whole host list. Validates every entry first; on bad input
   * it throws and the current list stays in force (before `start()`: the
   * list `start()` will publish):
   * - `InvalidArgumentError` (`argument: "hosts"`) when `hosts` is not an array;
   * - `InvalidEndpointError` naming the index of a bad entry (`hosts[2]: ...`,
   *   a hole included), or the two entries that share an id but differ in
   *   scheme, priority, hostname, zone, tags or metadata, or the entry that
   *   takes an id's summed weight above 65535.
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
    return endpointList(hosts, { scheme: this.#scheme }, "hosts");
  }
}

function checkOptions(options: unknown): { name: string; scheme: string } {
  if (options === undefined) return { name: "static", scheme: "http" };
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new InvalidConfigError("options", `must be an object, got ${options === null ? "null" : typeof options}`);
  }
  const { name, scheme } = options as StaticResolverOptions;
  if (name != null && (typeof name !== "string" || name === "")) {
    throw new InvalidConfigError("name", `must be a non-empty string, got ${show(name)}`);
  }
  const checked = scheme == null ? "http" : normalizeScheme(scheme);
  if (checked === undefined) {
    throw new InvalidConfigError("scheme", `must be a URL scheme such as "http" or "https", got ${show(scheme)}`);
  }
  return { name: name ?? "static", scheme: checked };
}

/**
 * Creates a `StaticResolver` over `hosts`.
 *
 * @throws InvalidArgumentError, InvalidEndpointError, InvalidConfigError: see `StaticResolver`.
 *
 * @example
 * const resolver = staticResolver(["http://10.0.0.1:8080", { host: "10.0.0.2", port: 8080, weight: 50 }]);
 */
export function staticResolver(hosts: readonly StaticHost[], options?: StaticResolverOptions): StaticResolver {
  return new StaticResolver(hosts, options);
}
