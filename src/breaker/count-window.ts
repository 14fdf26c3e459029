import { checkInteger, checkOptions } from "../options.js";
import { BitWindow } from "./ring.js";
import type { BreakerStrategy } from "./strategy.js";
import { rateOption } from "./strategy.js";

/** Options of `failureRateByCount()`. */
export interface FailureRateByCountOptions {
  /** The circuit opens when the failed fraction of the window is above this, in [0, 1). Default 0.5. */
  rate?: number;
  /** The window: the last this many calls. Default 100 (Resilience4j's `slidingWindowSize`). */
  calls?: number;
  /** No opening before the window holds this many calls, 1..`calls`. Default `calls` (cockatiel's `CountBreaker`). */
  minimumCalls?: number;
}

/**
 * Opens on a failure when, over the last `calls` calls (a sliding count
 * window), at least `minimumCalls` were seen and more than `rate` of them
 * failed: `failures > rate × calls seen` (cockatiel's `CountBreaker`;
 * Resilience4j's COUNT_BASED window). Defaults: rate 0.5, calls 100,
 * minimumCalls = calls.
 *
 * @example
 * // Opens when more than 30% of the last 50 calls failed, once 20 were seen.
 * const strategy = failureRateByCount({ rate: 0.3, calls: 50, minimumCalls: 20 });
 * @throws InvalidConfigError naming the option that is out of range.
 */
export function failureRateByCount(options?: FailureRateByCountOptions): BreakerStrategy {
  const o = checkOptions<Record<string, unknown>>(options, "failureRateByCount()");
  const calls = checkInteger(o.calls, "calls", 100, 1, 1_000_000);
  return new FailureRateByCount(
    rateOption("rate", o.rate, 0.5),
    calls,
    checkInteger(o.minimumCalls, "minimumCalls", calls, 1, calls),
  );
}

class FailureRateByCount implements BreakerStrategy {
  readonly name = "failure-rate-by-count";
  readonly #rate: number;
  readonly #minimum: number;
  readonly #window: BitWindow;

  constructor(rate: number, calls: number, minimum: number) {
    this.#rate = rate;
    this.#minimum = minimum;
    this.#window = new BitWindow(calls);
  }

  success(): boolean {
    this.#window.push(0);
    return false;
  }

  failure(): boolean {
    const w = this.#window;
    w.push(1);
    return w.count >= this.#minimum && w.ones > this.#rate * w.count;
  }

  reset(): void {
    this.#window.clear();
  }

  /** `outcomes`: the window, oldest first, 1 for a failure. */
  snapshot(): { outcomes: number[] } {
    return { outcomes: this.#window.toArray() };
  }

  restore(state: unknown): void {
    this.#window.restore(state, "outcomes");
  }
}
