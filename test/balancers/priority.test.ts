import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Host, Picker } from "../../src/index.js";
import {
  buildPriorityPlan,
  EMPTY_PICKER,
  InvalidConfigError,
  PriorityPicker,
  priorityLoads,
  priorityOptions,
  RoundRobinPicker,
  roundRobin,
  weightedRoundRobin,
} from "../../src/index.js";
import { seededRandom } from "../../src/testing/index.js";
import { context, pickIndexes, tally, weightedEndpoints } from "../helpers/picks.js";

const defaults = priorityOptions();

/** Two levels of `size` endpoints; the first `unhealthy0` of P0 and `unhealthy1` of P1 are unhealthy. */
function levels(size: number, unhealthy0: number, unhealthy1: number): Host[] {
  const p0 = weightedEndpoints(new Array(size).fill(100), 0).map((endpoint, i) => ({
    endpoint,
    healthy: i >= unhealthy0,
  }));
  const p1 = weightedEndpoints(new Array(size).fill(100), 1).map((endpoint, i) => ({
    endpoint,
    healthy: i >= unhealthy1,
  }));
  return [...p0, ...p1];
}

describe("priorityLoads() — Envoy's priority load with overprovisioning factor 1.4", () => {
  it.each([
    // P0 healthy %, expected P0 / P1 load (Envoy's documented table, before its integer rounding)
    [100, 100, 0],
    [72, 100, 0],
    [71, 99.4, 0.6],
    [50, 70, 30],
    [25, 35, 65],
    [0, 0, 100],
  ])("P0 %i%% healthy, P1 all healthy → %d / %d", (healthy, l0, l1) => {
    const { load, panic } = priorityLoads(
      [
        [100, healthy],
        [100, 100],
      ],
      defaults,
    );
    expect(load[0]).toBeCloseTo(l0, 9);
    expect(load[1]).toBeCloseTo(l1, 9);
    expect(panic).toEqual([false, false]);
  });

  it("normalizes when the levels together are under 100% and puts levels under the threshold in panic", () => {
    // health 1.4 × 20% = 28 each; sum 56 → loads 50/50; 20% < 50% → both in panic
    expect(
      priorityLoads(
        [
          [10, 2],
          [10, 2],
        ],
        defaults,
      ),
    ).toEqual({ load: [50, 50], panic: [true, true] });
    // P0 60% (84), P1 10% (14): sum 98 → normalized; only P1 is under 50%
    const r = priorityLoads(
      [
        [10, 6],
        [10, 1],
      ],
      defaults,
    );
    expect(r.load[0]).toBeCloseTo((84 * 100) / 98, 9);
    expect(r.load[1]).toBeCloseTo((14 * 100) / 98, 9);
    expect(r.panic).toEqual([false, true]);
  });

  it("sends everything to the first level in panic when nothing is healthy, or nowhere when panic is disabled", () => {
    expect(
      priorityLoads(
        [
          [3, 0],
          [3, 0],
        ],
        defaults,
      ),
    ).toEqual({ load: [100, 0], panic: [true, false] });
    expect(priorityLoads([[3, 0]], { ...defaults, panicThreshold: 0 })).toEqual({ load: [0], panic: [false] });
  });

  it("validates options with typed errors", () => {
    expect(() => priorityOptions({ overprovisioningFactor: 0.5 })).toThrow(InvalidConfigError);
    expect(() => priorityOptions({ panicThreshold: 101 })).toThrow(/priority.panicThreshold/);
    expect(() => priorityOptions({ panicThreshold: Number.NaN })).toThrow(InvalidConfigError);
  });
});

describe("buildPriorityPlan()", () => {
  it("KrakenD's SRV example 10/1, 10/2, 20/1 balances 1:2:0 with every endpoint healthy", () => {
    const endpoints = [...weightedEndpoints([1, 2], 10), ...weightedEndpoints([1], 20)];
    const hosts = endpoints.map((endpoint) => ({ endpoint, healthy: true }));
    const plan = buildPriorityPlan(hosts, weightedRoundRobin(), context(5), defaults);
    expect(plan.levels).toEqual([
      { priority: 10, total: 2, healthy: 2, load: 100, panic: false },
      { priority: 20, total: 1, healthy: 1, load: 0, panic: false },
    ]);
    expect(plan.picker).not.toBeInstanceOf(PriorityPicker);
    expect(tally(pickIndexes(plan.picker, endpoints, 3000), 3)).toEqual([1000, 2000, 0]);
  });

  it("spills to the next level as the first loses health, never picking an unhealthy endpoint", () => {
    const hosts = levels(10, 5, 0); // P0 50% healthy → 70/30
    const endpoints = hosts.map((h) => h.endpoint);
    const plan = buildPriorityPlan(hosts, roundRobin(), context(8), defaults);
    expect(plan.picker).toBeInstanceOf(PriorityPicker);
    const counts = tally(pickIndexes(plan.picker, endpoints, 100_000), 20);
    expect(counts.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
    const p0 = counts.slice(5, 10).reduce((a, b) => a + b, 0);
    expect(Math.abs(p0 - 70_000)).toBeLessThanOrEqual(6); // the level sequence's bound, not a random drift
    expect(counts.slice(10).reduce((a, b) => a + b, 0)).toBe(100_000 - p0);
  });

  it("in panic uses every endpoint of the level, healthy or not", () => {
    const hosts = levels(4, 3, 3); // 25% healthy in both: sum 70 → 50/50, both in panic
    const endpoints = hosts.map((h) => h.endpoint);
    const plan = buildPriorityPlan(hosts, roundRobin(), context(2), defaults);
    expect(plan.levels.map((l) => l.panic)).toEqual([true, true]);
    const counts = tally(pickIndexes(plan.picker, endpoints, 8000), 8);
    // Round robin inside each level; the levels split 4000 ± 6 (PriorityPicker's bound).
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThanOrEqual(2);
  });

  it("with the panic threshold disabled, an all-unhealthy set has nothing to pick", () => {
    const hosts = weightedEndpoints([1, 1]).map((endpoint) => ({ endpoint, healthy: false }));
    const plan = buildPriorityPlan(hosts, roundRobin(), context(), { ...defaults, panicThreshold: 0 });
    expect(plan.picker).toBe(EMPTY_PICKER);
  });

  it("leaves drained (weight 0) endpoints out of the level counts", () => {
    const hosts = weightedEndpoints([0, 0, 5]).map((endpoint) => ({ endpoint, healthy: true }));
    expect(buildPriorityPlan(hosts, roundRobin(), context(), defaults).levels).toEqual([
      { priority: 0, total: 1, healthy: 1, load: 100, panic: false },
    ]);
  });
});

describe("PriorityPicker", () => {
  /** One single-endpoint picker per level, so a pick's endpoint names its level. */
  function levelPickers(n: number): Picker[] {
    return weightedEndpoints(new Array(n).fill(1)).map((e) => new RoundRobinPicker([e], 0));
  }

  it("keeps every level within 6 picks of k × its load after every pick k", () => {
    const loadsArb = fc
      .array(fc.integer({ min: 1, max: 1000 }), { minLength: 2, maxLength: 5 })
      .map((w) => w.map((x) => (x * 100) / w.reduce((a, b) => a + b, 0)));
    fc.assert(
      fc.property(loadsArb, fc.integer(), (loads, seed) => {
        const pickers = levelPickers(loads.length);
        const endpoints = pickers.map((p) => p.endpoints[0] as Host["endpoint"]);
        const picker = new PriorityPicker(pickers, loads, seededRandom(seed));
        const counts = new Array<number>(loads.length).fill(0);
        const picks = pickIndexes(picker, endpoints, 20_000);
        for (let k = 1; k <= picks.length; k++) {
          const level = picks[k - 1] as number;
          counts[level] = (counts[level] as number) + 1;
          for (let i = 0; i < loads.length; i++) {
            if (Math.abs((counts[i] as number) - (k * (loads[i] as number)) / 100) > 6) return false;
          }
        }
        return true;
      }),
      { numRuns: 60 },
    );
  });

  it("starts at a point drawn from the random, so clients do not spill in step", () => {
    const pickers = levelPickers(2);
    const endpoints = pickers.map((p) => p.endpoints[0] as Host["endpoint"]);
    const sequences = new Set(
      [1, 2, 3, 4, 5].map((seed) =>
        pickIndexes(new PriorityPicker(pickers, [84, 16], seededRandom(seed)), endpoints, 20).join(""),
      ),
    );
    expect(sequences.size).toBe(5);
    const again = pickIndexes(new PriorityPicker(pickers, [84, 16], seededRandom(1)), endpoints, 20).join("");
    expect(sequences.has(again)).toBe(true);
  });

  it("hands the pick context (a hash key) to the chosen level's picker", () => {
    const keyed = (e: Host["endpoint"]): Picker => ({
      endpoints: [e],
      pick: (context) => (context?.hashKey === "user-42" ? e : undefined),
    });
    const [a, b] = weightedEndpoints([1, 1]) as [Host["endpoint"], Host["endpoint"]];
    const picker = new PriorityPicker([keyed(a), keyed(b)], [50, 50], seededRandom(1));
    const picks = Array.from({ length: 10 }, () => picker.pick({ hashKey: "user-42" })?.id);
    expect(picks.filter((id) => id === undefined)).toEqual([]);
    expect(new Set(picks)).toEqual(new Set([a.id, b.id]));
  });
});
