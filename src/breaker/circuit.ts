import type { Clock } from "../clock.js";
import { InvalidArgumentError, InvalidConfigError, show } from "../errors.js";
import { checkDelay, checkInteger } from "../options.js";
import type { Random } from "../random.js";
import type { BreakerBackoff } from "./backoff.js";
import { openBackoff, openPeriod } from "./backoff.js";
import type { BreakerStrategy } from "./strategy.js";
import { underPath } from "./strategy.js";

/**
 * A circuit breaker's state: `closed` (calls go through, the strategy
 * counts them), `open` (calls are refused until the open period ends),
 * `half-open` (a limited number of probes go through; enough successes
 * close it, a failure opens it again).
 */
export type BreakerState = "closed" | "open" | "half-open";

/** A breaker's state as plain JSON-safe data: `CircuitBreaker.snapshot()`, `restore`. */
export interface BreakerSnapshot {
  readonly state: BreakerState;
  /** Trips in a row since the circuit last closed (0 when closed): the open-period backoff's step. */
  readonly trips: number;
  /**
   * While open: ms left until it lets a probe through. A restore opens the
   * circuit for this long from the time of the restore (time spent between
   * the snapshot and the restore is not known, so it is not deducted).
   */
  readonly openForMs: number;
  /** While open: the clock time it lets a probe through; informative (clock times do not survive a restart). */
  readonly openUntil?: number;
  /** While half-open: successful probes so far. */
  readonly halfOpenSuccesses: number;
  /** The strategy's name and counts (`BreakerStrategy.snapshot()`). */
  readonly strategy?: { readonly name: string; readonly state: unknown };
}

/** The open and half-open rules shared by `CircuitBreakerOptions` and `CircuitBreakersOptions`. */
export interface CircuitOptions {
  /**
   * How long the circuit stays open before it lets a probe through: a fixed
   * number of ms, or a `BreakerBackoff` that grows with trips in a row.
   * Default `openBackoff()`: 5 s, doubling per trip in a row, up to 300 s.
   */
  openMs?: number | BreakerBackoff;
  /** Probes a half-open circuit lets through at once. Default 1. */
  halfOpenProbes?: number;
  /** Successful probes that close a half-open circuit. Default 1. */
  successesToClose?: number;
}

/** Validated `CircuitOptions` with the time and randomness the circuits use; shared by many circuits. */
export interface CircuitConfig {
  readonly open: number | BreakerBackoff;
  readonly probes: number;
  readonly successesToClose: number;
  readonly clock: Clock;
  readonly random: Random;
}

export const CLOSED = 0;
export const OPEN = 1;
export const HALF_OPEN = 2;
const NAMES: readonly BreakerState[] = ["closed", "open", "half-open"];

/** Validates the open and half-open options; throws `InvalidConfigError` naming the option. */
export function circuitConfig(o: Record<string, unknown>, clock: Clock, random: Random): CircuitConfig {
  const open = o.openMs;
  let period: number | BreakerBackoff;
  if (open === undefined) period = openBackoff();
  else if (typeof open === "object" && open !== null && typeof (open as BreakerBackoff).openMs === "function") {
    period = open as BreakerBackoff;
  } else period = checkDelay(open, "openMs", 0);
  return {
    open: period,
    probes: checkInteger(o.halfOpenProbes, "halfOpenProbes", 1, 1, 2 ** 31 - 1),
    successesToClose: checkInteger(o.successesToClose, "successesToClose", 1, 1, 2 ** 31 - 1),
    clock,
    random,
  };
}

/**
 * The state machine of one circuit, with no timer and no event: time comes
 * in as arguments, and each method that may change the state says whether it
 * did, for its owner to announce. `CircuitBreaker` wraps one with permits and
 * events; the per-endpoint plug-in keeps one per endpoint.
 *
 * `epoch` moves on at every transition, so a call admitted in one state is
 * told apart from calls of the next (a late outcome from before the circuit
 * opened does not count as a probe).
 */
export class Circuit {
  state = CLOSED;
  epoch = 0;
  trips = 0;
  /** While open: the clock time it lets a probe through. */
  openUntil = 0;
  /** Half-open probes admitted and not yet settled (`CircuitBreaker`'s count; the plug-in counts attempts in flight). */
  probesOut = 0;
  /** Half-open successes so far. */
  successes = 0;
  /** While half-open: the clock time it went half-open (NaN when not known: restored, or entered without a time). */
  halfOpenSince = Number.NaN;
  readonly strategy: BreakerStrategy;
  readonly config: CircuitConfig;

  constructor(strategy: BreakerStrategy, config: CircuitConfig) {
    this.strategy = strategy;
    this.config = config;
  }

  get stateName(): BreakerState {
    return NAMES[this.state] as BreakerState;
  }

  /** Open → half-open when the open period is over at `now`; returns true when it moved. */
  due(now: number): boolean {
    if (this.state !== OPEN || now < this.openUntil) return false;
    this.#enter(HALF_OPEN);
    this.halfOpenSince = now;
    return true;
  }

  /**
   * A call admitted in this state settled (success or failure; neutral
   * outcomes are not recorded). Returns true when the state changed. `now`
   * may be NaN when the strategy is untimed: the clock is read only to open.
   */
  record(failed: boolean, latencyMs: number, now: number): boolean {
    const state = this.state;
    if (state === CLOSED) {
      const s = this.strategy;
      if (!(failed ? s.failure(latencyMs, now) : s.success(latencyMs, now))) return false;
      this.trip(now);
      return true;
    }
    if (state !== HALF_OPEN) return false;
    if (failed) {
      this.trip(now);
      return true;
    }
    this.successes++;
    if (this.successes < this.config.successesToClose) return false;
    this.trips = 0;
    this.strategy.reset();
    this.#enter(CLOSED);
    return true;
  }

  /** Opens the circuit for the next open period (a trip). `now` NaN: read the clock. */
  trip(now: number): void {
    const c = this.config;
    const at = Number.isNaN(now) ? c.clock.now() : now;
    const period = openPeriod(c.open, this.trips + 1, c.random);
    this.trips++;
    this.openUntil = at + period;
    this.#enter(OPEN);
  }

  /** Milliseconds until an open circuit lets a probe through (0 otherwise). */
  retryAfter(now: number): number {
    return this.state === OPEN ? Math.max(0, this.openUntil - now) : 0;
  }

  snapshot(now: number): BreakerSnapshot {
    const open = this.state === OPEN;
    const s = this.strategy;
    return {
      state: this.stateName,
      trips: this.trips,
      openForMs: this.retryAfter(now),
      ...(open ? { openUntil: this.openUntil } : {}),
      halfOpenSuccesses: this.state === HALF_OPEN ? this.successes : 0,
      strategy: { name: s.name, state: s.snapshot?.(now) },
    };
  }

  /**
   * Takes the state of a snapshot checked by `readSnapshot()`; the strategy's
   * counts when it has the same name (else it starts empty). Throws
   * `InvalidArgumentError` (paths under `path`) and changes nothing when the
   * strategy's counts are unreadable.
   */
  restore(snapshot: BreakerSnapshot, now: number, path: string): void {
    const s = this.strategy;
    const counts = snapshot.strategy;
    if (counts !== undefined && counts.name === s.name && s.restore !== undefined && counts.state !== undefined) {
      underPath(`${path}.strategy`, () => s.restore?.(counts.state, now));
    } else {
      s.reset();
    }
    const state = NAMES.indexOf(snapshot.state);
    // Trips count since the circuit last closed: none while closed, at least one otherwise.
    this.trips = state === CLOSED ? 0 : Math.max(1, snapshot.trips);
    this.openUntil = state === OPEN ? now + snapshot.openForMs : 0;
    this.#enter(state);
    this.successes = state === HALF_OPEN ? snapshot.halfOpenSuccesses : 0;
    if (state === HALF_OPEN) this.halfOpenSince = now;
  }

  #enter(state: number): void {
    this.state = state;
    this.epoch++;
    this.probesOut = 0;
    this.successes = 0;
    this.halfOpenSince = Number.NaN;
  }
}

/**
 * Checks a `BreakerSnapshot` given by a caller: throws `InvalidArgumentError`
 * with paths under `path`, or `InvalidConfigError` when `config` (a restore
 * option), for anything but the documented shape. Unknown fields are ignored.
 */
export function readSnapshot(value: unknown, path: string, config = false): BreakerSnapshot {
  const fail = (field: string, message: string) => {
    const where = field === "" ? path : `${path}.${field}`;
    return config ? new InvalidConfigError(where, message) : new InvalidArgumentError(where, message);
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw fail("", `must be a BreakerSnapshot object ({ state, trips, openForMs, ... }), got ${show(value)}`);
  }
  const v = value as Record<string, unknown>;
  if (!NAMES.includes(v.state as BreakerState)) {
    throw fail("state", `must be "closed", "open" or "half-open", got ${show(v.state)}`);
  }
  const count = (field: string, fallback: number): number => {
    const n = v[field] ?? fallback;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 2 ** 31 - 1) {
      throw fail(field, `must be an integer >= 0, got ${show(n)}`);
    }
    return n;
  };
  const trips = count("trips", 0);
  const halfOpenSuccesses = count("halfOpenSuccesses", 0);
  const openForMs = v.openForMs ?? 0;
  if (typeof openForMs !== "number" || !(openForMs >= 0 && openForMs < Number.POSITIVE_INFINITY)) {
    throw fail("openForMs", `must be a finite number of ms >= 0, got ${show(openForMs)}`);
  }
  const strategy = v.strategy;
  if (strategy !== undefined) {
    if (
      typeof strategy !== "object" ||
      strategy === null ||
      typeof (strategy as { name?: unknown }).name !== "string"
    ) {
      throw fail("strategy", `must be an object { name, state }, got ${show(strategy)}`);
    }
  }
  return {
    state: v.state as BreakerState,
    trips,
    openForMs,
    halfOpenSuccesses,
    ...(strategy === undefined ? {} : { strategy: strategy as { name: string; state: unknown } }),
  };
}
