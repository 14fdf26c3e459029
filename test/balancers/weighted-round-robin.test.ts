import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Picker } from "../../src/index.js";
import { RoundRobinPicker, WeightedRoundRobinPicker, weightedRoundRobin } from "../../src/index.js";
import { context, gcd, pickIndexes, tally, weightedEndpoints } from "../helpers/picks.js";

/** Lengths of a weighted round robin picker's tables (share, accumulator, alias): its memory is O(their size). */
function tableSizes(picker: Picker): number[] {
  const { share, acc, alias } = picker as unknown as { share: Float64Array; acc: Float64Array; alias: unknown[] };
  return [share.length, acc.length, alias.length];
}

describe("weightedRoundRobin()", () => {
  it("gives each endpoint exactly its share over a full cycle (n × Σw/gcd picks)", () => {
    const endpoints = weightedEndpoints([5, 3, 2]);
    const picker = weightedRoundRobin().build(endpoints, context(1));
    expect(picker).toBeInstanceOf(WeightedRoundRobinPicker);
    for (let cycle = 0; cycle < 4; cycle++) expect(tally(pickIndexes(picker, endpoints, 30), 3)).toEqual([15, 9, 6]);
  });

  it("produces an exact, repeatable sequence for a seed", () => {
    const endpoints = weightedEndpoints([5, 3, 2]);
    const a = pickIndexes(weightedRoundRobin().build(endpoints, context(42)), endpoints, 30).join("");
    const b = pickIndexes(weightedRoundRobin().build(endpoints, context(42)), endpoints, 30).join("");
    expect(a).toBe(b);
    expect(a).toMatchInlineSnapshot(`"200001201201001201001201201001"`);
  });

  it("interleaves smoothly: 80/20 never puts the light endpoint twice in a row, the heavy one at most 5 times (ideal 4)", () => {
    const endpoints = weightedEndpoints([80, 20]);
    const picks = pickIndexes(weightedRoundRobin().build(endpoints, context(7)), endpoints, 1000);
    expect(tally(picks, 2)).toEqual([800, 200]);
    expect(picks.join("")).not.toContain("11");
    expect(picks.join("")).toContain("0000");
    expect(picks.join("")).not.toContain("000000");
  });

  it("never expands weights: 65535 against 1 builds a table of two buckets", () => {
    const endpoints = weightedEndpoints([65535, 1]);
    const picker = weightedRoundRobin().build(endpoints, context(1));
    expect(tableSizes(picker)).toEqual([2, 2, 2]);
    expect(tally(pickIndexes(picker, endpoints, 2 * 65536), 2)).toEqual([2 * 65535, 2]);
  });

  it("falls back to plain round robin when weights are equal", () => {
    expect(weightedRoundRobin().build(weightedEndpoints([7, 7, 7]), context())).toBeInstanceOf(RoundRobinPicker);
  });

  it("skips weight 0 and builds nothing over an all-zero set", () => {
    const endpoints = weightedEndpoints([3, 0, 1]);
    expect(tally(pickIndexes(weightedRoundRobin().build(endpoints, context()), endpoints, 8), 3)).toEqual([6, 0, 2]);
    expect(
      weightedRoundRobin()
        .build(weightedEndpoints([0]), context())
        .pick(),
    ).toBeUndefined();
  });

  const weightsArb = fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 10 });

  it("property: exact proportions over each of three full cycles; weight 0 never picked; nothing outside the set", () => {
    fc.assert(
      fc.property(weightsArb, fc.integer(), (weights, seed) => {
        const endpoints = weightedEndpoints(weights);
        const live = weights.filter((w) => w > 0);
        const picker = weightedRoundRobin().build(endpoints, context(seed));
        if (live.length === 0) return picker.pick() === undefined;
        const g = live.reduce(gcd);
        const total = live.reduce((a, b) => a + b, 0) / g;
        for (let cycle = 0; cycle < 3; cycle++) {
          const counts = tally(pickIndexes(picker, endpoints, live.length * total), weights.length);
          if (!counts.every((c, i) => c === ((weights[i] as number) / g) * live.length)) return false;
        }
        return true;
      }),
      { numRuns: 200, seed: 20261122 },
    );
  });

  it("property (smoothness): after every pick k, each endpoint's count is within 8 of k × share, and no run is longer than twice the ideal run plus 6", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 65535 }), { minLength: 2, maxLength: 40 }),
        fc.integer(),
        (weights, seed) => {
          const endpoints = weightedEndpoints(weights);
          const total = weights.reduce((a, b) => a + b, 0);
          const picks = pickIndexes(weightedRoundRobin().build(endpoints, context(seed)), endpoints, 5000);
          const counts = new Array<number>(weights.length).fill(0);
          let run = 0;
          for (let k = 0; k < picks.length; k++) {
            const i = picks[k] as number;
            counts[i] = (counts[i] as number) + 1;
            run = k > 0 && picks[k - 1] === i ? run + 1 : 1;
            const share = (weights[i] as number) / total;
            const idealRun = share === 1 ? Number.POSITIVE_INFINITY : Math.ceil(share / (1 - share));
            if (run > 2 * idealRun + 6) return false;
            for (let j = 0; j < weights.length; j++) {
              if (Math.abs((counts[j] as number) - ((k + 1) * (weights[j] as number)) / total) > 8) return false;
            }
          }
          return true;
        },
      ),
      { numRuns: 100, seed: 7 },
    );
  });

  it("builds over 100,000 endpoints with weights up to 65535 in O(n) memory", () => {
    const weights = Array.from({ length: 100_000 }, (_, i) => 1 + ((i * 7919) % 65535));
    const endpoints = weightedEndpoints(weights.slice(0, 10)).slice(0, 0);
    for (let i = 0; i < weights.length; i++) {
      endpoints.push({ ...weightedEndpoints([weights[i] as number])[0]!, id: `e${i}` });
    }
    const picker = weightedRoundRobin().build(endpoints, context());
    expect(picker).toBeInstanceOf(WeightedRoundRobinPicker);
    expect(tableSizes(picker)).toEqual([100_000, 100_000, 100_000]);
    const seen = new Set<string>();
    for (let k = 0; k < 1000; k++) seen.add((picker.pick() as { id: string }).id);
    expect(seen.size).toBe(705); // seeded: 1,000 picks over 1,000 consecutive buckets, primary or alias
  });
});
