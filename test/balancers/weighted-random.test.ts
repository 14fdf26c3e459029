import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RandomPicker, WeightedRandomPicker, weightedRandom } from "../../src/index.js";
import { seededRandom } from "../../src/testing/index.js";
import { context, pickIndexes, tally, weightedEndpoints } from "../helpers/picks.js";

describe("weightedRandom()", () => {
  it("maps one random number to bucket and primary-or-alias (alias method)", () => {
    // Weights 3:1 → scaled per bucket (n=2, total 4): bucket 0 is all endpoint 0;
    // bucket 1 is endpoint 1 for 2/4 of it and endpoint 0 (its alias) for the rest.
    const endpoints = weightedEndpoints([3, 1]);
    const mirror = seededRandom(11);
    const expected = Array.from({ length: 40 }, () => {
      const u = mirror.next() * 2;
      const bucket = Math.floor(u);
      return bucket === 0 ? 0 : u - bucket < 0.5 ? 1 : 0;
    });
    const picker = weightedRandom().build(endpoints, context(11));
    expect(picker).toBeInstanceOf(WeightedRandomPicker);
    expect(pickIndexes(picker, endpoints, 40)).toEqual(expected);
  });

  it("falls back to plain random for equal weights", () => {
    expect(weightedRandom().build(weightedEndpoints([4, 4]), context())).toBeInstanceOf(RandomPicker);
  });

  it("property: each share within 5 standard deviations over 20,000 picks; weight 0 never picked", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 65535 }), { minLength: 1, maxLength: 12 }),
        fc.integer(),
        (weights, seed) => {
          const endpoints = weightedEndpoints(weights);
          const total = weights.reduce((a, b) => a + b, 0);
          const picker = weightedRandom().build(endpoints, context(seed));
          if (total === 0) return picker.pick() === undefined;
          const picks = 20_000;
          const counts = tally(pickIndexes(picker, endpoints, picks), weights.length);
          return counts.every((c, i) => {
            const p = (weights[i] as number) / total;
            if (p === 0) return c === 0;
            const sd = Math.sqrt(picks * p * (1 - p));
            return Math.abs(c - picks * p) <= 5 * sd + 1;
          });
        },
      ),
      { numRuns: 60, seed: 314 },
    );
  });
});
