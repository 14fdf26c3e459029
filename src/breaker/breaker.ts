import type { Clock } from "../clock.js";
import { systemClock } from "../clock.js";
import { AbortError, CircuitOpenError, InvalidArgumentError, InvalidConfigError, show } from "../errors.js";
import { checkClock, checkOptions, checkRandom } from "../options.js";
import type { Random } from "../random.js";
import { systemRandom } from "../random.js";
import { SafeEmitter } from "../safe-emitter.js";
import type { BreakerSnapshot, BreakerState, CircuitOptions } from "./circuit.js";
import { Circuit, CLOSED, circuitConfig, HALF_OPEN, OPEN, readSnapshot } from "./circuit.js";
import { consecutiveFailures } from "./consecutive.js";
import type { BreakerStrategy } from "./strategy.js";
import { isStrategy } from "./strategy.js";

/** Options of `new CircuitBreaker()`. */
export interface CircuitBreakerOptions extends CircuitOptions {
  /** When to open: a `BreakerStrategy` of its own (one per breaker). Default `consecutiveFailures(5)`. */
  strategy?: BreakerStrategy;
  /** Time source: the open period and timed strategies run on it. Default the system clock. */
  clock?: Clock;
  /** Randomness for the open period's jitter. Default `Math.random`. */
  random?: Random;
  /** Starts from this state (a `snapshot()` of an earlier breaker: opossum's warm start, cockatiel #89). */
  restore?: BreakerSnapshot;
  /**
   * A half-open breaker whose probes are all taken and have not settled this
   * long after it went half-open is tripped open again, as if a probe had
   * failed (resilience4j's `maxWaitDurationInHalfOpenState`): a permit that
   * is never settled, or an `execute()` whose promise never settles, cannot
   * hold the breaker half-open and refusing forever. Checked when a call is
   * refused; no timer. Default 60,000 ms; `Infinity` disables.
   */
  halfOpenTimeoutMs?: number;
}

/** A state change, as `CircuitBreaker`'s `stateChange` event gives it. */
export interface BreakerStateChange {
  readonly from: BreakerState;
  readonly to: BreakerState;
  /** The clock time of the change (an open → half-open change is seen when the breaker is next used). */
  readonly at: number;
  /** Trips in a row since the circuit last closed (0 once closed). */
  readonly trips: number;
  /** When `to` is `"open"`: the clock time it lets a probe through. */
  readonly openUntil: number | undefined;
}

/** Events of a `CircuitBreaker`. */
export interface BreakerEvents {
  /** The state changed (every transition, including those of `restore()`). */
  stateChange: (change: BreakerStateChange) => void;
}

/**
 * Leave to make one call, from `CircuitBreaker.tryAcquire()`. Settle it
 * exactly once, in a `finally` or on every path: `success()`, `failure()`,
 * or `cancel()` for a call that says nothing about the service (aborted by
 * its caller). Only the first settle counts; later ones return false. A
 * permit taken before a state change settles harmlessly: outcomes count
 * only in the state they were admitted in.
 */
export interface BreakerPermit {
  /** True when this call is a half-open probe. */
  readonly probe: boolean;
  /** True once settled. */
  readonly settled: boolean;
  /**
   * The call succeeded. `latencyMs`, when given, is its duration for a
   * slow-call strategy (otherwise a timed strategy measures it on the clock).
   * @throws InvalidArgumentError for a `latencyMs` that is not a finite number >= 0 (the permit stays open).
   */
  success(latencyMs?: number): boolean;
  /** The call failed; `latencyMs` as for `success()`. */
  failure(latencyMs?: number): boolean;
  /** The call counts as neither success nor failure (like `cancelled`); a probe's place is freed. */
  cancel(): boolean;
}

const SUCCESS = 0;
const FAILURE = 1;
const NEITHER = 2;
const NAMES: readonly BreakerState[] = ["closed", "open", "half-open"];

/** Lets a permit settle through the breaker's private path. */
let settle: (breaker: CircuitBreaker, token: number, kind: number, latencyMs: number, start: number) => void;

/**
 * A circuit breaker: closed → open → half-open → closed, usable alone (like
 * cockatiel's `circuitBreaker()` policy), in front of a whole upstream, or
 * per endpoint through the `circuitBreakers()` plug-in.
 *
 * - **Closed**: calls go through; the strategy (default
 *   `consecutiveFailures(5)`) counts them and says when to open.
 * - **Open**: calls are refused for the open period (`openMs`: fixed, or a
 *   backoff growing with trips in a row; default 5 s doubling to 300 s).
 * - **Half-open**: at most `halfOpenProbes` calls at once go through (default
 *   1); `successesToClose` successful probes close it (default 1), and any
 *   failed probe opens it again for the next, longer, open period.
 *
 * It holds no timer: the open → half-open change happens when the breaker is
 * next used after the open period (`tryAcquire()`, `execute()`, `state`,
 * `snapshot()`), read from the injected clock. Ten thousand breakers hold
 * no timer and need no disposal. The synchronous core, `tryAcquire()` and a
 * permit, reads no clock while closed (unless the strategy is timed).
 *
 * @example
 * const breaker = new CircuitBreaker({ strategy: consecutiveFailures(5), openMs: 10_000 });
 * const body = await breaker.execute(async (signal) => (await fetch("http://10.0.0.1:8080/", { signal })).text());
 */
export class CircuitBreaker extends SafeEmitter<BreakerEvents> {
  /** The strategy deciding when the closed circuit opens. */
  readonly strategy: BreakerStrategy;
  readonly #circuit: Circuit;
  readonly #clock: Clock;
  readonly #timed: boolean;
  readonly #halfOpenTimeoutMs: number;
  #settlers: Settlers | undefined;

  static {
    settle = (breaker, token, kind, latencyMs, start) => breaker.#settle(token, kind, latencyMs, start);
  }

  /**
   * @throws InvalidConfigError naming the option that is invalid (a
   * `restore` snapshot that is not one names the field under `restore`).
   */
  constructor(options?: CircuitBreakerOptions) {
    super();
    const o = checkOptions<Record<string, unknown>>(options, "new CircuitBreaker()");
    const clock = checkClock(o.clock) ?? systemClock;
    const random = checkRandom(o.random) ?? systemRandom;
    const strategy = o.strategy ?? consecutiveFailures();
    if (!isStrategy(strategy)) {
      throw new InvalidConfigError(
        "strategy",
        `must be a BreakerStrategy ({ name, success, failure, reset }), got ${show(strategy)}`,
      );
    }
    this.strategy = strategy;
    this.#clock = clock as Clock;
    this.#timed = strategy.timed === true;
    this.#halfOpenTimeoutMs = halfOpenTimeout(o.halfOpenTimeoutMs);
    this.#circuit = new Circuit(strategy, circuitConfig(o, clock as Clock, random as Random));
    if (o.restore !== undefined) {
      const snapshot = readSnapshot(o.restore, "restore", true);
      asConfigError(() => this.#circuit.restore(snapshot, this.#clock.now(), "restore"));
    }
  }

  /** The state now (an open circuit whose period is over turns half-open here). */
  get state(): BreakerState {
    this.#due();
    return this.#circuit.stateName;
  }

  /**
   * Asks leave for one call: a permit, or `undefined` when the circuit is
   * open or half-open with every probe taken. Synchronous, O(1); while
   * closed it reads no clock (unless the strategy is timed) and allocates
   * only the small permit.
   */
  tryAcquire(): BreakerPermit | undefined {
    const token = this.#acquire();
    if (token < 0) return undefined;
    return new Permit(this, token, this.#timed ? this.#clock.now() : Number.NaN);
  }

  /**
   * Runs `fn` through the breaker: rejects with `CircuitOpenError` (without
   * calling `fn`) when refused; otherwise calls `fn(signal)` and counts its
   * outcome: resolved is a success, rejected a failure, and rejected after
   * `signal` aborted counts as neither (like a `cancelled` outcome). The
   * breaker does not cut `fn` short: pass the signal on. A signal already
   * aborted rejects with its reason before anything is acquired.
   *
   * @throws InvalidArgumentError (as a rejection) when `fn` is not a function or `signal` not an AbortSignal.
   */
  execute<T>(fn: (signal: AbortSignal | undefined) => T | PromiseLike<T>, signal?: AbortSignal): Promise<T> {
    if (typeof fn !== "function") {
      return Promise.reject(new InvalidArgumentError("fn", `must be a function, got ${show(fn)}`));
    }
    if (signal !== undefined) {
      if (!(signal instanceof AbortSignal)) {
        return Promise.reject(new InvalidArgumentError("signal", "must be an AbortSignal"));
      }
      if (signal.aborted) return Promise.reject(signal.reason ?? new AbortError());
    }
    const token = this.#acquire();
    if (token < 0) return Promise.reject(this.#refusal());
    const start = this.#timed ? this.#clock.now() : Number.NaN;
    let result: T | PromiseLike<T>;
    try {
      result = fn(signal);
    } catch (error) {
      this.#settle(token, signal?.aborted === true ? NEITHER : FAILURE, Number.NaN, start);
      return Promise.reject(error);
    }
    // The usual call (closed, untimed, no signal) reuses the settlers of the current state:
    // one `then` on the call's promise and no allocation of the breaker's own. (Returning the
    // call's own promise with the settlers on a side branch measured no faster, and would mark a rejection
    // handled: a caller that drops the promise would lose its unhandled-rejection warning.)
    const shared = signal === undefined && !this.#timed && (token & 1) === 0;
    let settlers = this.#settlers;
    if (!shared || settlers === undefined || settlers.token !== token) {
      settlers = new Settlers(this, token, start, signal);
      if (shared) this.#settlers = settlers;
    }
    return Promise.resolve(result).then(settlers.ok as (value: T) => T, settlers.fail);
  }

  /** The state as plain JSON-safe data, for `restore` (the open period left, trips, the strategy's counts). */
  snapshot(): BreakerSnapshot {
    this.#due();
    return this.#circuit.snapshot(this.#clock.now());
  }

  /** Same as `snapshot()`, so `JSON.stringify(breaker)` saves the state. */
  toJSON(): BreakerSnapshot {
    return this.snapshot();
  }

  /**
   * Takes the state of a `snapshot()` (of this breaker or another with the
   * same strategy; counts of a strategy with another name are dropped). An
   * open snapshot opens the circuit for its `openForMs` from now. Permits
   * taken before no longer count.
   *
   * @throws InvalidArgumentError (`argument` a path under `snapshot`) for
   * anything but a snapshot; the breaker is unchanged.
   */
  restore(snapshot: BreakerSnapshot): void {
    const checked = readSnapshot(snapshot, "snapshot");
    const c = this.#circuit;
    const from = c.state;
    const now = this.#clock.now();
    c.restore(checked, now, "snapshot");
    if (c.state !== from) this.#announce(from, now);
  }

  /** Open → half-open when the open period is over. */
  #due(): void {
    const c = this.#circuit;
    if (c.state !== OPEN) return;
    const now = this.#clock.now();
    if (c.due(now)) this.#announce(OPEN, now);
  }

  /** A token (epoch × 2, + 1 for a probe), or -1 when refused. */
  #acquire(): number {
    const c = this.#circuit;
    if (c.state === CLOSED) return c.epoch * 2;
    if (c.state === OPEN) {
      const now = this.#clock.now();
      if (!c.due(now)) return -1;
      this.#announce(OPEN, now);
    }
    if (c.probesOut >= c.config.probes) {
      this.#stalled();
      return -1;
    }
    c.probesOut++;
    return c.epoch * 2 + 1;
  }

  /** Every probe is taken: trips the circuit again when they have been out longer than `halfOpenTimeoutMs`. */
  #stalled(): void {
    const c = this.#circuit;
    const now = this.#clock.now();
    if (Number.isNaN(c.halfOpenSince)) c.halfOpenSince = now; // restored half-open: time runs from the first refusal
    if (now - c.halfOpenSince < this.#halfOpenTimeoutMs) return;
    c.trip(now);
    this.#announce(HALF_OPEN, now);
  }

  #settle(token: number, kind: number, latencyMs: number, start: number): void {
    const c = this.#circuit;
    if (token >>> 1 !== c.epoch) return; // admitted in an earlier state: it says nothing of this one
    if (c.state === HALF_OPEN) c.probesOut--;
    if (kind === NEITHER) return;
    let now = Number.NaN;
    let latency = latencyMs;
    if (this.#timed) {
      now = this.#clock.now();
      if (Number.isNaN(latency)) latency = now - start;
    }
    const from = c.state;
    if (c.record(kind === FAILURE, latency, now)) this.#announce(from, now);
  }

  #refusal(): CircuitOpenError {
    const c = this.#circuit;
    return c.state === OPEN
      ? new CircuitOpenError("open", c.retryAfter(this.#clock.now()))
      : new CircuitOpenError("half-open", 0);
  }

  #announce(from: number, now: number): void {
    if (this.listenerCount("stateChange") === 0) return;
    const c = this.#circuit;
    this.emit("stateChange", {
      from: NAMES[from] as BreakerState,
      to: c.stateName,
      at: Number.isNaN(now) ? this.#clock.now() : now,
      trips: c.trips,
      openUntil: c.state === OPEN ? c.openUntil : undefined,
    });
  }
}

/** The two handlers that settle an `execute()` call with its outcome. */
class Settlers {
  readonly token: number;
  readonly ok: (value: unknown) => unknown;
  readonly fail: (error: unknown) => never;

  constructor(breaker: CircuitBreaker, token: number, start: number, signal: AbortSignal | undefined) {
    this.token = token;
    this.ok = (value) => {
      settle(breaker, token, SUCCESS, Number.NaN, start);
      return value;
    };
    this.fail = (error) => {
      settle(breaker, token, signal?.aborted === true ? NEITHER : FAILURE, Number.NaN, start);
      throw error;
    };
  }
}

/** A permit: the breaker, the token it was admitted with, and its start time for timed strategies. */
class Permit implements BreakerPermit {
  #breaker: CircuitBreaker | undefined;
  readonly #token: number;
  readonly #start: number;

  constructor(breaker: CircuitBreaker, token: number, start: number) {
    this.#breaker = breaker;
    this.#token = token;
    this.#start = start;
  }

  get probe(): boolean {
    return (this.#token & 1) === 1;
  }

  get settled(): boolean {
    return this.#breaker === undefined;
  }

  success(latencyMs?: number): boolean {
    return this.#settle(SUCCESS, latencyMs);
  }

  failure(latencyMs?: number): boolean {
    return this.#settle(FAILURE, latencyMs);
  }

  cancel(): boolean {
    return this.#settle(NEITHER, undefined);
  }

  #settle(kind: number, latencyMs: number | undefined): boolean {
    const breaker = this.#breaker;
    if (breaker === undefined) return false;
    if (latencyMs !== undefined && !(typeof latencyMs === "number" && latencyMs >= 0 && latencyMs < Infinity)) {
      throw new InvalidArgumentError("latencyMs", `must be a finite number >= 0, got ${show(latencyMs)}`);
    }
    this.#breaker = undefined;
    settle(breaker, this.#token, kind, latencyMs ?? Number.NaN, this.#start);
    return true;
  }
}

/** Runs `fn`, turning an `InvalidArgumentError` it throws into an `InvalidConfigError` (a restore option). */
export function asConfigError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof InvalidArgumentError) {
      throw new InvalidConfigError(e.argument, e.message.slice(e.argument.length + 2));
    }
    throw e;
  }
}

function halfOpenTimeout(value: unknown): number {
  if (value === undefined) return 60_000;
  if (value === Number.POSITIVE_INFINITY) return value;
  if (typeof value !== "number" || !(value > 0 && value < Number.POSITIVE_INFINITY)) {
    throw new InvalidConfigError("halfOpenTimeoutMs", `must be a number of ms > 0, or Infinity, got ${show(value)}`);
  }
  return value;
}
