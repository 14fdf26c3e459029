import { isIP } from "node:net";
import type { Endpoint } from "../../endpoint.js";
import { endpoint, MAX_WEIGHT } from "../../endpoint.js";
import { InvalidConfigError, show } from "../../errors.js";
import type { DnsFamily, ResolvedAddresses } from "./common.js";
import {
  AddressMemory,
  checkBoolean,
  checkDnsName,
  checkFamily,
  checkInteger,
  checkOptions,
  checkScheme,
  partialAnswerError,
  resolveAddresses,
} from "./common.js";
import type { DroppedRecord } from "./error.js";
import { DnsError, dnsErrorFrom } from "./error.js";
import type { DnsAnswer, DnsResolverOptions } from "./refresh.js";
import { DnsResolverBase } from "./refresh.js";
import type { SrvTarget } from "./srv-records.js";
import { sortDropped, splitWeights, srvEndpoints, srvRecordText, srvTargets } from "./srv-records.js";

/** Options of `dnsSrvResolver()`. */
export interface DnsSrvResolverOptions extends DnsResolverOptions {
  /** Service label: `"http"` looks up `_http._<protocol>.<name>`. Default: look up `name` as given. */
  service?: string;
  /** Protocol label used with `service`. Default `"tcp"`. */
  protocol?: string;
  /** Scheme of every endpoint (KrakenD `sd_scheme`). Default `"http"`. */
  scheme?: string;
  /**
   * Resolve each SRV target to its A/AAAA addresses (as Kong does): one
   * endpoint per address, with the record's port and priority, the record's
   * weight split across the target's addresses (see `splitWeights`: a
   * target's share stays its SRV weight), and `hostname` = the target for
   * TLS SNI and the `Host` header. Default false.
   */
  resolveTargets?: boolean;
  /** Address family of `resolveTargets`: 4, 6, or 0 for both. Default 0. */
  family?: DnsFamily;
  /** Weight of a weight-0 record beside records of weight > 0 in its priority (see `srvTargets`). Default 1. */
  zeroWeight?: number;
  /** At most this many target lookups at once with `resolveTargets`. Default 16. */
  concurrency?: number;
}

/**
 * DNS SRV discovery: KrakenD's `sd: "dns"`, done right. Looks up SRV
 * records with `node:dns` (optionally at the given `servers`, e.g. Consul DNS
 * on `127.0.0.1:8600`), maps each record to an endpoint with its target,
 * port, weight and priority (RFC 2782; weights not expanded, weight 0 per
 * `zeroWeight`), and refreshes on an interval or by TTL with jitter, keeping
 * the last good set through failures (see `DnsResolverBase`).
 *
 * `node:dns` does not report SRV TTLs: TTL mode follows the targets' A/AAAA
 * TTLs with `resolveTargets`, and the interval otherwise.
 */
export class DnsSrvResolver extends DnsResolverBase {
  /** The SRV name looked up, e.g. `"_http._tcp.api.service.consul"`. */
  readonly record: string;
  protected readonly recordName: string;
  protected readonly recordType = "SRV";
  readonly #scheme: string;
  readonly #resolveTargets: boolean;
  readonly #family: DnsFamily;
  readonly #zeroWeight: number;
  readonly #concurrency: number;
  readonly #memory = new AddressMemory();

  constructor(name: string, options?: DnsSrvResolverOptions) {
    const o = checkOptions<DnsSrvResolverOptions>(options, "dnsSrvResolver");
    const record = srvName(name, o);
    super(`dns-srv:${record}`, o);
    this.record = record;
    this.recordName = record;
    this.#scheme = checkScheme(o.scheme);
    this.#resolveTargets = checkBoolean(o.resolveTargets, "resolveTargets", false);
    this.#family = checkFamily(o.family);
    this.#zeroWeight = checkInteger(o.zeroWeight, "zeroWeight", 1, 0, MAX_WEIGHT);
    this.#concurrency = checkInteger(o.concurrency, "concurrency", 16, 1, 1024);
  }

  protected async lookup(): Promise<DnsAnswer> {
    let records: Awaited<ReturnType<typeof this.dns.resolveSrv>>;
    try {
      records = await this.dns.resolveSrv(this.record);
    } catch (error) {
      throw dnsErrorFrom(error, this.errorContext("SRV", this.record));
    }
    const mapping = { scheme: this.#scheme, zeroWeight: this.#zeroWeight };
    if (!this.#resolveTargets) return { ...srvEndpoints(records, mapping), ttl: undefined };
    const { targets, dropped } = srvTargets(records, mapping);
    return this.#resolveToAddresses(targets, dropped);
  }

  /**
   * One endpoint per address of each target, the target's weight split
   * across them (`splitWeights`). A target without addresses is dropped; a
   * target whose lookup fails in one family while the other answers is a
   * partial answer (reported after publishing); any other failure fails the
   * refresh.
   */
  async #resolveToAddresses(targets: readonly SrvTarget[], dropped: DroppedRecord[]): Promise<DnsAnswer> {
    const names = [...new Set(targets.map((t) => t.target))].filter((n) => isIP(n) === 0);
    this.#memory.keepOnly(new Set(names));
    const resolved = new Map<string, ResolvedAddresses | DnsError>();
    const lookup = { clock: this.clock, familyWaitMs: this.familyWaitMs, memory: this.#memory };
    let next = 0;
    let failed = false;
    const worker = async () => {
      while (!failed && next < names.length) {
        const name = names[next++] as string;
        try {
          resolved.set(
            name,
            await resolveAddresses(
              this.dns,
              name,
              this.#family,
              { resolver: this.name, servers: this.servers },
              lookup,
            ),
          );
        } catch (error) {
          const mapped = dnsErrorFrom(error, this.errorContext("A/AAAA", name));
          if (mapped.code !== "ERR_DNS_NOT_FOUND") {
            failed = true; // stop the other workers: this refresh has failed
            throw mapped;
          }
          resolved.set(name, mapped);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, names.length) }, worker));
    const usable: { target: SrvTarget; addresses: string[]; hostname: string | undefined }[] = [];
    let ttl: number | undefined;
    for (const t of targets) {
      const literal = isIP(t.target) !== 0;
      const found = literal ? { addresses: [t.target], ttl: undefined } : resolved.get(t.target);
      if (found === undefined || found instanceof DnsError) {
        dropped.push({ record: srvRecordText(t), reason: "target has no A/AAAA address" });
        continue;
      }
      if (found.ttl !== undefined) ttl = ttl === undefined ? found.ttl : Math.min(ttl, found.ttl);
      // Sorted, so the split does not depend on answer order; a repeated address counts once.
      const addresses = [...new Set(found.addresses)].sort();
      usable.push({ target: t, addresses, hostname: literal ? undefined : t.target });
    }
    const weights = splitWeights(
      usable.map((u) => ({ priority: u.target.priority, weight: u.target.weight, addresses: u.addresses.length })),
    );
    const endpoints: Endpoint[] = [];
    usable.forEach(({ target: t, addresses, hostname }, i) => {
      addresses.forEach((address, j) => {
        endpoints.push(
          endpoint({
            host: address,
            port: t.port,
            weight: weights[i]?.[j] ?? 0,
            priority: t.priority,
            scheme: this.#scheme,
            hostname,
          }),
        );
      });
    });
    const partials = [...resolved]
      .filter((entry): entry is [string, ResolvedAddresses] => !(entry[1] instanceof DnsError))
      .filter(([, r]) => r.failure !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, r]) => ({ name, resolved: r }));
    const partial =
      partials.length === 0
        ? undefined
        : partialAnswerError(
            {
              resolver: this.name,
              servers: this.servers,
              record: partials.length === 1 ? (partials[0]?.name as string) : this.record,
            },
            partials,
          );
    return { endpoints, dropped: sortDropped(dropped), ttl, partial };
  }
}

/**
 * Creates a `DnsSrvResolver` for `name` (`"_http._tcp.api.test"`, or
 * `"api.test"` with `service: "http"`).
 *
 * @example
 * const resolver = dnsSrvResolver("api.service.consul", { servers: "127.0.0.1:8600", scheme: "https" });
 * const api = createUpstream({ name: "api", resolver });
 *
 * @throws InvalidConfigError on a malformed name, servers string or option.
 */
export function dnsSrvResolver(name: string, options?: DnsSrvResolverOptions): DnsSrvResolver {
  return new DnsSrvResolver(name, options);
}

function srvName(name: string, options: DnsSrvResolverOptions): string {
  const base = checkDnsName(name, "name");
  if (options.service === undefined) {
    if (options.protocol !== undefined) throw new InvalidConfigError("protocol", "needs service");
    return base;
  }
  const label = (value: unknown, option: string) => {
    if (typeof value !== "string" || !/^_?[A-Za-z0-9][A-Za-z0-9-]{0,61}$/.test(value)) {
      throw new InvalidConfigError(option, `${show(value)} is not a valid service or protocol label`);
    }
    return value.startsWith("_") ? value.toLowerCase() : `_${value.toLowerCase()}`;
  };
  return checkDnsName(
    `${label(options.service, "service")}.${label(options.protocol ?? "tcp", "protocol")}.${base}`,
    "name",
  );
}
