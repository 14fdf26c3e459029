import { Resolver as NodeDnsResolver } from "node:dns/promises";
import type { Options as RetryOptions } from "p-retry";
import pRetry from "p-retry";
import type { Clock, Timer } from "../../clock.js";
import { MAX_DELAY, sleep, systemClock } from "../../clock.js";
import type { Endpoint } from "../../endpoint.js";
import { ClosedError, InvalidConfigError, show } from "../../errors.js";
import type { Random } from "../../random.js";
import { systemRandom } from "../../random.js";
import { Resolver } from "../../resolver.js";
import {
  checkClock,
  checkInteger,
  checkInterval,
  checkNumber,
  checkOptions,
  checkRandom,
  parseServers,
} from "./common.js";
import type { DnsErrorContext, DroppedRecord } from "./error.js";
import { DnsError } from "./error.js";

/**
 * Options shared by `dnsSrvResolver()` and `dnsHostResolver()`: where to ask,
 * how often, and how to ride out failures.
 */
export interface DnsResolverOptions {
  /**
   * DNS servers to ask instead of the system's: `"127.0.0.1:8600"` (Consul
   * DNS), `"10.96.0.10"` (port 53), `"[::1]:53"`, or an array. Default: the
   * system resolver configuration.
   */
  servers?: string | readonly string[];
  /** `"interval"` (default, as KrakenD) or `"ttl"`: follow the answer's TTL within `minTtlMs`..`maxTtlMs`. */
  refresh?: "interval" | "ttl";
  /** Fixed refresh interval, ms (KrakenD `dns_cache_ttl`). Also used in TTL mode when no TTL is known. Default 30,000. */
  intervalMs?: number;
  /** TTL mode: floor of the refresh delay, ms (a TTL of 0 refreshes this often). Default 1,000. */
  minTtlMs?: number;
  /** TTL mode: ceiling of the refresh delay, ms. Default 300,000. */
  maxTtlMs?: number;
  /** Every delay is shortened by up to this fraction at random, so a fleet does not poll in lock step. Default 0.1. */
  jitter?: number;
  /** Per-query timeout of `node:dns`, ms, at most 2^31 - 1. Default 2,000. */
  timeoutMs?: number;
  /** Tries per query inside `node:dns` (c-ares) before it reports a timeout. Default 2. */
  tries?: number;
  /** Retries of a failed lookup (timeout, SERVFAIL, REFUSED, connection error) within one refresh. Default 2. */
  retries?: number;
  /** Delay before the first retry, ms; doubled for each further one (exponential backoff). Default 1,000. */
  retryDelayMs?: number;
  /** Ceiling of the retry delay, ms. Default 10,000. */
  maxRetryDelayMs?: number;
  /**
   * How many further lookups must also come back empty (NXDOMAIN, NODATA,
   * only target ".") before an empty answer replaces a non-empty set. 0
   * applies it at once. Default 2.
   */
  confirmEmpty?: number;
  /** Delay before each confirming lookup, ms. Default 5,000. */
  confirmEmptyDelayMs?: number;
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
  /** Time source for refresh timers and retry delays. Default the system clock. */
  clock?: Clock;
  /** Randomness for jitter. Default `Math.random`. */
  random?: Random;
}

/** One lookup's result, as a subclass reports it to the refresh loop. */
export interface DnsAnswer {
  /** Every usable endpoint of the answer. */
  readonly endpoints: readonly Endpoint[];
  /** Records that could not become endpoints. */
  readonly dropped: readonly DroppedRecord[];
  /** Smallest TTL of the answer, seconds, when `node:dns` reports one. */
  readonly ttl: number | undefined;
  /**
   * An `ERR_DNS_PARTIAL` error when one address family failed while the
   * other answered: the endpoints are published, then this is reported.
   */
  readonly partial?: DnsError | undefined;
}

/**
 * The refresh loop shared by the DNS resolvers: look up, publish, schedule
 * the next lookup; retry failures with backoff; keep the last good set on any
 * error; confirm an empty answer before it empties a service.
 *
 * - Refresh: every `intervalMs` (KrakenD: 30 s), or by TTL clamped to
 *   `minTtlMs`..`maxTtlMs`; every delay jittered downwards by up to `jitter`.
 *   The first lookup runs at `start()`.
 * - Retries use p-retry (its attempt counting and `shouldRetry`) with
 *   p-retry's own timer off (`minTimeout: 0`): the exponential backoff delay
 *   (`retryDelayMs` × 2^n, capped at `maxRetryDelayMs`, jittered) is slept on
 *   the injected `Clock` in `onFailedAttempt`, so tests drive retries with a
 *   `ManualClock` and nothing waits on a real timer it cannot cancel.
 * - After the retries, the error is emitted (a `DnsError`), the set stays, and
 *   the next refresh runs at the usual time (TTL mode: the last known TTL).
 * - An empty answer after a non-empty set is emitted as `ERR_DNS_NOT_FOUND`
 *   and re-checked `confirmEmpty` times, `confirmEmptyDelayMs` apart, before
 *   the empty set is published: a DNS glitch does not empty a service.
 * - The first lookup failing makes `Upstream.ready()` reject with the error,
 *   which names the record and the servers; lookups go on at the interval.
 * - `close()` cancels the timer, aborts retry sleeps, cancels in-flight
 *   queries (`dns.Resolver#cancel()`), and waits for the loop to stop.
 */
export abstract class DnsResolverBase extends Resolver {
  readonly name: string;
  /** The DNS servers asked, as `node:dns` `getServers()` lists them (port 53 left out). */
  readonly servers: readonly string[];
  /** The `node:dns` resolver used for every query. */
  protected readonly dns: NodeDnsResolver;
  /** Family 0: how long to wait for the second family once the first has answered (`familyWaitMs`). */
  protected readonly familyWaitMs: number;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #mode: "interval" | "ttl";
  readonly #intervalMs: number;
  readonly #minTtlMs: number;
  readonly #maxTtlMs: number;
  readonly #jitter: number;
  readonly #retryDelayMs: number;
  readonly #maxRetryDelayMs: number;
  readonly #confirmEmpty: number;
  readonly #confirmEmptyDelayMs: number;
  readonly #abort = new AbortController();
  readonly #retry: RetryOptions;
  #timer: Timer | undefined;
  #inFlight: Promise<void> | undefined;
  #emptyStreak = 0;
  #dropped: readonly DroppedRecord[] = [];
  #lastTtl: number | undefined;
  #droppedKey = "";

  protected constructor(defaultName: string, options: DnsResolverOptions | undefined) {
    super();
    const o = checkOptions<DnsResolverOptions>(options, "DNS resolver");
    if (o.name !== undefined && (typeof o.name !== "string" || o.name.trim() === "")) {
      throw new InvalidConfigError("name", `must be a non-empty string, got ${show(o.name)}`);
    }
    this.name = o.name ?? defaultName;
    if (o.refresh !== undefined && o.refresh !== "interval" && o.refresh !== "ttl") {
      throw new InvalidConfigError("refresh", `must be "interval" or "ttl", got ${show(o.refresh)}`);
    }
    this.#mode = o.refresh ?? "interval";
    this.#intervalMs = checkInterval(o.intervalMs, "intervalMs", 30_000);
    this.#minTtlMs = checkInterval(o.minTtlMs, "minTtlMs", 1_000);
    this.#maxTtlMs = checkInterval(o.maxTtlMs, "maxTtlMs", 300_000);
    if (this.#minTtlMs > this.#maxTtlMs) {
      throw new InvalidConfigError("minTtlMs", `floor ${this.#minTtlMs} is above ceiling maxTtlMs ${this.#maxTtlMs}`);
    }
    this.#jitter = checkNumber(o.jitter, "jitter", 0.1, 0, 0.99);
    // node:dns takes a 32-bit timeout and throws a RangeError above it.
    const timeout = checkInterval(o.timeoutMs, "timeoutMs", 2_000, MAX_DELAY);
    const tries = checkInteger(o.tries, "tries", 2, 1, 10);
    const retries = checkInteger(o.retries, "retries", 2, 0, 100);
    this.#retryDelayMs = checkNumber(o.retryDelayMs, "retryDelayMs", 1_000, 0, Number.MAX_SAFE_INTEGER);
    this.#maxRetryDelayMs = checkNumber(o.maxRetryDelayMs, "maxRetryDelayMs", 10_000, 0, Number.MAX_SAFE_INTEGER);
    this.#confirmEmpty = checkInteger(o.confirmEmpty, "confirmEmpty", 2, 0, 100);
    this.#confirmEmptyDelayMs = checkInterval(o.confirmEmptyDelayMs, "confirmEmptyDelayMs", 5_000);
    this.familyWaitMs = checkNumber(o.familyWaitMs, "familyWaitMs", 500, 0, Number.MAX_SAFE_INTEGER);
    this.#clock = checkClock(o.clock) ?? systemClock;
    this.#random = checkRandom(o.random) ?? systemRandom;
    this.dns = new NodeDnsResolver({ timeout: Math.ceil(timeout), tries });
    if (o.servers !== undefined) {
      const servers = parseServers(o.servers);
      try {
        this.dns.setServers(servers);
      } catch (cause) {
        throw new InvalidConfigError("servers", `rejected by node:dns: ${(cause as Error).message}`);
      }
    }
    this.servers = this.dns.getServers();
    this.#retry = {
      retries,
      minTimeout: 0,
      maxTimeout: 0,
      signal: this.#abort.signal,
      unref: true,
      shouldRetry: ({ error }) => error instanceof DnsError && error.retryable,
      onFailedAttempt: async ({ error, retriesLeft, retriesConsumed }) => {
        if (!(error instanceof DnsError) || !error.retryable || retriesLeft <= 0) return;
        const delay = this.#jittered(Math.min(this.#maxRetryDelayMs, this.#retryDelayMs * 2 ** retriesConsumed));
        if (delay > 0) await sleep(this.#clock, delay, this.#abort.signal);
      },
    };
  }

  /** The clock of every timer: refreshes, retry delays, the `familyWaitMs` grace. */
  protected get clock(): Clock {
    return this.#clock;
  }

  /** Records of the last answer that could not become endpoints (port 0, bad target...). */
  get droppedRecords(): readonly DroppedRecord[] {
    return this.#dropped;
  }

  /**
   * Looks up now instead of at the next scheduled time (the schedule restarts
   * from this refresh). Joins a refresh already in flight. Never rejects:
   * failures go to the `error` event, as for scheduled refreshes.
   */
  refresh(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return this.#inFlight ?? this.#run();
  }

  /** Resolves when no refresh is in flight (the next one waits for its timer). */
  whenIdle(): Promise<void> {
    return this.#inFlight ?? Promise.resolve();
  }

  /** One lookup, throwing a `DnsError` on failure. Called by the loop, retried by it. */
  protected abstract lookup(): Promise<DnsAnswer>;

  /** The context for errors about `record` of type `rrtype`. */
  protected errorContext(rrtype: string, record: string): DnsErrorContext {
    return { resolver: this.name, rrtype, record, servers: this.servers };
  }

  protected onStart(): void {
    if (this.#inFlight === undefined) void this.#run();
  }

  protected override async onClose(): Promise<void> {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#abort.abort(new ClosedError(`resolver "${this.name}"`));
    this.dns.cancel();
    await this.#inFlight;
  }

  #run(): Promise<void> {
    this.#timer?.cancel();
    this.#timer = undefined;
    // A listener that throws is the caller's bug; it must not become an unhandled rejection.
    const run = this.#cycle().catch(() => {});
    this.#inFlight = run;
    return run;
  }

  /** One refresh: lookup with retries, then publish or report, then schedule the next. Never rejects. */
  async #cycle(): Promise<void> {
    // The next refresh is scheduled whatever happens below, even if a listener throws.
    let delay = this.#intervalMs;
    try {
      let answer: DnsAnswer | undefined;
      let failure: Error | undefined;
      try {
        answer = await pRetry(() => this.lookup(), this.#retry);
      } catch (caught) {
        failure = caught instanceof Error ? caught : new Error(String(caught));
      }
      if (this.closed) return;
      if (answer !== undefined) delay = this.#onAnswer(answer);
      else if (failure instanceof DnsError && failure.code === "ERR_DNS_NOT_FOUND") delay = this.#onEmpty(failure);
      else delay = this.#onFailure(failure as Error);
    } finally {
      // Cleared here, not in a later callback: the timer below must see the loop idle.
      this.#inFlight = undefined;
      if (!this.closed) {
        this.#timer = this.#clock.setTimer(() => {
          this.#timer = undefined;
          if (this.#inFlight === undefined) void this.#run();
        }, delay);
      }
    }
  }

  #onAnswer(answer: DnsAnswer): number {
    if (answer.endpoints.length === 0) {
      if (answer.dropped.length > 0) {
        this.#noteDropped(answer.dropped);
        return this.#onFailure(this.#invalidRecords(answer.dropped));
      }
      const context = this.errorContext(this.recordType, this.recordName);
      return this.#onEmpty(new DnsError("ERR_DNS_NOT_FOUND", context, 'service not available (only target ".")'));
    }
    this.#emptyStreak = 0;
    if (answer.ttl !== undefined) this.#lastTtl = answer.ttl;
    // publish() emits `resolved`, which ends an upstream's lastResolverError;
    // the errors of this answer come after it, so they stay visible until the
    // next answer without them. A partial answer is reported on every refresh
    // that has one; dropped records once per change of the list.
    this.publish(answer.endpoints);
    if (this.#noteDropped(answer.dropped) && answer.dropped.length > 0) this.fail(this.#invalidRecords(answer.dropped));
    if (answer.partial !== undefined) this.fail(answer.partial);
    return this.#refreshDelay(answer.ttl);
  }

  /** NXDOMAIN, NODATA or only target "." — applied to a non-empty set only once confirmed. */
  #onEmpty(error: DnsError): number {
    const current = this.endpoints;
    if (current === undefined) return this.#onFailure(error);
    if (current.length === 0) {
      this.publish([]); // still empty: a success that changes nothing
      return this.#refreshDelay(undefined);
    }
    this.#emptyStreak++;
    if (this.#emptyStreak > this.#confirmEmpty) {
      this.#emptyStreak = 0;
      this.#noteDropped([]);
      this.publish([]);
      return this.#refreshDelay(undefined);
    }
    const left = this.#confirmEmpty - this.#emptyStreak + 1;
    const unconfirmed = new DnsError(
      error.code,
      this.errorContext(error.rrtype, error.record),
      `${error.detail}; keeping the last good set of ${current.length} endpoint(s) until ${left} more lookup(s) confirm the empty answer`,
      { cause: error, dnsCode: error.dnsCode },
    );
    this.fail(unconfirmed);
    return this.#jittered(this.#confirmEmptyDelayMs);
  }

  #onFailure(error: Error): number {
    this.fail(error);
    return this.#refreshDelay(undefined);
  }

  /** The name looked up, used in messages about the whole answer. */
  protected abstract readonly recordName: string;
  /** The record type looked up (`"SRV"`, `"A/AAAA"`), used in messages. */
  protected abstract readonly recordType: string;

  /** Records the last answer's dropped records; true when they differ from the previous answer's. */
  #noteDropped(dropped: readonly DroppedRecord[]): boolean {
    this.#dropped = dropped;
    const key = dropped.map((d) => `${d.record} ${d.reason}`).join("\n");
    if (key === this.#droppedKey) return false;
    this.#droppedKey = key;
    return true;
  }

  #invalidRecords(dropped: readonly DroppedRecord[]): DnsError {
    const list = dropped.map((d) => `${d.record} (${d.reason})`).join("; ");
    return new DnsError(
      "ERR_DNS_INVALID_RECORD",
      this.errorContext(this.recordType, this.recordName),
      `${dropped.length} record(s) dropped: ${list}`,
      { dropped },
    );
  }

  /** Interval mode: `intervalMs`. TTL mode: this answer's TTL, else the last known one, else `intervalMs`. */
  #refreshDelay(answerTtl: number | undefined): number {
    const ttl = answerTtl ?? this.#lastTtl;
    if (this.#mode === "ttl" && ttl !== undefined) {
      return this.#jittered(Math.min(this.#maxTtlMs, Math.max(this.#minTtlMs, ttl * 1000)));
    }
    return this.#jittered(this.#intervalMs);
  }

  #jittered(ms: number): number {
    return Math.round(ms * (1 - this.#jitter * this.#random.next()));
  }
}
