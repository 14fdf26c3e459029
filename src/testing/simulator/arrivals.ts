import type { Random } from "../../random.js";

/**
 * How requests are spaced in an open-loop run: `"poisson"` (independent
 * arrivals, exponential gaps of mean 1000 / ratePerSecond ms, as many users
 * acting on their own) or `"fixed"` (exactly 1000 / ratePerSecond ms apart,
 * the first at 0, as a load generator's constant rate).
 */
export type ArrivalSpacing = "poisson" | "fixed";

/**
 * The arrival times of an open-loop run: requests arrive at their own pace,
 * whatever the backends' latency (a closed loop would wait for answers and
 * hide a slow backend). `time` is the next arrival, `Infinity` once the run's
 * duration is over. @internal
 */
export class Arrivals {
  /** The next arrival, ms; `Infinity` when no more arrive before the end. */
  time: number;
  readonly #gapMs: number;
  readonly #ratePerSecond: number;
  readonly #durationMs: number;
  readonly #poisson: boolean;
  readonly #random: Random;
  #count = 0;

  constructor(ratePerSecond: number, durationMs: number, spacing: ArrivalSpacing, random: Random) {
    this.#gapMs = 1000 / ratePerSecond;
    this.#ratePerSecond = ratePerSecond;
    this.#durationMs = durationMs;
    this.#poisson = spacing === "poisson";
    this.#random = random;
    this.time = this.#poisson ? this.#bounded(this.#expGap()) : 0;
  }

  /** Moves to the next arrival. */
  advance(): void {
    this.#count++;
    // Fixed spacing: k × 1000 / rate, computed afresh (sums of 1000 / rate would drift).
    this.time = this.#bounded(this.#poisson ? this.time + this.#expGap() : (this.#count * 1000) / this.#ratePerSecond);
  }

  #expGap(): number {
    return -Math.log(1 - this.#random.next()) * this.#gapMs;
  }

  #bounded(time: number): number {
    return time < this.#durationMs ? time : Number.POSITIVE_INFINITY;
  }
}
