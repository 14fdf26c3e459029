import { describe, expect, it } from "vitest";
import { SKIP_BOUND } from "../../src/balancer.js";
import { PickerRandom } from "../../src/balancers/picker-random.js";
import { random } from "../../src/index.js";
import { seededRandom } from "../../src/testing/index.js";
import { context, fixture, pickIndexes, setDown, tally } from "../helpers/picks.js";

describe("random()", () => {
  it("draws index = below(n) from a picker-local generator seeded from the injected Random", () => {
    const f = fixture([10, 20, 30], 9);
    const mirror = new PickerRandom(seededRandom(9));
    const picks = pickIndexes(random().build(f.hosts, f.context), f.endpoints, 50);
    expect(picks).toEqual(Array.from({ length: 50 }, () => mirror.below(3)));
  });

  it("is repeatable for a seed and differs across seeds", () => {
    const sequence = (seed: number) => {
      const f = fixture([1, 1, 1, 1], seed);
      return pickIndexes(random().build(f.hosts, f.context), f.endpoints, 32).join("");
    };
    expect(sequence(42)).toBe(sequence(42));
    expect(sequence(42)).toMatchInlineSnapshot(`"10131123313122132313122123322220"`);
    expect(new Set([1, 2, 3, 4, 5, 6, 7, 8].map(sequence)).size).toBe(8);
  });

  it("draws from the injected Random only to seed its generator at build, never per pick", () => {
    const counting = (seed: number) => {
      const inner = seededRandom(seed);
      const counter = {
        draws: 0,
        next(): number {
          counter.draws++;
          return inner.next();
        },
      };
      return counter;
    };
    const seeding = counting(5);
    new PickerRandom(seeding);
    expect(seeding.draws).toBeGreaterThan(0);
    const f = fixture([1, 1, 1, 1]);
    const shared = counting(5);
    const ctx = { ...f.context, random: shared };
    const a = random().build(f.hosts, ctx);
    expect(shared.draws).toBe(seeding.draws);
    const b = random().build(f.hosts, ctx);
    expect(shared.draws).toBe(2 * seeding.draws);
    // Two pickers seeded one after the other from one Random differ.
    expect(pickIndexes(a, f.endpoints, 32).join("")).not.toBe(pickIndexes(b, f.endpoints, 32).join(""));
    expect(shared.draws).toBe(2 * seeding.draws);
  });

  it("spreads evenly, ignoring weights: 30,000 picks over 3 hosts within 400 (≈ 4.9 sd) of 10,000 each", () => {
    const f = fixture([1, 50, 1000], 4);
    const counts = tally(pickIndexes(random().build(f.hosts, f.context), f.endpoints, 30_000), 3);
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(400);
  });
});

describe("random skipping ejected hosts", () => {
  it("stays uniform over the eligible hosts and never returns a down one; a host back up is picked with no rebuild", () => {
    const f = fixture([1, 1, 1, 1, 1], 12);
    const picker = random().build(f.hosts, f.context);
    setDown(f.table, f.hosts, [1, 4]);
    const counts = tally(pickIndexes(picker, f.endpoints, 30_000), 5);
    expect(counts[1]).toBe(0);
    expect(counts[4]).toBe(0);
    // p = 1/3, sd = √(30,000 × 1/3 × 2/3) ≈ 82
    for (const i of [0, 2, 3]) expect(Math.abs((counts[i] as number) - 10_000)).toBeLessThan(410);
    setDown(f.table, f.hosts, [4], false);
    const again = tally(pickIndexes(picker, f.endpoints, 4000), 5);
    expect(again[1]).toBe(0);
    expect(again[4]).toBeGreaterThan(800); // expected 1000, sd ≈ 27
  });

  it(`gives up after ${SKIP_BOUND} draws when every host is down, with fewer hosts than the bound or more`, () => {
    for (const n of [1, 3, 40]) {
      const f = fixture(new Array(n).fill(1), n);
      const picker = random().build(f.hosts, f.context);
      const twin = random().build(f.hosts, context(n, f.table, false));
      setDown(
        f.table,
        f.hosts,
        f.hosts.map((_, i) => i),
      );
      expect(pickIndexes(picker, f.endpoints, 3)).toEqual([-2, -2, -2]);
      // Bounded work: each give-up drew exactly SKIP_BOUND times.
      const steps = pickIndexes(twin, f.endpoints, 3 * SKIP_BOUND + 10);
      setDown(
        f.table,
        f.hosts,
        f.hosts.map((_, i) => i),
        false,
      );
      expect(pickIndexes(picker, f.endpoints, 10)).toEqual(steps.slice(3 * SKIP_BOUND));
    }
  });

  it("in panic (skipEjected false) returns down hosts as if up: the same sequence as with none down", () => {
    const f = fixture([1, 1, 1, 1], 3);
    const before = pickIndexes(random().build(f.hosts, context(3, f.table, false)), f.endpoints, 40);
    const picker = random().build(f.hosts, context(3, f.table, false));
    setDown(f.table, f.hosts, [0, 1, 2]);
    expect(pickIndexes(picker, f.endpoints, 40)).toEqual(before);
  });
});
