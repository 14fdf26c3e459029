import type { Endpoint, EndpointInput } from "../../endpoint.js";
import { InvalidConfigError, show } from "../../errors.js";
import { checkOptions } from "../../options.js";
import type { DroppedRecord, LookupContext, RefreshAnswer } from "../refresh/answer.js";
import { refreshSettings } from "../refresh/options.js";
import type { RegistryErrorContext } from "./error.js";
import { RegistryError } from "./error.js";
import { describe, InstanceList, isObject } from "./instances.js";
import type { RegistryResolverOptions } from "./options.js";
import { baseUrls, registrySettings } from "./options.js";
import { RegistryResolver } from "./resolver.js";

/** What a `jsonResolver` mapping returns: one entry per instance, as `staticResolver` takes them. */
export type JsonInstance = string | EndpointInput;

/** Options of `jsonResolver()`. */
export interface JsonResolverOptions extends RegistryResolverOptions {
  /**
   * Turns the registry's JSON body into instances: `"host:port"` strings
   * (`"https://host:port"`) or endpoint objects (`{ host, port, weight,
   * priority, tags, metadata, zone }`). Required. It may throw: the refresh
   * fails with `ERR_REGISTRY_MAPPING` and the last good set stays.
   */
  map: (body: unknown) => readonly JsonInstance[];
}

/**
 * Discovery from any HTTP endpoint that answers JSON, for registries
 * switchyard has no adapter for: GET the URL every `intervalMs`, hand the
 * body to your `map` function, publish what it returns. Several URLs
 * serving the same list are failed over between, as Consul agents are.
 *
 * - Conditional requests: the answer's `ETag` / `Last-Modified` are sent
 *   back (`If-None-Match` / `If-Modified-Since`); a 304 re-announces the
 *   last answer without reading a body.
 * - Each instance is validated as `endpoint()` validates; bad ones are
 *   dropped and reported (`ERR_REGISTRY_INVALID_INSTANCE`), the good ones
 *   published. The same `host:port` twice is one endpoint (the higher
 *   weight kept).
 * - Everything else is the registries' shared behaviour: retries with
 *   backoff, the last good set kept, an empty answer confirmed, the size
 *   cap, the deadline, credentials only in headers.
 */
export class JsonResolver extends RegistryResolver {
  readonly #map: (body: unknown) => readonly JsonInstance[];
  #last: RefreshAnswer | undefined;

  constructor(url: string | readonly string[], options: JsonResolverOptions) {
    if (options === undefined || options === null) {
      throw new InvalidConfigError("map", "jsonResolver needs a map function (body => instances)");
    }
    const o = checkOptions<JsonResolverOptions>(options, "jsonResolver");
    if (typeof o.map !== "function") {
      throw new InvalidConfigError("map", `must be a function (body => instances), got ${show(o.map)}`);
    }
    const bases = baseUrls(url, "url", undefined, true);
    const base = bases.urls[0] as URL;
    super({
      registry: "json",
      settings: registrySettings(o, `json:${base.host}${base.pathname}`),
      refresh: refreshSettings(o),
      bases,
      headers: o.headers,
    });
    this.#map = o.map;
  }

  protected async lookup(context: LookupContext): Promise<RefreshAnswer> {
    try {
      return await this.#lookup(context.signal);
    } catch (error) {
      // A 304 must only ever stand for an answer that was read: ask for the whole one next time.
      this.http.forgetValidators();
      throw error;
    }
  }

  async #lookup(signal: AbortSignal): Promise<RefreshAnswer> {
    const response = await this.get({ path: "", conditional: true }, signal);
    if (response.notModified) {
      if (this.#last !== undefined) return this.#last;
      throw this.answerError("ERR_REGISTRY_BODY", "304 Not Modified, but no answer was read before");
    }
    this.#last = undefined;
    let mapped: unknown;
    try {
      mapped = this.#map(response.body);
    } catch (error) {
      const why = error instanceof Error ? error.message : describe(error);
      throw new RegistryError(
        "ERR_REGISTRY_MAPPING",
        this.http.context(response.url),
        this.http.redact(`map threw: ${why}`),
        {
          cause: error,
        },
      );
    }
    const answer = jsonInstances(mapped, this.scheme, this.http.context(response.url));
    this.#last = answer;
    return answer;
  }
}

/**
 * Reads what a `jsonResolver` mapping returned: an array of `"host:port"`
 * strings or endpoint objects. Each entry is validated as `endpoint()`
 * validates (`scheme` for strings without one); one that fails is dropped
 * with its reason; the same `host:port` twice is one endpoint (the higher
 * weight kept). Throws only for `mapped` that is not an array:
 * `ERR_REGISTRY_MAPPING`.
 */
export function jsonInstances(
  mapped: unknown,
  scheme: string,
  context: RegistryErrorContext,
): { endpoints: Endpoint[]; dropped: DroppedRecord[] } {
  if (!Array.isArray(mapped)) {
    throw new RegistryError(
      "ERR_REGISTRY_MAPPING",
      context,
      `map returned ${describe(mapped)}, not an array of instances`,
    );
  }
  const list = new InstanceList(scheme, (i) => jsonRecord(mapped[i], i));
  for (let i = 0; i < mapped.length; i++) {
    const entry: unknown = mapped[i];
    if (typeof entry !== "string" && !isObject(entry)) list.drop(i, `${describe(entry)} is not a string or an object`);
    else list.add(i, entry as JsonInstance);
  }
  return list.result();
}

/** An instance as the dropped list shows it: `instance "a:1"`, `instance 2 ("10.0.0.1", port 80)`. */
function jsonRecord(entry: unknown, i: number): string {
  if (typeof entry === "string") return `instance ${describe(entry)}`;
  return isObject(entry) ? `instance ${i} (${describe(entry.host)}, port ${describe(entry.port)})` : `instance ${i}`;
}

/**
 * Creates a `JsonResolver` polling `url` (or several URLs serving the same
 * list, to fail over between) and mapping its JSON with `options.map`.
 *
 * @example
 * const resolver = jsonResolver("https://registry.internal/services/api", {
 *   map: (body) => (body as { nodes: { ip: string; port: number }[] }).nodes.map((n) => ({ host: n.ip, port: n.port })),
 *   headers: { authorization: `Bearer ${process.env.REGISTRY_TOKEN}` },
 * });
 *
 * @throws InvalidConfigError on a bad URL, a missing `map`, or a bad option.
 */
export function jsonResolver(url: string | readonly string[], options: JsonResolverOptions): JsonResolver {
  return new JsonResolver(url, options);
}
