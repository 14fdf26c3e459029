import { describe, expect, it } from "vitest";
import type { LatencyDistribution } from "../../src/testing/index.js";
import { constantLatency, logNormalLatency, normalLatency, seededRandom } from "../../src/testing/index.js";
import { summarize } from "../../src/testing/simulator/report.js";
import { expectConfigErrors } from "../helpers/config-errors.js";

/** `n` draws of `latency` from a Random seeded with `seed`, at time 0. */
function draws(latency: LatencyDistribution, n: number, seed = 7): Float64Array {
  const random = seededRandom(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = latency(random, 0);
  return out;
}

function meanAndSd(xs: Float64Array): { mean: number; sd: number } {
  let sum = 0;
  for (const x of xs) sum += x;
  const mean = sum / xs.length;
  let sq = 0;
  for (const x of xs) sq += (x - mean) ** 2;
  return { mean, sd: Math.sqrt(sq / (xs.length - 1)) };
}

const N = 100_000;

describe("latency distributions", () => {
  it("constantLatency(ms) is ms on every draw and draws no random number", () => {
    let calls = 0;
    const random = {
      next: () => {
        calls++;
        return 0.5;
      },
    };
    const c = constantLatency(12.5);
    expect([c(random, 0), c(random, 1e6), c(random, 3)]).toEqual([12.5, 12.5, 12.5]);
    expect(calls).toBe(0);
    expect(constantLatency(0)(random, 0)).toBe(0);
  });

  it("normalLatency(167, 5): mean and standard deviation within 4 standard errors over 100,000 seeded draws", () => {
    const xs = draws(normalLatency(167, 5), N);
    const { mean, sd } = meanAndSd(xs);
    // Standard error of the mean 5/√N ≈ 0.016; of the sd ≈ 5/√(2N) ≈ 0.011.
    expect(Math.abs(mean - 167)).toBeLessThan(4 * (5 / Math.sqrt(N)));
    expect(Math.abs(sd - 5)).toBeLessThan(4 * (5 / Math.sqrt(2 * N)));
    // Nearest-rank percentiles against the normal's: p50 = μ, p99 = μ + 2.326σ (≈ 178.6).
    const s = summarize(xs);
    expect(Math.abs(s.p50 - 167)).toBeLessThan(0.1);
    expect(Math.abs(s.p99 - (167 + 2.3263 * 5))).toBeLessThan(0.3);
  });

  it("normalLatency() is truncated at 0: normalLatency(0, 10) is the half-normal, mean 10·√(2/π)", () => {
    const xs = draws(normalLatency(0, 10), N);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    const { mean } = meanAndSd(xs);
    // Half-normal: mean σ√(2/π) ≈ 7.979, sd σ√(1 − 2/π) ≈ 6.028: standard error ≈ 0.019.
    expect(Math.abs(mean - 10 * Math.sqrt(2 / Math.PI))).toBeLessThan(4 * (6.028 / Math.sqrt(N)));
    expect(draws(normalLatency(3, 0), 5)).toEqual(new Float64Array([3, 3, 3, 3, 3]));
  });

  it("logNormalLatency(median, σ): the median is the median; p99 is median · e^(2.326σ); never negative", () => {
    const xs = draws(logNormalLatency(20, 0.5), N);
    expect(Math.min(...xs)).toBeGreaterThan(0);
    const s = summarize(xs);
    // The sample median's standard error ≈ 1.2533 · σ_ln · median / √N ≈ 0.04 ms.
    expect(Math.abs(s.p50 - 20)).toBeLessThan(0.2);
    expect(Math.abs(s.p99 / (20 * Math.exp(2.3263 * 0.5)) - 1)).toBeLessThan(0.03);
    // σ = 0: always e^(ln 8), 8 to the last bit or two.
    for (const x of draws(logNormalLatency(8, 0), 3)) expect(x).toBeCloseTo(8, 12);
  });

  it("the same seed gives the same draws; another seed others; a distribution keeps no state between calls", () => {
    const normal = normalLatency(100, 20);
    expect(draws(normal, 50, 1)).toEqual(draws(normal, 50, 1));
    expect(draws(normal, 50, 1)).not.toEqual(draws(normal, 50, 2));
    expect(draws(logNormalLatency(5, 1), 50, 3)).toEqual(draws(logNormalLatency(5, 1), 50, 3));
    // Each normal draw takes exactly two numbers (no cached second value of the pair).
    const random = seededRandom(9);
    normal(random, 0);
    const after = random.next();
    const fresh = seededRandom(9);
    fresh.next();
    fresh.next();
    expect(after).toBe(fresh.next());
  });

  it("bad parameters throw InvalidConfigError naming them", () => {
    expectConfigErrors(
      (ms: unknown) => constantLatency(ms as number),
      [
        [-1, "ms"],
        [Number.NaN, "ms"],
        [Number.POSITIVE_INFINITY, "ms"],
        ["5", "ms"],
      ],
    );
    expectConfigErrors(
      (mean: unknown, stdev: unknown) => normalLatency(mean as number, stdev as number),
      [
        [-5, 1, "mean"],
        [5, -1, "stdev"],
        [5, Number.NaN, "stdev"],
        [undefined, 1, "mean"],
      ],
    );
    expectConfigErrors(
      (median: unknown, sigma: unknown) => logNormalLatency(median as number, sigma as number),
      [
        [0, 1, "median"],
        [-2, 1, "median"],
        [10, -0.1, "sigma"],
        [10, Number.POSITIVE_INFINITY, "sigma"],
      ],
    );
  });
});

describe("summarize(): nearest-rank percentiles", () => {
  it("of 1..1000 ms: p50 500, p90 900, p95 950, p99 990, p99.9 999, max 1000, mean 500.5", () => {
    const xs = Float64Array.from({ length: 1000 }, (_, i) => 1000 - i); // unsorted on purpose
    expect(summarize(xs)).toEqual({
      count: 1000,
      mean: 500.5,
      p50: 500,
      p90: 900,
      p95: 950,
      p99: 990,
      p999: 999,
      max: 1000,
    });
  });

  it("rank ⌈p·n⌉ in integers: p99.9 of 60,000 is the 59,940th; of 3 values every percentile ≥ p50 is the max", () => {
    const xs = Float64Array.from({ length: 60_000 }, (_, i) => i + 1);
    expect(summarize(xs).p999).toBe(59_940);
    expect(summarize(Float64Array.of(3, 1, 2))).toEqual({
      count: 3,
      mean: 2,
      p50: 2,
      p90: 3,
      p95: 3,
      p99: 3,
      p999: 3,
      max: 3,
    });
    expect(summarize(Float64Array.of(7))).toEqual({
      count: 1,
      mean: 7,
      p50: 7,
      p90: 7,
      p95: 7,
      p99: 7,
      p999: 7,
      max: 7,
    });
  });

  it("with no values every field is 0", () => {
    expect(summarize(new Float64Array(0))).toEqual({
      count: 0,
      mean: 0,
      p50: 0,
      p90: 0,
      p95: 0,
      p99: 0,
      p999: 0,
      max: 0,
    });
  });
});
