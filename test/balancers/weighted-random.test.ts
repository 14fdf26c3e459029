import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SKIP_BOUND } from "../../src/balancer.js";
import { buildAliasTable } from "../../src/balancers/alias-table.js";
import { PickerRandom } from "../../src/balancers/picker-random.js";
import { randomPicker } from "../../src/balancers/random.js";
import { random, weightedRandom } from "../../src/index.js";
import { seededRandom } from "../../src/testing/index.js";
import { context, fixture, pickIndexes, setDown, tally, weightsWithDown } from "../helpers/picks.js";

/** Whether each of `counts` is within 5 standard deviations (+1) of `picks` × weight / Σweight. */
function proportional(counts: readonly number[], weights: readonly number[], picks: number): boolean {
  const total = weights.reduce((a, b) => a + b, 0);
  return counts.every((c, i) => {
    const p = (weights[i] as number) / total;
    if (p === 0) return c === 0;
    return Math.abs(c - picks * p) <= 5 * Math.sqrt(picks * p * (1 - p)) + 1;
  });
}

describe("weightedRandom()", () => {
  it("draws a bucket, then primary or alias by its share (alias method), from a picker-local generator", () => {
    // Weights 3:1 → n = 2, total 4: bucket 0 is all host 0; bucket 1 is host 1 for 2 parts of 4, host 0 for the rest.
    const f = fixture([3, 1], 11);
    const table = buildAliasTable(f.hosts);
    expect([...table.share]).toEqual([4, 2]);
    expect([...table.alias]).toEqual([0, 0]);
    // A second 31-bit draw keeps bucket 1's primary below 2^31 × 2/4 (bucket 0 is full: always its primary).
    const mirror = new PickerRandom(seededRandom(11));
    const expected = Array.from({ length: 40 }, () => {
      const b = mirror.below(2);
      const r = mirror.next31();
      return b === 0 || r < 2 ** 30 ? b : (table.alias[b] as number);
    });
    expect(pickIndexes(weightedRandom().build(f.hosts, f.context), f.endpoints, 40)).toEqual(expected);
  });

  it("is repeatable for a seed and differs across seeds", () => {
    const sequence = (seed: number) => {
      const f = fixture([5, 3, 2], seed);
      return pickIndexes(weightedRandom().build(f.hosts, f.context), f.endpoints, 32).join("");
    };
    expect(sequence(42)).toBe(sequence(42));
    expect(sequence(42)).toMatchInlineSnapshot(`"01112210101202111002010100101110"`);
    expect(new Set([1, 2, 3, 4, 5, 6, 7, 8].map(sequence)).size).toBe(8);
  });

  it("falls back to plain random for equal weights: the same sequence as random() for the seed", () => {
    for (const seed of [1, 2, 3]) {
      const f = fixture([4, 4, 4], seed);
      const weighted = pickIndexes(weightedRandom().build(f.hosts, context(seed, f.table)), f.endpoints, 40);
      expect(weighted).toEqual(pickIndexes(random().build(f.hosts, context(seed, f.table)), f.endpoints, 40));
      expect(weighted).toEqual(pickIndexes(randomPicker(f.hosts, context(seed, f.table)), f.endpoints, 40));
    }
  });

  it("property: each share within 5 standard deviations over 20,000 picks", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 65535 }), { minLength: 1, maxLength: 12 }),
        fc.integer(),
        (weights, seed) => {
          const f = fixture(weights, seed);
          const picks = 20_000;
          const picker = weightedRandom().build(f.hosts, f.context);
          return proportional(tally(pickIndexes(picker, f.endpoints, picks), weights.length), weights, picks);
        },
      ),
      { numRuns: 60, seed: 314 },
    );
  });
});

describe("weighted random skipping ejected hosts", () => {
  it("stays proportional over the eligible hosts and never returns a down one; a host back up is picked with no rebuild", () => {
    const f = fixture([1, 2, 3, 4], 21);
    const picker = weightedRandom().build(f.hosts, f.context);
    setDown(f.table, f.hosts, [2]);
    const counts = tally(pickIndexes(picker, f.endpoints, 70_000), 4);
    expect(counts[2]).toBe(0);
    expect(proportional(counts, [1, 2, 0, 4], 70_000)).toBe(true);
    setDown(f.table, f.hosts, [2], false);
    setDown(f.table, f.hosts, [3]);
    const again = tally(pickIndexes(picker, f.endpoints, 60_000), 4);
    expect(again[3]).toBe(0);
    expect(proportional(again, [1, 2, 3, 0], 60_000)).toBe(true);
  });

  it("property: never returns a down host, and stays within 5 sd of its share among the eligible ones", () => {
    fc.assert(
      fc.property(weightsWithDown(1000, 2, 10), fc.integer(), ([weights, down], seed) => {
        const f = fixture(weights, seed);
        const picker = weightedRandom().build(f.hosts, f.context);
        setDown(f.table, f.hosts, down);
        const picks = pickIndexes(picker, f.endpoints, 10_000);
        if (picks.some((p) => down.includes(p))) return false;
        // A give-up (SKIP_BOUND draws all down) is possible when the eligible share is small: leave those out.
        const defined = picks.filter((p) => p !== -2);
        const eligible = weights.map((w, i) => (down.includes(i) ? 0 : w));
        return proportional(tally(defined, weights.length), eligible, defined.length);
      }),
      { numRuns: 60, seed: 2718 },
    );
  });

  it(`gives up after ${SKIP_BOUND} draws when every host is down, having drawn exactly that many`, () => {
    for (const weights of [[5, 3, 2], new Array(40).fill(0).map((_, i) => 1 + (i % 7))]) {
      const f = fixture(weights, 8);
      const picker = weightedRandom().build(f.hosts, f.context);
      const twin = weightedRandom().build(f.hosts, context(8, f.table, false));
      const all = f.hosts.map((_, i) => i);
      setDown(f.table, f.hosts, all);
      expect(pickIndexes(picker, f.endpoints, 2)).toEqual([-2, -2]);
      const steps = pickIndexes(twin, f.endpoints, 2 * SKIP_BOUND + 20);
      setDown(f.table, f.hosts, all, false);
      expect(pickIndexes(picker, f.endpoints, 20)).toEqual(steps.slice(2 * SKIP_BOUND));
    }
  });

  it("in panic (skipEjected false) returns down hosts as if up: the same sequence as with none down", () => {
    const f = fixture([5, 3, 2], 42);
    const before = pickIndexes(weightedRandom().build(f.hosts, context(42, f.table, false)), f.endpoints, 60);
    const picker = weightedRandom().build(f.hosts, context(42, f.table, false));
    setDown(f.table, f.hosts, [0, 2]);
    expect(pickIndexes(picker, f.endpoints, 60)).toEqual(before);
  });
});
