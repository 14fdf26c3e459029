import { InvalidConfigError, show } from "../errors.js";
import { checkInteger, checkOptions } from "../options.js";
import { BitWindow } from "./ring.js";
import type { BreakerStrategy } from "./strategy.js";
import { rateOption } from "./strategy.js";

/** Options of `slowCallRate()`. */
export interface SlowCallRateOptions {
  /** A call that took longer than this (ms) is slow. Required. */
  slowMs: number;
  /** The circuit opens when the slow fraction of the window is above this, in [0, 1). Default 0.5. */
  rate?: number;
  /** The window: the last this many calls. Default 100 (Resilience4j's `slidingWindowSize`). */
  calls?: number;
  /** No opening before the window holds this many calls, 1..`calls`. Default `calls`. */
  minimumCalls?: number;
}

/**
 * Opens when, over the last `calls` calls (successes and failures alike), at
 * least `minimumCalls` were seen and more than `rate` of them were slow,
 * slower than `slowMs`: `slow > rate × calls seen` (Resilience4j's
 * slow-call rate, with cockatiel's "above the threshold" rule). A call with
 * no latency known is not slow. Failures do not open it by themselves:
 * combine it with a failure strategy through `anyStrategy()`.
 *
 * It is a timed strategy: a `CircuitBreaker` reads its clock when a call
 * starts and when it settles, unless the call gives its latency
 * (`permit.success(latencyMs)`); the per-endpoint plug-in takes the
 * attempt's latency from the upstream.
 *
 * @example
 * // Opens when more than half of the last 20 calls took over 2 s.
 * const strategy = anyStrategy(consecutiveFailures(5), slowCallRate({ slowMs: 2000, calls: 20 }));
 * @throws InvalidConfigError naming the option that is missing or out of range.
 */
export function slowCallRate(options: SlowCallRateOptions): BreakerStrategy {
  const o = checkOptions<Record<string, unknown>>(options, "slowCallRate()");
  const slowMs = o.slowMs;
  if (typeof slowMs !== "number" || !(slowMs >= 0 && slowMs < Number.POSITIVE_INFINITY)) {
    throw new InvalidConfigError("slowMs", `must be a finite number of ms >= 0, got ${show(slowMs)}`);
  }
  const calls = checkInteger(o.calls, "calls", 100, 1, 1_000_000);
  return new SlowCallRate(
    slowMs,
    rateOption("rate", o.rate, 0.5),
    calls,
    checkInteger(o.minimumCalls, "minimumCalls", calls, 1, calls),
  );
}

class SlowCallRate implements BreakerStrategy {
  readonly name = "slow-call-rate";
  readonly timed = true;
  readonly #slowMs: number;
  readonly #rate: number;
  readonly #minimum: number;
  readonly #window: BitWindow;

  constructor(slowMs: number, rate: number, calls: number, minimum: number) {
    this.#slowMs = slowMs;
    this.#rate = rate;
    this.#minimum = minimum;
    this.#window = new BitWindow(calls);
  }

  success(latencyMs: number): boolean {
    return this.#record(latencyMs);
  }

  failure(latencyMs: number): boolean {
    return this.#record(latencyMs);
  }

  reset(): void {
    this.#window.clear();
  }

  /** `outcomes`: the window, oldest first, 1 for a slow call. */
  snapshot(): { outcomes: number[] } {
    return { outcomes: this.#window.toArray() };
  }

  restore(state: unknown): void {
    this.#window.restore(state, "outcomes");
  }

  #record(latencyMs: number): boolean {
    const w = this.#window;
    w.push(latencyMs > this.#slowMs ? 1 : 0);
    return w.count >= this.#minimum && w.ones > this.#rate * w.count;
  }
}
