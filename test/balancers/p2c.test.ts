import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SKIP_BOUND } from "../../src/balancer.js";
import { PickerRandom } from "../../src/balancers/picker-random.js";
import type { BalancerContext, EndpointTable, LoadMetric, Picker } from "../../src/index.js";
import { inFlightLoad, leastRequest, p2c, p2cPeakEwma, peakEwma } from "../../src/index.js";
import { seededRandom } from "../../src/testing/index.js";
import { expectConfigErrors } from "../helpers/config-errors.js";
import { context, fixture, pickIndexes, setDown, setInFlight, tally } from "../helpers/picks.js";

const TWO_31 = 2 ** 31;

/** The context of a picker outside panic with nothing down: `downHosts` 0, so picks take the usual path. */
function live(seed: number, table: EndpointTable): BalancerContext {
  return { ...context(seed, table), downHosts: new Int32Array(1) };
}

/**
 * Replays the draws of an equal-weight p2c picker seeded with `seed`, from
 * the same generator. Two choices (up to 1,024 hosts): one 31-bit draw x,
 * first = ⌊x·n/2^31⌋, second = ⌊(x·n mod 2^31)·(n-1)/2^31⌋, shifted past the
 * first. Otherwise (more choices, or hosts down) partial Fisher–Yates over
 * a permutation the picker keeps from pick to pick: draw j swaps
 * order[j + below(n - j)] into place j.
 */
class Draws {
  readonly #random: PickerRandom;
  readonly #order: number[];
  readonly #n: number;

  constructor(seed: number, n: number) {
    this.#random = new PickerRandom(seededRandom(seed));
    this.#n = n;
    this.#order = Array.from({ length: n }, (_, i) => i);
  }

  /** The two choices of a two-choice pick with nothing down. */
  two(): [number, number] {
    const n = this.#n;
    const p = this.#random.next31() * n;
    const first = Math.floor(p / TWO_31);
    const second = Math.floor(((p - first * TWO_31) * (n - 1)) / TWO_31);
    return [first, second >= first ? second + 1 : second];
  }

  /** The next distinct draw of a Fisher–Yates pick, `j` draws into it. */
  next(j: number): number {
    const r = j + this.#random.below(this.#n - j);
    const i = this.#order[r] as number;
    this.#order[r] = this.#order[j] as number;
    this.#order[j] = i;
    return i;
  }

  /** The choices of a pick with `choiceCount` choices and nothing down. */
  pick(choiceCount: number): number[] {
    if (choiceCount === 2 && this.#n >= 2) return this.two();
    const out: number[] = [];
    for (let j = 0; j < Math.min(choiceCount, this.#n); j++) out.push(this.next(j));
    return out;
  }
}

/** The choices of `picks` picks with nothing down. */
function choices(seed: number, n: number, choiceCount: number, picks: number): number[][] {
  const draws = new Draws(seed, n);
  return Array.from({ length: picks }, () => draws.pick(choiceCount));
}

/** The first drawn of the least loaded: what a pick over `drawn` returns. */
function leastOf(drawn: readonly number[], load: (i: number) => number): number {
  let best = drawn[0] as number;
  for (const i of drawn) if (load(i) < load(best)) best = i;
  return best;
}

function setLoads(table: EndpointTable, loads: readonly number[]): void {
  for (const [slot, load] of loads.entries()) setInFlight(table, slot, load);
}

describe("p2c()", () => {
  it("two hosts, one with 3 in flight: every pick compares both (distinct choices) and takes the idle one", () => {
    const f = fixture([1, 1], 3);
    setLoads(f.table, [0, 3]);
    const picks = pickIndexes(p2c(inFlightLoad()).build(f.hosts, live(3, f.table)), f.endpoints, 200);
    expect(picks).toEqual(new Array(200).fill(0));
    // Three hosts, one busy: it is never chosen while another is less loaded.
    const g = fixture([1, 1, 1], 4);
    setLoads(g.table, [0, 3, 0]);
    const three = pickIndexes(p2c(inFlightLoad()).build(g.hosts, live(4, g.table)), g.endpoints, 300);
    expect(three).toEqual(choices(4, 3, 2, 300).map(([a, b]) => (a === 1 ? b : a)));
    expect(three).not.toContain(1);
  });

  it("takes the lowest load of its choiceCount choices, the first drawn on a tie", () => {
    const loads = [5, 3, 3, 0, 7, 3, 1, 9, 0, 2];
    for (const choiceCount of [2, 3, 5]) {
      const f = fixture(new Array(loads.length).fill(1), choiceCount);
      setLoads(f.table, loads);
      const picker = p2c(inFlightLoad(), { choiceCount }).build(f.hosts, live(choiceCount, f.table));
      const expected = choices(choiceCount, loads.length, choiceCount, 500).map((d) =>
        leastOf(d, (i) => loads[i] as number),
      );
      expect(pickIndexes(picker, f.endpoints, 500)).toEqual(expected);
    }
  });

  it("with equal loads every pick is its first choice, so an idle upstream is balanced as random", () => {
    const f = fixture([1, 1, 1, 1, 1, 1, 1], 8);
    const picks = pickIndexes(p2c(inFlightLoad()).build(f.hosts, live(8, f.table)), f.endpoints, 300);
    expect(picks).toEqual(choices(8, 7, 2, 300).map((d) => d[0]));
  });

  it("reads loads from the table at pick time: a new in-flight count needs no rebuild", () => {
    const f = fixture([1, 1], 21);
    const picker = p2c(inFlightLoad()).build(f.hosts, live(21, f.table));
    setLoads(f.table, [4, 0]);
    expect(pickIndexes(picker, f.endpoints, 50)).toEqual(new Array(50).fill(1));
    setLoads(f.table, [0, 4]);
    expect(pickIndexes(picker, f.endpoints, 50)).toEqual(new Array(50).fill(0));
  });

  it("is repeatable for a seed and differs across seeds", () => {
    const sequence = (seed: number) => {
      const f = fixture(new Array(12).fill(1), seed);
      setLoads(f.table, [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8]);
      return pickIndexes(p2c(inFlightLoad()).build(f.hosts, live(seed, f.table)), f.endpoints, 40).join();
    };
    expect(sequence(42)).toBe(sequence(42));
    expect(new Set([1, 2, 3, 4, 5, 6].map(sequence)).size).toBe(6);
  });

  it("calls a user's metric, and compares what it returns (NaN never wins)", () => {
    const f = fixture([1, 1, 1, 1], 5);
    const seen: number[] = [];
    const odd: LoadMetric = {
      name: "odd",
      load: (_table, slot) => {
        seen.push(slot);
        return slot === 2 ? Number.NaN : 10 - slot;
      },
    };
    const balancer = p2c(odd);
    expect(balancer.name).toBe("p2c:odd");
    expect(balancer.metric).toBe(odd);
    const picks = pickIndexes(balancer.build(f.hosts, live(5, f.table)), f.endpoints, 200);
    const load = (i: number) => (i === 2 ? Number.NaN : 10 - i);
    expect(picks).toEqual(choices(5, 4, 2, 200).map((d) => leastOf(d, load)));
    expect(seen.length).toBe(400); // one load() per choice
  });

  it("validates its options: choiceCount an integer >= 2, a LoadMetric, an options object", () => {
    expectConfigErrors(
      (choiceCount: unknown) => p2c(inFlightLoad(), { choiceCount } as { choiceCount: number }),
      [
        [1, "choiceCount"],
        [0, "choiceCount"],
        [-2, "choiceCount"],
        [2.5, "choiceCount"],
        [Number.NaN, "choiceCount"],
        [Number.POSITIVE_INFINITY, "choiceCount"],
        ["2", "choiceCount"],
      ],
    );
    expectConfigErrors(
      (metric: unknown) => p2c(metric as LoadMetric),
      [
        [undefined, "metric"],
        [null, "metric"],
        [{ name: "x" }, "metric"],
        [{ load: () => 0 }, "metric"],
        [{ name: "x", load: () => 0, update: 3 }, "metric"],
      ],
    );
    expectConfigErrors(
      (options: unknown) => p2c(inFlightLoad(), options as object),
      [
        [null, "options"],
        [3, "options"],
        ["fast", "options"],
      ],
    );
    expect(p2c(inFlightLoad(), { choiceCount: 2 }).name).toBe("p2c:in-flight");
    expect(() => p2c(inFlightLoad(), { choiceCount: 64 })).not.toThrow();
  });

  it("built-in metrics computed in line pick exactly as their load() would: peakEwma() and the in-flight count", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 6 }),
            fc.option(fc.double({ min: 0.5, max: 500, noNaN: true })),
            fc.integer({ min: 0, max: 60_000 }),
          ),
          { minLength: 1, maxLength: 40 },
        ),
        fc.integer({ min: 2, max: 4 }),
        fc.integer(),
        fc.boolean(),
        fc.integer({ min: 0, max: 60_000 }),
        (rows, choiceCount, seed, weighted, later) => {
          const f = fixture(
            rows.map((_, i) => (weighted ? 1 + (i % 3) : 1)),
            seed,
          );
          const metric = peakEwma({ defaultRttMs: 42 });
          // Estimates learned at various times (so they have decayed by various ages at the attempt time).
          rows.forEach(([inFlight, estimate, endedAt], slot) => {
            setInFlight(f.table, slot, inFlight);
            if (estimate === null) return;
            f.table.lastLatencyMs[slot] = estimate;
            f.table.lastEndedAt[slot] = endedAt;
            metric.update?.(f.table, slot, false);
          });
          f.table.attemptTime[0] = Math.max(...rows.map((r) => r[2])) + later;
          const inLine = p2c(metric, { choiceCount }).build(f.hosts, live(seed, f.table));
          // A copy of the metric is not recognized: its load() is called.
          const called = p2c({ name: "copy", load: metric.load }, { choiceCount }).build(f.hosts, live(seed, f.table));
          const builtIn = p2cPeakEwma({ defaultRttMs: 42, choiceCount }).build(f.hosts, live(seed, f.table));
          const a = pickIndexes(inLine, f.endpoints, 60).join();
          const b = pickIndexes(called, f.endpoints, 60).join();
          const c = pickIndexes(builtIn, f.endpoints, 60).join();
          if (a !== b || a !== c) return false;
          if (weighted) return true; // leastRequest() divides by weight when weights differ; p2c() does not
          const lr = leastRequest({ choiceCount }).build(f.hosts, live(seed, f.table));
          const plain = p2c(inFlightLoad(), { choiceCount }).build(f.hosts, live(seed, f.table));
          return pickIndexes(lr, f.endpoints, 60).join() === pickIndexes(plain, f.endpoints, 60).join();
        },
      ),
      { numRuns: 150, seed: 2026 },
    );
  });
});

describe("p2c() with unequal weights", () => {
  it("draws candidates in proportion to weight, so an idle upstream is balanced exactly by weight", () => {
    const f = fixture([100, 300], 11);
    const counts = tally(pickIndexes(p2c(inFlightLoad()).build(f.hosts, live(11, f.table)), f.endpoints, 40_000), 2);
    // p = 1/4, sd = √(40,000 × 3/16) ≈ 87
    expect(Math.abs((counts[0] as number) - 10_000)).toBeLessThan(450);
  });

  it("a 99/1 canary gets 1% while idle (a draw with uniform candidates would give it 25%)", () => {
    const f = fixture([99, 1], 12);
    const counts = tally(pickIndexes(p2c(inFlightLoad()).build(f.hosts, live(12, f.table)), f.endpoints, 100_000), 2);
    expect(Math.abs((counts[1] as number) - 1000)).toBeLessThan(160); // sd ≈ 31
  });

  it("compares the metric as it is: the busier host wins only when it is both choices (9/16 for weight 3 of 4)", () => {
    const f = fixture([100, 300], 13);
    setLoads(f.table, [0, 5]);
    const counts = tally(pickIndexes(p2c(inFlightLoad()).build(f.hosts, live(13, f.table)), f.endpoints, 40_000), 2);
    // P(both choices the weight-300 host) = (3/4)² = 9/16; sd = √(40,000 × 9/16 × 7/16) ≈ 99
    expect(Math.abs((counts[1] as number) - 22_500)).toBeLessThan(500);
  });
});

describe("p2c skipping ejected hosts", () => {
  const caseArb = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 2, maxLength: 24 }).chain((weights) =>
    fc.tuple(
      fc.constant(weights),
      fc.uniqueArray(fc.integer({ min: 0, max: weights.length - 1 }), {
        minLength: 1,
        maxLength: weights.length - 1,
      }),
      fc.array(fc.integer({ min: 0, max: 9 }), { minLength: weights.length, maxLength: weights.length }),
      fc.integer({ min: 2, max: 4 }),
      fc.integer(),
    ),
  );
  const balancers = [
    ["leastRequest", (choiceCount: number) => leastRequest({ choiceCount })],
    ["p2cPeakEwma", (choiceCount: number) => p2cPeakEwma({ choiceCount })],
    ["p2c(metric)", (choiceCount: number) => p2c({ name: "m", load: (t, s) => t.inFlight[s] ?? 0 }, { choiceCount })],
  ] as const;

  for (const [name, make] of balancers) {
    it(`${name}: property: never returns a down host, and rarely gives up while half the weight is up`, () => {
      fc.assert(
        fc.property(caseArb, ([weights, down, loads, choiceCount, seed]) => {
          const f = fixture(weights, seed);
          setLoads(f.table, loads);
          const picker = make(choiceCount).build(f.hosts, context(seed, f.table, true));
          setDown(f.table, f.hosts, down);
          let defined = 0;
          for (const p of pickIndexes(picker, f.endpoints, 300)) {
            if (p === -2) continue;
            if (down.includes(p)) return false;
            defined++;
          }
          // With half the weight or more up, a give-up (16 draws in a row on down hosts) has p ≤ 2^-16.
          const total = weights.reduce((a, b) => a + b, 0);
          const up = weights.reduce((a, w, i) => (down.includes(i) ? a : a + w), 0);
          return up * 2 < total || defined >= 299;
        }),
        { numRuns: 150, seed: 77 },
      );
    });
  }

  it("equal weights: a pick is the least loaded of its first choiceCount eligible distinct draws; undefined after 16 down draws or none left", () => {
    fc.assert(
      fc.property(caseArb, ([weights, down, loads, choiceCount, seed]) => {
        const n = weights.length;
        const f = fixture(new Array(n).fill(1), seed);
        setLoads(f.table, loads);
        const picker = leastRequest({ choiceCount }).build(f.hosts, context(seed, f.table, true));
        setDown(f.table, f.hosts, down);
        // While hosts are down every pick draws distinct hosts by Fisher–Yates.
        const draws = new Draws(seed, n);
        for (let k = 0; k < 200; k++) {
          const eligible: number[] = [];
          let misses = 0;
          for (let j = 0; j < n && eligible.length < choiceCount && misses < SKIP_BOUND; j++) {
            const i = draws.next(j);
            if (down.includes(i)) misses++;
            else eligible.push(i);
          }
          const expected = eligible.length === 0 ? -2 : leastOf(eligible, (i) => loads[i] as number);
          const [p] = pickIndexes(picker, f.endpoints, 1);
          if (p !== expected) return false;
        }
        return true;
      }),
      { numRuns: 100, seed: 4242 },
    );
  });

  it("returns undefined while every host is down, equal weights or not, then picks again once one is back", () => {
    for (const weights of [[1], [1, 1], new Array(15).fill(1), new Array(17).fill(1), [1, 2], [5, 1, 2, 9, 3]]) {
      for (const make of [() => leastRequest(), () => p2cPeakEwma(), () => leastRequest({ activeRequestBias: 0 })]) {
        const f = fixture(weights, weights.length);
        const picker = make().build(f.hosts, f.context);
        const all = f.hosts.map((_, i) => i);
        setDown(f.table, f.hosts, all);
        expect(pickIndexes(picker, f.endpoints, 4)).toEqual([-2, -2, -2, -2]);
        setDown(f.table, f.hosts, [0], false);
        // Host 0 alone is up: every pick that does not give up (16 draws all down) returns it.
        const again = pickIndexes(picker, f.endpoints, 40);
        expect(again.every((p) => p === 0 || p === -2)).toBe(true);
        expect(again.filter((p) => p === 0).length).toBeGreaterThan(weights.length < 3 ? 39 : 10);
      }
    }
  });

  it("in panic (skipEjected false) uses down hosts, picking as if none were down", () => {
    for (const weights of [
      [1, 1, 1, 1, 1],
      [3, 1, 4, 1, 5],
    ]) {
      const f = fixture(weights, 31);
      setLoads(f.table, [2, 0, 1, 4, 0]);
      const before = pickIndexes(leastRequest().build(f.hosts, context(31, f.table, false)), f.endpoints, 100);
      const picker = leastRequest().build(f.hosts, context(31, f.table, false));
      setDown(
        f.table,
        f.hosts,
        f.hosts.map((_, i) => i),
      );
      expect(pickIndexes(picker, f.endpoints, 100)).toEqual(before);
    }
  });

  it("with downHosts at 0 it does not test table.down (the upstream keeps the count; the test lies to show it)", () => {
    const f = fixture([1, 1, 1], 9);
    const picker: Picker = leastRequest().build(f.hosts, live(9, f.table));
    setDown(f.table, f.hosts, [0, 1, 2]);
    expect(pickIndexes(picker, f.endpoints, 10)).not.toContain(-2);
  });
});
