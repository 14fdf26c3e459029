import { InvalidArgumentError, InvalidConfigError, show } from "../errors.js";
import { checkInteger, checkOptions } from "../options.js";
import type { BreakerStrategy } from "./strategy.js";
import { countsField, rateOption, stateField } from "./strategy.js";

/** Options of `failureRateByTime()`. */
export interface FailureRateByTimeOptions {
  /** The circuit opens when the failed fraction of the window is above this, in [0, 1). Default 0.5. */
  rate?: number;
  /** The window, ms. Default 30,000 (Finagle's and cockatiel's sampling examples). */
  windowMs?: number;
  /** Buckets the window slides by, 1..1000: it moves on by `windowMs / buckets`. Default 10. */
  buckets?: number;
  /** No opening before the window holds this many calls. Default 100 (Resilience4j's `minimumNumberOfCalls`). */
  minimumCalls?: number;
}

/**
 * Opens on a failure when, over the last `windowMs` (a sliding time window
 * on the breaker's clock), at least `minimumCalls` calls were seen and more
 * than `rate` of them failed: `failures > rate × calls` (cockatiel's
 * `SamplingBreaker`, Resilience4j's TIME_BASED window, Finagle's success
 * rate within a duration). Defaults: rate 0.5, windowMs 30,000, buckets 10,
 * minimumCalls 100.
 *
 * The window is `buckets` buckets of `windowMs / buckets` ms each, aligned
 * on the clock (bucket k holds the calls settled in [k × width, (k + 1) ×
 * width)), counted in typed arrays: a call settled at `t` counts while the
 * clock is below `(floor(t / width) + buckets) × width`, that is for
 * between `windowMs − width` and `windowMs`.
 *
 * @example
 * // Opens when more than 20% of the calls of the last 10 s failed, once 50 were seen.
 * const strategy = failureRateByTime({ rate: 0.2, windowMs: 10_000, minimumCalls: 50 });
 * @throws InvalidConfigError naming the option that is out of range.
 */
export function failureRateByTime(options?: FailureRateByTimeOptions): BreakerStrategy {
  const o = checkOptions<Record<string, unknown>>(options, "failureRateByTime()");
  const windowMs = o.windowMs ?? 30_000;
  if (typeof windowMs !== "number" || !(windowMs > 0 && windowMs < Number.POSITIVE_INFINITY)) {
    throw new InvalidConfigError("windowMs", `must be a finite number of ms > 0, got ${show(windowMs)}`);
  }
  const buckets = checkInteger(o.buckets, "buckets", 10, 1, 1000);
  return new FailureRateByTime(
    rateOption("rate", o.rate, 0.5),
    windowMs / buckets,
    buckets,
    checkInteger(o.minimumCalls, "minimumCalls", 100, 1, 2 ** 31 - 1),
  );
}

class FailureRateByTime implements BreakerStrategy {
  readonly name = "failure-rate-by-time";
  readonly timed = true;
  readonly #rate: number;
  readonly #width: number;
  readonly #minimum: number;
  // Per bucket: the bucket number it holds (floor(time / width)), its calls and failures.
  readonly #stamp: Float64Array;
  readonly #calls: Int32Array;
  readonly #failures: Int32Array;

  constructor(rate: number, width: number, buckets: number, minimum: number) {
    this.#rate = rate;
    this.#width = width;
    this.#minimum = minimum;
    this.#stamp = new Float64Array(buckets).fill(Number.NEGATIVE_INFINITY);
    this.#calls = new Int32Array(buckets);
    this.#failures = new Int32Array(buckets);
  }

  success(_latencyMs: number, now: number): boolean {
    this.#record(now, 0);
    return false;
  }

  failure(_latencyMs: number, now: number): boolean {
    const b = this.#record(now, 1);
    const n = this.#stamp.length;
    let calls = 0;
    let failures = 0;
    for (let i = 0; i < n; i++) {
      if ((this.#stamp[i] as number) > b - n) {
        calls += this.#calls[i] as number;
        failures += this.#failures[i] as number;
      }
    }
    return calls >= this.#minimum && failures > this.#rate * calls;
  }

  reset(): void {
    this.#stamp.fill(Number.NEGATIVE_INFINITY);
    this.#calls.fill(0);
    this.#failures.fill(0);
  }

  /**
   * `bucketMs`, and `calls` and `failures` per bucket, newest first: index 0
   * is the bucket holding `now`, index k the bucket k widths before it.
   */
  snapshot(now: number): { bucketMs: number; calls: number[]; failures: number[] } {
    const n = this.#stamp.length;
    const b = Math.floor(now / this.#width);
    const calls: number[] = [];
    const failures: number[] = [];
    for (let k = 0; k < n; k++) {
      const i = index(b - k, n);
      const live = this.#stamp[i] === b - k;
      calls.push(live ? (this.#calls[i] as number) : 0);
      failures.push(live ? (this.#failures[i] as number) : 0);
    }
    return { bucketMs: this.#width, calls, failures };
  }

  /** Restores the buckets of a snapshot taken with the same bucket width; one of another width is dropped. */
  restore(state: unknown, now: number): void {
    const bucketMs = stateField(state, "bucketMs");
    if (typeof bucketMs !== "number" || !(bucketMs > 0 && bucketMs < Number.POSITIVE_INFINITY)) {
      throw new InvalidArgumentError("state.bucketMs", `must be a finite number of ms > 0, got ${show(bucketMs)}`);
    }
    const calls = countsField(state, "calls", 2 ** 31 - 1);
    const failures = countsField(state, "failures", 2 ** 31 - 1);
    if (failures.length !== calls.length) {
      throw new InvalidArgumentError("state.failures", "must have as many entries as state.calls");
    }
    failures.forEach((f, k) => {
      if (f > (calls[k] as number)) {
        throw new InvalidArgumentError(`state.failures[${k}]`, `must be at most state.calls[${k}]`);
      }
    });
    this.reset();
    if (bucketMs !== this.#width) return;
    const n = this.#stamp.length;
    const b = Math.floor(now / this.#width);
    for (let k = 0; k < Math.min(n, calls.length); k++) {
      const i = index(b - k, n);
      this.#stamp[i] = b - k;
      this.#calls[i] = calls[k] as number;
      this.#failures[i] = failures[k] as number;
    }
  }

  /** Counts a call in the bucket of `now`, emptying the bucket first when it held an older one; returns its number. */
  #record(now: number, failed: 0 | 1): number {
    const b = Math.floor(now / this.#width);
    const i = index(b, this.#stamp.length);
    if (this.#stamp[i] !== b) {
      this.#stamp[i] = b;
      this.#calls[i] = 0;
      this.#failures[i] = 0;
    }
    this.#calls[i] = (this.#calls[i] as number) + 1;
    this.#failures[i] = (this.#failures[i] as number) + failed;
    return b;
  }
}

/** The ring index of bucket number `b` (which may be negative: a clock may start below 0). */
function index(b: number, n: number): number {
  return ((b % n) + n) % n;
}
