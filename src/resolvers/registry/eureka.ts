import { InvalidConfigError, show } from "../../errors.js";
import { checkBoolean, checkOptions } from "../../options.js";
import type { LookupContext, RefreshAnswer } from "../refresh/answer.js";
import { refreshSettings } from "../refresh/options.js";
import { RegistryError } from "./error.js";
import { parseEurekaApplication } from "./eureka-apps.js";
import type { RegistryResolverOptions } from "./options.js";
import { baseUrls, checkText, registrySettings } from "./options.js";
import { RegistryResolver } from "./resolver.js";

/** Options of `eurekaResolver()`. */
export interface EurekaResolverOptions extends RegistryResolverOptions {
  /**
   * Eureka's service URL, as Spring's `eureka.client.serviceUrl.defaultZone`
   * writes it: the base that `apps/<APP>` is appended to
   * (`"http://eureka:8761/eureka"`; `"http://eureka:8080/eureka/v2"` for a
   * server under the `/eureka/v2` prefix), or several Eureka servers to
   * fail over between. Default `"http://127.0.0.1:8761/eureka"`.
   */
  servers?: string | readonly string[];
  /** The instance field used as the endpoint's host. Default `"ipAddr"`. */
  host?: "ipAddr" | "hostName";
  /**
   * An instance whose `securePort` is enabled is reached there, with
   * scheme `https`. Default true. False: on its `port` when that is
   * enabled (with the `scheme` option), on `securePort` only otherwise.
   */
  preferSecure?: boolean;
}

/**
 * Eureka discovery: the `UP` instances of an application, from
 * `GET <server>/apps/<APP>` with `Accept: application/json`, polled every
 * `intervalMs` (30 s by default, as Eureka's own clients poll; Eureka has
 * no blocking queries).
 *
 * - Endpoints: `ipAddr` (or `hostName`), `securePort` over https when
 *   enabled (or `port`), weight `metadata.weight` (default 100), zone
 *   `metadata.zone` or the Amazon availability zone, metadata from
 *   `metadata` (see `parseEurekaApplication`).
 * - `instance` may be an array or a single object: both are read.
 * - An application Eureka does not know is answered 404 (Eureka forgets
 *   an application when its last instance leaves): an empty answer,
 *   confirmed before it empties a non-empty set, as `ERR_REGISTRY_HTTP`
 *   with status 404.
 * - Several servers: a failed request is retried on the next one.
 */
export class EurekaResolver extends RegistryResolver {
  /** The application looked up, as given. */
  readonly app: string;
  readonly #host: "ipAddr" | "hostName";
  readonly #preferSecure: boolean;

  constructor(app: string, options?: EurekaResolverOptions) {
    const o = checkOptions<EurekaResolverOptions>(options, "eurekaResolver");
    const name = checkText(app, "app");
    if (name === undefined) throw new InvalidConfigError("app", "an application name is required");
    const host = o.host ?? "ipAddr";
    if (host !== "ipAddr" && host !== "hostName") {
      throw new InvalidConfigError("host", `must be "ipAddr" or "hostName", got ${show(o.host)}`);
    }
    const preferSecure = checkBoolean(o.preferSecure, "preferSecure", true);
    super({
      registry: "eureka",
      settings: registrySettings(o, `eureka:${name}`),
      refresh: refreshSettings(o),
      bases: baseUrls(o.servers, "servers", "http://127.0.0.1:8761/eureka"),
      headers: o.headers,
    });
    this.app = name;
    this.#host = host;
    this.#preferSecure = preferSecure;
  }

  protected async lookup(context: LookupContext): Promise<RefreshAnswer> {
    const response = await this.get({ path: `apps/${encodeURIComponent(this.app)}` }, context.signal);
    return parseEurekaApplication(
      response.body,
      { scheme: this.scheme, host: this.#host, preferSecure: this.#preferSecure },
      this.http.context(response.url),
    );
  }

  /** Eureka answers 404 for an application without instances: no instance, confirmed like an empty answer. */
  protected override isEmptyError(error: Error): boolean {
    return error instanceof RegistryError && error.code === "ERR_REGISTRY_HTTP" && error.status === 404;
  }
}

/**
 * Creates a `EurekaResolver` for application `app` (Eureka stores names in
 * upper case: `"API"`).
 *
 * @example
 * const resolver = eurekaResolver("API", { servers: ["http://eureka-1:8761/eureka", "http://eureka-2:8761/eureka"] });
 * const api = createUpstream({ name: "api", resolver });
 *
 * @throws InvalidConfigError on a missing application name or a bad option.
 */
export function eurekaResolver(app: string, options?: EurekaResolverOptions): EurekaResolver {
  return new EurekaResolver(app, options);
}
