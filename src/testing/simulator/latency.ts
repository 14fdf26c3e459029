import { InvalidConfigError, show } from "../../errors.js";
import type { Random } from "../../random.js";

/**
 * How long a simulated backend takes to answer one request, in ms: a
 * function of the backend's own seeded `Random` and the time the request
 * began (ms since the start of the run). The simulator calls it once per
 * request the backend gets, in order, so the same seed gives the same
 * latencies. Write your own for any shape the built-in ones miss; it must
 * return a finite number ≥ 0 (the run stops with `InvalidConfigError`
 * otherwise).
 *
 * @example
 * // 1% of requests take 2 s, the rest 20 ms.
 * const spiky: LatencyDistribution = (random) => (random.next() < 0.01 ? 2000 : 20);
 */
export type LatencyDistribution = (random: Random, timeMs: number) => number;

/** Every request takes `ms`. @throws InvalidConfigError unless `ms` is a finite number ≥ 0. */
export function constantLatency(ms: number): LatencyDistribution {
  checkMs("ms", ms);
  return () => ms;
}

/**
 * Normally distributed latency, truncated at 0: a draw below 0 is drawn
 * again, so the result follows the normal distribution conditioned on being
 * ≥ 0 (with `mean` ≥ 0 at most half the draws are redrawn; with `mean` a
 * few `stdev` above 0, practically none). Box–Muller, two uniform numbers
 * per draw.
 *
 * @example
 * normalLatency(167, 5) // Linkerd's "Beyond Round Robin" backends
 * @throws InvalidConfigError unless `mean` and `stdev` are finite numbers ≥ 0.
 */
export function normalLatency(mean: number, stdev: number): LatencyDistribution {
  checkMs("mean", mean);
  checkMs("stdev", stdev);
  return (random) => {
    for (;;) {
      const x = mean + stdev * standardNormal(random);
      if (x >= 0) return x;
    }
  };
}

/**
 * Log-normal latency: e^(μ + σZ) with Z standard normal and μ = ln(`median`),
 * so half the requests take less than `median`. `sigma` sets the tail: the
 * p99 is median × e^(2.326σ) (σ = 0.5: 3.2× the median; σ = 1: 10×). The
 * usual shape of service latencies: never below 0, a long right tail.
 *
 * @example
 * logNormalLatency(20, 0.5) // median 20 ms, p99 ≈ 64 ms
 * @throws InvalidConfigError unless `median` is a finite number > 0 and `sigma` a finite number ≥ 0.
 */
export function logNormalLatency(median: number, sigma: number): LatencyDistribution {
  if (!(typeof median === "number" && Number.isFinite(median) && median > 0)) {
    throw new InvalidConfigError("median", `must be a finite number of ms > 0, got ${show(median)}`);
  }
  if (!(typeof sigma === "number" && Number.isFinite(sigma) && sigma >= 0)) {
    throw new InvalidConfigError("sigma", `must be a finite number >= 0, got ${show(sigma)}`);
  }
  const mu = Math.log(median);
  return (random) => Math.exp(mu + sigma * standardNormal(random));
}

/**
 * One standard normal number (Box–Muller, the cosine half): two uniform
 * numbers from `random`, u1 taken in (0, 1] so its logarithm is finite.
 * Nothing is cached between calls, so a distribution holds no state and
 * two runs with the same seed draw the same numbers.
 */
function standardNormal(random: Random): number {
  const u1 = 1 - random.next();
  const u2 = random.next();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

function checkMs(option: string, ms: unknown): void {
  if (!(typeof ms === "number" && Number.isFinite(ms) && ms >= 0)) {
    throw new InvalidConfigError(option, `must be a finite number of ms >= 0, got ${show(ms)}`);
  }
}
