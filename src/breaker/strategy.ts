import { InvalidArgumentError, InvalidConfigError, show } from "../errors.js";

/**
 * Decides when a closed circuit breaker opens (cockatiel's split: the state
 * machine is one thing, the rule that trips it another). The breaker tells
 * its strategy of every call that settles while it is closed; a strategy
 * answers whether the circuit should open now. It is never asked in the open
 * or half-open states: the breaker's own rules apply there.
 *
 * One instance belongs to one breaker: it holds that breaker's counts. (The
 * per-endpoint plug-in takes a factory and makes one per endpoint.) Calls are
 * synchronous and should be O(1) and allocation-free.
 *
 * The built-in strategies: `consecutiveFailures`, `failureRateByCount`,
 * `failureRateByTime`, `slowCallRate`, and `anyStrategy` to combine them.
 */
export interface BreakerStrategy {
  /** A short name (`"consecutive-failures"`...): labels the strategy's section of a `BreakerSnapshot`. */
  readonly name: string;
  /**
   * When true, the breaker reads its clock for every call: `now` is the
   * clock's time when the call settled and `latencyMs` the call's duration
   * (the latency given to `permit.success(latencyMs)`, or the time since
   * `tryAcquire()`). When false or absent, no clock is read on the call path:
   * `now` is NaN and `latencyMs` is the given latency or NaN.
   */
  readonly timed?: boolean;
  /** A call succeeded; return true to open the circuit (a slow-call rate can). */
  success(latencyMs: number, now: number): boolean;
  /** A call failed; return true to open the circuit. */
  failure(latencyMs: number, now: number): boolean;
  /** Forget every count: the circuit closed again (or was restored closed with no counts). */
  reset(): void;
  /** The counts as plain JSON-safe data, for `CircuitBreaker.snapshot()`; `now` as in `success()`. */
  snapshot?(now: number): unknown;
  /**
   * Takes counts back from a `snapshot()` of a strategy with the same name.
   * Throws `InvalidArgumentError` (its `argument` a path under `state`, e.g.
   * `"state.failures"`) for data it cannot read, changing nothing.
   */
  restore?(state: unknown, now: number): void;
}

/** True when `value` has the shape of a `BreakerStrategy`. */
export function isStrategy(value: unknown): value is BreakerStrategy {
  if (typeof value !== "object" || value === null) return false;
  const s = value as Record<string, unknown>;
  return (
    typeof s.name === "string" &&
    typeof s.success === "function" &&
    typeof s.failure === "function" &&
    typeof s.reset === "function"
  );
}

/** A failure or slow-call rate: a number in [0, 1). The circuit opens when the rate observed is above it. */
export function rateOption(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value >= 0 && value < 1)) {
    throw new InvalidConfigError(option, `must be a number >= 0 and < 1 (a fraction of calls), got ${show(value)}`);
  }
  return value;
}

/** The field `key` of a restored state, which must be an object. */
export function stateField(state: unknown, key: string): unknown {
  if (typeof state !== "object" || state === null || Array.isArray(state)) {
    throw new InvalidArgumentError("state", `must be an object, got ${show(state)}`);
  }
  return (state as Record<string, unknown>)[key];
}

/** A count in a restored state: an integer >= 0. */
export function countField(state: unknown, key: string): number {
  const value = stateField(state, key);
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw new InvalidArgumentError(`state.${key}`, `must be an integer >= 0, got ${show(value)}`);
  }
  return value;
}

/** A list of integers in `0..max` in a restored state. */
export function countsField(state: unknown, key: string, max: number): number[] {
  const value = stateField(state, key);
  if (!Array.isArray(value)) throw new InvalidArgumentError(`state.${key}`, `must be an array, got ${show(value)}`);
  // Indexes, not forEach: a sparse array's holes are read (as undefined) and refused.
  for (let i = 0; i < value.length; i++) {
    const v: unknown = value[i];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) {
      throw new InvalidArgumentError(`state.${key}[${i}]`, `must be an integer from 0 to ${max}, got ${show(v)}`);
    }
  }
  return value as number[];
}

/** Runs `fn`, putting `prefix.` in front of the argument path of an `InvalidArgumentError` it throws. */
export function underPath<T>(prefix: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof InvalidArgumentError) {
      throw new InvalidArgumentError(`${prefix}.${e.argument}`, e.message.slice(e.argument.length + 2));
    }
    throw e;
  }
}
