import { InvalidArgumentError, InvalidConfigError, UnknownServiceError } from "./errors.js";
import { Upstream } from "./upstream/upstream.js";

/** A registered service: its upstream and its tags. */
export interface ServiceEntry {
  readonly name: string;
  readonly tags: readonly string[];
  readonly upstream: Upstream;
}

/**
 * The in-process directory of services: upstreams registered by name with
 * tags (`v1`, `core`...), looked up by name or by tags — Kong's
 * `GET /services/{name}` and `GET /services?tags=core`, without the network
 * hop.
 *
 * @example
 * const registry = new ServiceRegistry();
 * registry.register(createUpstream({ name: "user-service", resolver }), { tags: ["v1", "core"] });
 * registry.get("user-service").pick();
 * registry.byTags("core"); // every core service
 */
export class ServiceRegistry {
  readonly #entries = new Map<string, ServiceEntry>();

  /**
   * Registers `upstream` under its name.
   * @throws InvalidConfigError when the name is already registered or the
   * tags are not an array of strings; InvalidArgumentError when `upstream`
   * is not an `Upstream`.
   */
  register(upstream: Upstream, options: { tags?: readonly string[] } = {}): ServiceEntry {
    if (!(upstream instanceof Upstream))
      throw new InvalidArgumentError("upstream", "must be an Upstream (createUpstream())");
    if (typeof options !== "object" || options === null) {
      throw new InvalidArgumentError("options", "must be an object { tags? }");
    }
    if (this.#entries.has(upstream.name)) {
      throw new InvalidConfigError("name", `a service named "${upstream.name}" is already registered`);
    }
    const tags = options.tags ?? [];
    if (!Array.isArray(tags) || tags.some((t) => typeof t !== "string")) {
      throw new InvalidConfigError("tags", "must be an array of strings");
    }
    const entry: ServiceEntry = Object.freeze({ name: upstream.name, tags: Object.freeze([...tags]), upstream });
    this.#entries.set(upstream.name, entry);
    return entry;
  }

  /** Removes a service without closing its upstream; returns it, if it was registered. */
  unregister(name: string): Upstream | undefined {
    const entry = this.#entries.get(name);
    this.#entries.delete(name);
    return entry?.upstream;
  }

  /**
   * The upstream registered as `name`.
   * @throws UnknownServiceError when there is none.
   */
  get(name: string): Upstream {
    if (typeof name !== "string") throw new InvalidArgumentError("name", "must be a service name (a string)");
    const entry = this.#entries.get(name);
    if (entry === undefined) throw new UnknownServiceError(name);
    return entry.upstream;
  }

  /** The upstream registered as `name`, or `undefined`. */
  find(name: string): Upstream | undefined {
    return this.#entries.get(name)?.upstream;
  }

  /** True when a service is registered as `name`. */
  has(name: string): boolean {
    return this.#entries.has(name);
  }

  /** Services carrying every one of `tags`, in registration order. */
  byTags(...tags: string[]): ServiceEntry[] {
    return [...this.#entries.values()].filter((e) => tags.every((t) => e.tags.includes(t)));
  }

  /** Every registered service, in registration order. */
  services(): ServiceEntry[] {
    return [...this.#entries.values()];
  }

  /** Closes every registered upstream and empties the registry. */
  async close(): Promise<void> {
    const upstreams = [...this.#entries.values()].map((e) => e.upstream);
    this.#entries.clear();
    await Promise.all(upstreams.map((u) => u.close()));
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
