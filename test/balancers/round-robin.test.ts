import { describe, expect, it } from "vitest";
import { EMPTY_PICKER, random, roundRobin } from "../../src/index.js";
import { seededRandom } from "../../src/testing/index.js";
import { context, pickIndexes, tally, weightedEndpoints } from "../helpers/picks.js";

describe("roundRobin()", () => {
  it("cycles in order from a random start drawn from the injected Random", () => {
    const endpoints = weightedEndpoints([100, 100, 100, 100]);
    for (const seed of [1, 2, 3, 4, 5]) {
      const start = Math.floor(seededRandom(seed).next() * 4);
      const picks = pickIndexes(roundRobin().build(endpoints, context(seed)), endpoints, 9);
      expect(picks).toEqual(Array.from({ length: 9 }, (_, k) => (start + k) % 4));
    }
  });

  it("ignores weights but never picks weight 0", () => {
    const endpoints = weightedEndpoints([1, 0, 500]);
    const picks = pickIndexes(roundRobin().build(endpoints, context(3)), endpoints, 100);
    expect(tally(picks, 3)).toEqual([50, 0, 50]);
  });

  it("builds the empty picker when nothing has weight", () => {
    expect(roundRobin().build(weightedEndpoints([0, 0]), context())).toBe(EMPTY_PICKER);
    expect(roundRobin().build([], context()).pick()).toBeUndefined();
  });
});

describe("random()", () => {
  it("draws uniformly from the injected Random: index = floor(next() × n)", () => {
    const endpoints = weightedEndpoints([10, 20, 30]);
    const mirror = seededRandom(9);
    const picks = pickIndexes(random().build(endpoints, context(9)), endpoints, 50);
    expect(picks).toEqual(Array.from({ length: 50 }, () => Math.floor(mirror.next() * 3)));
  });

  it("spreads evenly and skips weight 0", () => {
    const endpoints = weightedEndpoints([1, 0, 1, 1]);
    const counts = tally(pickIndexes(random().build(endpoints, context(4)), endpoints, 30_000), 4);
    expect(counts[1]).toBe(0);
    for (const i of [0, 2, 3]) expect(Math.abs((counts[i] as number) - 10_000)).toBeLessThan(400);
  });
});
