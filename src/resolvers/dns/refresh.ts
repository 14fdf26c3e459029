import { Resolver as NodeDnsResolver } from "node:dns/promises";
import { MAX_DELAY } from "../../clock.js";
import { InvalidConfigError, show } from "../../errors.js";
import { checkName } from "../../options.js";
import type { DroppedRecord, LookupContext, RefreshAnswer } from "../refresh/answer.js";
import type { RefreshOptions } from "../refresh/options.js";
import { refreshSettings } from "../refresh/options.js";
import { RefreshingResolver } from "../refresh/refreshing-resolver.js";
import { checkInteger, checkInterval, checkNumber, checkOptions, parseServers } from "./common.js";
import type { DnsErrorContext } from "./error.js";
import { DnsError } from "./error.js";

/**
 * Options shared by `dnsSrvResolver()` and `dnsHostResolver()`: where to ask,
 * how often, and how to ride out failures (the refresh options every
 * refreshing resolver shares, plus DNS's own).
 */
export interface DnsResolverOptions extends RefreshOptions {
  /**
   * DNS servers to ask instead of the system's: `"127.0.0.1:8600"` (Consul
   * DNS), `"10.96.0.10"` (port 53), `"[::1]:53"`, or an array. Default: the
   * system resolver configuration.
   */
  servers?: string | readonly string[];
  /** `"interval"` (default, as KrakenD) or `"ttl"`: follow the answer's TTL within `minTtlMs`..`maxTtlMs`. */
  refresh?: "interval" | "ttl";
  /** TTL mode: floor of the refresh delay, ms (a TTL of 0 refreshes this often). Default 1,000. */
  minTtlMs?: number;
  /** TTL mode: ceiling of the refresh delay, ms. Default 300,000. */
  maxTtlMs?: number;
  /** Per-query timeout of `node:dns`, ms, at most 2^31 - 1. Default 2,000. */
  timeoutMs?: number;
  /** Tries per query inside `node:dns` (c-ares) before it reports a timeout. Default 2. */
  tries?: number;
  /**
   * With `family` 0 (`dnsHostResolver`, or `dnsSrvResolver` with
   * `resolveTargets`): once one address family has answered with addresses,
   * wait at most this long (ms) for the other before publishing without it
   * (reported as a partial `ERR_DNS_TIMEOUT`). 0 waits for nothing more.
   * Default 500.
   */
  familyWaitMs?: number;
  /** Name used in errors and snapshots. Default `"dns-srv:<record>"` / `"dns-host:<name>"`. */
  name?: string;
}

/** One lookup's result, as a subclass reports it to the refresh loop. */
export interface DnsAnswer extends RefreshAnswer {
  /** Smallest TTL of the answer, seconds, when `node:dns` reports one. */
  readonly ttl: number | undefined;
  /**
   * An `ERR_DNS_PARTIAL` error when one address family failed while the
   * other answered: the endpoints are published, then this is reported.
   */
  readonly partial?: DnsError | undefined;
}

/**
 * The DNS resolvers' base: their options, their `node:dns` resolver and
 * their errors, over the refresh loop every polling resolver shares
 * (`RefreshingResolver`: interval or TTL refresh with jitter, retries with
 * backoff on the injected clock, the last good set kept through any error,
 * an empty answer confirmed before it empties a service).
 *
 * - An empty answer is NXDOMAIN, NODATA or only SRV target `"."`
 *   (`ERR_DNS_NOT_FOUND`), confirmed `confirmEmpty` times before it is
 *   applied.
 * - The first lookup failing makes `Upstream.ready()` reject with the error,
 *   which names the record and the servers; lookups go on at the interval.
 * - `close()` also cancels in-flight queries (`dns.Resolver#cancel()`).
 */
export abstract class DnsResolverBase extends RefreshingResolver {
  /** The DNS servers asked, as `node:dns` `getServers()` lists them (port 53 left out). */
  readonly servers: readonly string[];
  /** The `node:dns` resolver used for every query. */
  protected readonly dns: NodeDnsResolver;
  /** Family 0: how long to wait for the second family once the first has answered (`familyWaitMs`). */
  protected readonly familyWaitMs: number;

  protected constructor(defaultName: string, options: DnsResolverOptions | undefined) {
    const o = checkOptions<DnsResolverOptions>(options, "DNS resolver");
    const name = checkName(o.name, defaultName);
    if (o.refresh !== undefined && o.refresh !== "interval" && o.refresh !== "ttl") {
      throw new InvalidConfigError("refresh", `must be "interval" or "ttl", got ${show(o.refresh)}`);
    }
    const minTtlMs = checkInterval(o.minTtlMs, "minTtlMs", 1_000);
    const maxTtlMs = checkInterval(o.maxTtlMs, "maxTtlMs", 300_000);
    const settings = refreshSettings(o, { mode: o.refresh ?? "interval", minTtlMs, maxTtlMs });
    // node:dns takes a 32-bit timeout and throws a RangeError above it.
    const timeout = checkInterval(o.timeoutMs, "timeoutMs", 2_000, MAX_DELAY);
    const tries = checkInteger(o.tries, "tries", 2, 1, 10);
    const familyWaitMs = checkNumber(o.familyWaitMs, "familyWaitMs", 500, 0, Number.MAX_SAFE_INTEGER);
    const dns = new NodeDnsResolver({ timeout: Math.ceil(timeout), tries });
    if (o.servers !== undefined) {
      const servers = parseServers(o.servers);
      try {
        dns.setServers(servers);
      } catch (cause) {
        throw new InvalidConfigError("servers", `rejected by node:dns: ${(cause as Error).message}`);
      }
    }
    super(name, settings);
    this.dns = dns;
    this.familyWaitMs = familyWaitMs;
    this.servers = dns.getServers();
  }

  /** One lookup, throwing a `DnsError` on failure. Called by the loop, retried by it. */
  protected abstract override lookup(context?: LookupContext): Promise<DnsAnswer>;

  /** The context for errors about `record` of type `rrtype`. */
  protected errorContext(rrtype: string, record: string): DnsErrorContext {
    return { resolver: this.name, rrtype, record, servers: this.servers };
  }

  /** The name looked up, used in messages about the whole answer. */
  protected abstract readonly recordName: string;
  /** The record type looked up (`"SRV"`, `"A/AAAA"`), used in messages. */
  protected abstract readonly recordType: string;

  protected override async onClose(): Promise<void> {
    const stopping = super.onClose(); // cancels the timer and aborts retry sleeps at once
    this.dns.cancel();
    await stopping;
  }

  protected retryable(error: Error): boolean {
    return error instanceof DnsError && error.retryable;
  }

  protected override isEmptyError(error: Error): boolean {
    return error instanceof DnsError && error.code === "ERR_DNS_NOT_FOUND";
  }

  protected emptyAnswerError(): Error {
    const context = this.errorContext(this.recordType, this.recordName);
    return new DnsError("ERR_DNS_NOT_FOUND", context, 'service not available (only target ".")');
  }

  protected unconfirmedEmptyError(error: Error, kept: number, left: number): Error {
    const e = error as DnsError;
    return new DnsError(
      e.code,
      this.errorContext(e.rrtype, e.record),
      `${e.detail}; keeping the last good set of ${kept} endpoint(s) until ${left} more lookup(s) confirm the empty answer`,
      { cause: e, dnsCode: e.dnsCode },
    );
  }

  protected invalidRecordsError(dropped: readonly DroppedRecord[]): Error {
    const list = dropped.map((d) => `${d.record} (${d.reason})`).join("; ");
    return new DnsError(
      "ERR_DNS_INVALID_RECORD",
      this.errorContext(this.recordType, this.recordName),
      `${dropped.length} record(s) dropped: ${list}`,
      { dropped },
    );
  }
}
