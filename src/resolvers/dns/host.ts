import type { Endpoint } from "../../endpoint.js";
import { DEFAULT_WEIGHT, endpoint, MAX_WEIGHT } from "../../endpoint.js";
import { InvalidConfigError } from "../../errors.js";
import type { DnsFamily } from "./common.js";
import {
  AddressMemory,
  checkDnsName,
  checkFamily,
  checkInteger,
  checkOptions,
  checkScheme,
  partialAnswerError,
  resolveAddresses,
} from "./common.js";
import type { DnsAnswer, DnsResolverOptions } from "./refresh.js";
import { DnsResolverBase } from "./refresh.js";

/** Options of `dnsHostResolver()`. */
export interface DnsHostResolverOptions extends DnsResolverOptions {
  /** Port of every endpoint, 1..65535. Required. */
  port: number;
  /** 4 (A records), 6 (AAAA) or 0 (both, as `dns.lookup`). Default 0. */
  family?: DnsFamily;
  /** Scheme of every endpoint. Default `"http"`. */
  scheme?: string;
  /** Weight of every endpoint. Default 100. */
  weight?: number;
  /** Priority of every endpoint. Default 0. */
  priority?: number;
}

/**
 * A/AAAA discovery (asked for by KrakenD users): every address of `name` is an
 * endpoint on `port`, with `hostname` = `name` for TLS SNI and the `Host`
 * header. Refreshes on an interval or by the records' TTL, with jitter, and
 * keeps the last good set through failures (see `DnsResolverBase`). With
 * family 0, a name with only A or only AAAA records is fine, and a family
 * whose lookup fails while the other answers does not fail the refresh: the
 * answer is published (with that family's addresses of its last answer) and
 * an `ERR_DNS_PARTIAL` error reported after it.
 */
export class DnsHostResolver extends DnsResolverBase {
  /** The name looked up. */
  readonly host: string;
  protected readonly recordName: string;
  protected readonly recordType: string;
  readonly #port: number;
  readonly #family: DnsFamily;
  readonly #scheme: string;
  readonly #weight: number;
  readonly #priority: number;
  readonly #memory = new AddressMemory();

  constructor(name: string, options: DnsHostResolverOptions) {
    const host = checkDnsName(name, "name");
    if (options === undefined || options === null) throw new InvalidConfigError("port", "dnsHostResolver needs a port");
    checkOptions(options, "dnsHostResolver");
    super(`dns-host:${host}`, options);
    this.host = host;
    this.recordName = host;
    this.#family = checkFamily(options.family);
    this.recordType = this.#family === 4 ? "A" : this.#family === 6 ? "AAAA" : "A/AAAA";
    this.#port = checkInteger(options.port, "port", undefined, 1, 65535);
    this.#scheme = checkScheme(options.scheme);
    this.#weight = checkInteger(options.weight, "weight", DEFAULT_WEIGHT, 0, MAX_WEIGHT);
    this.#priority = checkInteger(options.priority, "priority", 0, 0, Number.MAX_SAFE_INTEGER);
  }

  protected async lookup(): Promise<DnsAnswer> {
    const context = { resolver: this.name, servers: this.servers };
    const resolved = await resolveAddresses(this.dns, this.host, this.#family, context, {
      clock: this.clock,
      familyWaitMs: this.familyWaitMs,
      memory: this.#memory,
    });
    const { addresses, ttl } = resolved;
    const endpoints: Endpoint[] = addresses.map((address) =>
      endpoint({
        host: address,
        port: this.#port,
        weight: this.#weight,
        priority: this.#priority,
        scheme: this.#scheme,
        hostname: this.host,
      }),
    );
    const partial =
      resolved.failure === undefined
        ? undefined
        : partialAnswerError({ ...context, record: this.host }, [{ name: this.host, resolved }]);
    return { endpoints, dropped: [], ttl, partial };
  }
}

/**
 * Creates a `DnsHostResolver` for `name` on `port`.
 *
 * @example
 * const resolver = dnsHostResolver("api.internal", { port: 8080, family: 4 });
 * const api = createUpstream({ name: "api", resolver });
 *
 * @throws InvalidConfigError on a malformed name, port, servers string or option.
 */
export function dnsHostResolver(name: string, options: DnsHostResolverOptions): DnsHostResolver {
  return new DnsHostResolver(name, options);
}
