import { MAX_DELAY } from "../clock.js";
import { InvalidConfigError, show } from "../errors.js";
import { checkDelay, checkOptions } from "../options.js";
import type { Random } from "../random.js";

/**
 * How long a circuit stays open, growing with repeated trips (cockatiel PR
 * #96's dynamic `halfOpenAfter`; Finagle's `markDeadFor` backoff). Stateless:
 * the breaker counts its trips since it last closed and passes the count, so
 * one backoff serves any number of breakers.
 */
export interface BreakerBackoff {
  /**
   * The open period for the `trips`-th trip in a row (1 for the first since
   * the circuit last closed), in ms; `random` is the breaker's injected
   * randomness, for jitter. A result that is not a number >= 0 counts as 0;
   * one above 2^31 - 1 is capped there.
   */
  openMs(trips: number, random: Random): number;
}

/** Options of `openBackoff()`. */
export interface OpenBackoffOptions {
  /** The first open period, ms. Default 5,000 (Finagle failure accrual's 5 s). */
  initialMs?: number;
  /** Each trip in a row multiplies the period by this (>= 1). Default 2. */
  multiplier?: number;
  /** The period never exceeds this, ms. Default 300,000 (Finagle's 300 s). */
  maxMs?: number;
  /**
   * A fraction in [0, 1]: the period is drawn uniformly from
   * `[period × (1 − jitter), period]` with the injected `Random`, so
   * breakers that tripped together do not probe together. Default 0.
   * (Finagle's equal jitter is 0.5.)
   */
  jitter?: number;
}

/**
 * An exponential open period: `min(maxMs, initialMs × multiplier^(trips − 1))`,
 * then jittered. The trip count, and with it the period, starts again once
 * the circuit closes. Defaults: 5 s doubling up to 300 s, no jitter: open for
 * 5 s, 10 s, 20 s, ... 160 s, then 300 s for every later trip in a row
 * (Finagle failure accrual's range).
 *
 * @example
 * const breaker = new CircuitBreaker({ openMs: openBackoff({ initialMs: 1000, maxMs: 60_000, jitter: 0.2 }) });
 * @throws InvalidConfigError naming the option that is out of range.
 */
export function openBackoff(options?: OpenBackoffOptions): BreakerBackoff {
  const o = checkOptions<Record<string, unknown>>(options, "openBackoff()");
  const initialMs = checkDelay(o.initialMs, "initialMs", 5_000);
  const maxMs = checkDelay(o.maxMs, "maxMs", Math.max(300_000, initialMs));
  if (maxMs < initialMs) throw new InvalidConfigError("maxMs", `must be >= initialMs (${initialMs}), got ${maxMs}`);
  const multiplier = o.multiplier ?? 2;
  if (typeof multiplier !== "number" || !(multiplier >= 1 && multiplier < Number.POSITIVE_INFINITY)) {
    throw new InvalidConfigError("multiplier", `must be a finite number >= 1, got ${show(multiplier)}`);
  }
  const jitter = o.jitter ?? 0;
  if (typeof jitter !== "number" || !(jitter >= 0 && jitter <= 1)) {
    throw new InvalidConfigError("jitter", `must be a number from 0 to 1, got ${show(jitter)}`);
  }
  return {
    openMs(trips, random) {
      const period = Math.min(maxMs, initialMs * multiplier ** Math.max(0, trips - 1));
      return jitter === 0 ? period : period * (1 - jitter * random.next());
    },
  };
}

/** The open period of `open` (a fixed period or a backoff) for the `trips`-th trip, clamped to 0..2^31 - 1. */
export function openPeriod(open: number | BreakerBackoff, trips: number, random: Random): number {
  if (typeof open === "number") return open;
  const period = open.openMs(trips, random);
  return period >= 0 ? Math.min(period, MAX_DELAY) : 0;
}
