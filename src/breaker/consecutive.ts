import { checkInteger } from "../options.js";
import type { BreakerStrategy } from "./strategy.js";
import { countField } from "./strategy.js";

/**
 * Opens after `threshold` failures in a row; a success starts the count
 * again (Finagle failure accrual's default policy, Envoy's consecutive_5xx,
 * cockatiel's `ConsecutiveBreaker`). Default 5, as Finagle and Envoy.
 *
 * @example
 * const breaker = new CircuitBreaker({ strategy: consecutiveFailures(5) });
 * @throws InvalidConfigError (`option: "threshold"`) unless `threshold` is an integer >= 1.
 */
export function consecutiveFailures(threshold?: number): BreakerStrategy {
  return new ConsecutiveFailures(checkInteger(threshold, "threshold", 5, 1, 2 ** 31 - 1));
}

class ConsecutiveFailures implements BreakerStrategy {
  readonly name = "consecutive-failures";
  readonly #threshold: number;
  #failures = 0;

  constructor(threshold: number) {
    this.#threshold = threshold;
  }

  success(): boolean {
    this.#failures = 0;
    return false;
  }

  failure(): boolean {
    this.#failures++;
    return this.#failures >= this.#threshold;
  }

  reset(): void {
    this.#failures = 0;
  }

  snapshot(): { failures: number } {
    return { failures: this.#failures };
  }

  restore(state: unknown): void {
    this.#failures = countField(state, "failures");
  }
}
