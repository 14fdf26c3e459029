import type { Clock } from "../../clock.js";
import { systemClock } from "../../clock.js";
import { InvalidConfigError } from "../../errors.js";
import { checkClock, checkInteger, checkInterval, checkNumber, checkRandom } from "../../options.js";
import type { Random } from "../../random.js";
import { systemRandom } from "../../random.js";

/**
 * How a refreshing resolver (DNS, HTTP registries) paces its refreshes and
 * rides out failures. Shared by every resolver built on the refresh loop.
 */
export interface RefreshOptions {
  /**
   * Refresh interval, ms: the delay between two polls (KrakenD's 30 s
   * `dns_cache_ttl`), and the delay after a refresh that failed; in DNS's
   * TTL mode, the delay when no TTL is known. Default 30,000.
   */
  intervalMs?: number;
  /** Every delay is shortened by up to this fraction at random, so a fleet does not poll in lock step. Default 0.1. */
  jitter?: number;
  /** Retries of a failed request (timeout, server error, connection error) within one refresh. Default 2. */
  retries?: number;
  /** Delay before the first retry, ms; doubled for each further one (exponential backoff). Default 1,000. */
  retryDelayMs?: number;
  /** Ceiling of the retry delay, ms. Default 10,000. */
  maxRetryDelayMs?: number;
  /**
   * How many further refreshes must also come back empty before an empty
   * answer replaces a non-empty set. 0 applies it at once. Default 2.
   */
  confirmEmpty?: number;
  /** Delay before each confirming refresh, ms. Default 5,000. */
  confirmEmptyDelayMs?: number;
  /** Time source for refresh timers and retry delays. Default the system clock. */
  clock?: Clock;
  /** Randomness for jitter. Default `Math.random`. */
  random?: Random;
}

/** The refresh loop's settings, validated, every default filled in. Internal. */
export interface RefreshSettings {
  /** `"ttl"`: an answer's TTL sets the next delay, within `minTtlMs`..`maxTtlMs`. */
  readonly mode: "interval" | "ttl";
  readonly intervalMs: number;
  readonly minTtlMs: number;
  readonly maxTtlMs: number;
  readonly jitter: number;
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly maxRetryDelayMs: number;
  readonly confirmEmpty: number;
  readonly confirmEmptyDelayMs: number;
  /** Least time between the starts of two scheduled refreshes, ms (a rate limit); 0 for none. */
  readonly minIntervalMs: number;
  readonly clock: Clock;
  readonly random: Random;
}

/** What a resolver adds to the shared options: its TTL mode, its rate limit, its own defaults. */
export interface RefreshExtras {
  readonly mode?: "interval" | "ttl";
  readonly minTtlMs?: number;
  readonly maxTtlMs?: number;
  readonly minIntervalMs?: number;
  /** Default of `intervalMs`. Default 30,000. */
  readonly intervalMs?: number;
}

/**
 * Validates the shared refresh options of `o` (already checked to be an
 * object) and fills in the defaults.
 *
 * @throws InvalidConfigError naming the option.
 */
export function refreshSettings(o: Partial<RefreshOptions>, extras: RefreshExtras = {}): RefreshSettings {
  const minTtlMs = extras.minTtlMs ?? 1_000;
  const maxTtlMs = extras.maxTtlMs ?? 300_000;
  if (minTtlMs > maxTtlMs) {
    throw new InvalidConfigError("minTtlMs", `floor ${minTtlMs} is above ceiling maxTtlMs ${maxTtlMs}`);
  }
  return {
    mode: extras.mode ?? "interval",
    intervalMs: checkInterval(o.intervalMs, "intervalMs", extras.intervalMs ?? 30_000),
    minTtlMs,
    maxTtlMs,
    jitter: checkNumber(o.jitter, "jitter", 0.1, 0, 0.99),
    retries: checkInteger(o.retries, "retries", 2, 0, 100),
    retryDelayMs: checkNumber(o.retryDelayMs, "retryDelayMs", 1_000, 0, Number.MAX_SAFE_INTEGER),
    maxRetryDelayMs: checkNumber(o.maxRetryDelayMs, "maxRetryDelayMs", 10_000, 0, Number.MAX_SAFE_INTEGER),
    confirmEmpty: checkInteger(o.confirmEmpty, "confirmEmpty", 2, 0, 100),
    confirmEmptyDelayMs: checkInterval(o.confirmEmptyDelayMs, "confirmEmptyDelayMs", 5_000),
    minIntervalMs: extras.minIntervalMs ?? 0,
    clock: checkClock(o.clock) ?? systemClock,
    random: checkRandom(o.random) ?? systemRandom,
  };
}
