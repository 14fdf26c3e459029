import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { computePriorityLoads } from "../../src/upstream/priority-loads.js";

type Options = { overprovisioningFactor: number; panicThreshold: number };
/** `[total, healthy]` of one level. */
type Level = readonly [total: number, healthy: number];

const defaults: Options = { overprovisioningFactor: 1.4, panicThreshold: 50 };

/** Runs `computePriorityLoads` into fresh typed arrays and returns plain lists. */
function loads(levels: readonly Level[], options: Options = defaults): { load: number[]; panic: boolean[] } {
  const load = new Int32Array(levels.length);
  const panic = new Uint8Array(levels.length);
  computePriorityLoads(
    levels.map(([t]) => t),
    levels.map(([, h]) => h),
    options,
    load,
    panic,
  );
  return { load: [...load], panic: [...panic].map((p) => p === 1) };
}

interface Case {
  /** What the step checks; the Envoy test it comes from is the `describe`. */
  readonly step: string;
  readonly levels: readonly Level[];
  readonly load: readonly number[];
  /** Checked only where given. */
  readonly panic?: readonly boolean[];
  readonly options?: Options;
}

function check(cases: readonly Case[]): void {
  it.each(cases.map((c) => [c.step, c] as const))("%s", (_step, c) => {
    const result = loads(c.levels, c.options);
    expect(result.load).toEqual(c.load);
    if (c.panic) expect(result.panic).toEqual(c.panic);
  });
}

const T = true;
const F = false;

// Ported from Envoy's LoadBalancerBaseTest
// (test/extensions/load_balancing_policies/common/load_balancer_impl_base_test.cc,
// formerly test/common/upstream/load_balancer_impl_test.cc). Each step sets
// every level's [hosts, healthy] and expects Envoy's integer loads (its
// getLoadPercentage()) and, where the Envoy step asserts it, getPanic().
describe("computePriorityLoads() — Envoy's LoadBalancerBaseTest, exact loads", () => {
  describe("PrioritySelection", () => {
    check([
      {
        step: "1/0, 1/0: total panic, split by hosts",
        levels: [
          [1, 0],
          [1, 0],
        ],
        load: [50, 50],
      },
      {
        step: "1/0, 2/0: 33 + 66, P=0 takes the leftover",
        levels: [
          [1, 0],
          [2, 0],
        ],
        load: [34, 66],
      },
      {
        step: "a healthy P=2 takes everything",
        levels: [
          [1, 0],
          [2, 0],
          [1, 1],
        ],
        load: [0, 0, 100],
      },
      {
        step: "a healthy P=0 takes everything back",
        levels: [
          [1, 1],
          [2, 0],
          [1, 1],
        ],
        load: [100, 0, 0],
      },
      {
        step: "P=0 unhealthy again: back to P=2",
        levels: [
          [1, 0],
          [2, 0],
          [1, 1],
        ],
        load: [0, 0, 100],
      },
    ]);
  });

  describe("OverProvisioningFactor", () => {
    check([
      {
        step: "factor 1.4, 4/2, 4/2 → 70/30",
        levels: [
          [4, 2],
          [4, 2],
        ],
        load: [70, 30],
      },
      {
        step: "factor 1 (Envoy 100), 4/2, 4/2 → 50/50",
        levels: [
          [4, 2],
          [4, 2],
        ],
        load: [50, 50],
        options: { overprovisioningFactor: 1, panicThreshold: 50 },
      },
    ]);
  });

  describe("GentleFailover", () => {
    check([
      {
        step: "1/1, 1/1",
        levels: [
          [1, 1],
          [1, 1],
        ],
        load: [100, 0],
        panic: [F, F],
      },
      {
        step: "2/1, 2/1: health 70 + 70",
        levels: [
          [2, 1],
          [2, 1],
        ],
        load: [70, 30],
        panic: [F, F],
      },
      {
        step: "4/1, 2/2: P=0 under the threshold but the sum is 100, no panic",
        levels: [
          [4, 1],
          [2, 2],
        ],
        load: [35, 65],
        panic: [F, F],
      },
      {
        step: "4/1, 4/1: 35 + 35, both in panic",
        levels: [
          [4, 1],
          [4, 1],
        ],
        load: [50, 50],
        panic: [T, T],
      },
      // Envoy's step: P=0 4 hosts, 1 healthy, 3 excluded; switchyard's drained endpoints are not in `total`.
      {
        step: "1/1 (3 excluded), 5/1",
        levels: [
          [1, 1],
          [5, 1],
        ],
        load: [100, 0],
        panic: [F, F],
      },
    ]);
  });

  describe("GentleFailoverWithExtraLevels", () => {
    check([
      {
        step: "1/1 × 3",
        levels: [
          [1, 1],
          [1, 1],
          [1, 1],
        ],
        load: [100, 0, 0],
        panic: [F, F, F],
      },
      {
        step: "2/1 × 3: 70 + 30 spill",
        levels: [
          [2, 1],
          [2, 1],
          [2, 1],
        ],
        load: [70, 30, 0],
      },
      {
        step: "4/1, 2/2, 2/1",
        levels: [
          [4, 1],
          [2, 2],
          [2, 1],
        ],
        load: [35, 65, 0],
      },
      {
        step: "4/1 × 3: 35 + 35 + 30",
        levels: [
          [4, 1],
          [4, 1],
          [4, 1],
        ],
        load: [35, 35, 30],
      },
      {
        step: "5/1 × 3: health 28 each, total panic, P=0 takes the leftover",
        levels: [
          [5, 1],
          [5, 1],
          [5, 1],
        ],
        load: [34, 33, 33],
        panic: [T, T, T],
      },
      {
        step: "5/0, 5/0, 5/5: P=2 healthy, nobody in panic",
        levels: [
          [5, 0],
          [5, 0],
          [5, 5],
        ],
        load: [0, 0, 100],
        panic: [F, F, F],
      },
      {
        step: "5/0, 5/0, 5/4: P=2 health 112 capped at 100",
        levels: [
          [5, 0],
          [5, 0],
          [5, 4],
        ],
        load: [0, 0, 100],
        panic: [F, F, F],
      },
      {
        step: "5/0, 5/0, 5/2: P=2 health 56, all in panic, split by hosts",
        levels: [
          [5, 0],
          [5, 0],
          [5, 2],
        ],
        load: [34, 33, 33],
        panic: [T, T, T],
      },
      {
        step: "5/0, 3/0, 2/0: total panic 50/30/20",
        levels: [
          [5, 0],
          [3, 0],
          [2, 0],
        ],
        load: [50, 30, 20],
        panic: [T, T, T],
      },
      {
        step: "5/0, 6/2, 3/1: total panic 35 + 42 + 21, P=0 takes the 2 left",
        levels: [
          [5, 0],
          [6, 2],
          [3, 1],
        ],
        load: [37, 42, 21],
        panic: [T, T, T],
      },
      {
        step: "3/0 × 3: leftover to P=0",
        levels: [
          [3, 0],
          [3, 0],
          [3, 0],
        ],
        load: [34, 33, 33],
        panic: [T, T, T],
      },
      {
        step: "0/0, 6/0, 3/0: leftover to the first non-empty level",
        levels: [
          [0, 0],
          [6, 0],
          [3, 0],
        ],
        load: [0, 67, 33],
        panic: [T, T, T],
      },
    ]);
  });
});

// Envoy counts excluded hosts in recalculateLoadInTotalPanic (hosts().size());
// switchyard has no excluded hosts: a drained endpoint leaves `total`.
describe("computePriorityLoads() — GentleFailover's excluded-host steps, as switchyard counts them", () => {
  check([
    {
      step: "P=0 all 4 excluded, 4/1: Envoy 50/50; an empty level takes nothing here",
      levels: [
        [0, 0],
        [4, 1],
      ],
      load: [0, 100],
      panic: [T, T],
    },
    {
      step: "P=0 4 hosts 1 excluded (3/0), P=1 6 hosts 2 excluded (4/1): Envoy 40/60 (4:6); here 3:4",
      levels: [
        [3, 0],
        [4, 1],
      ],
      load: [43, 57],
      panic: [T, T],
    },
  ]);
});

describe("computePriorityLoads() — switchyard's table (factor 1.4, threshold 50, 100 hosts a level, P=1 all healthy)", () => {
  it.each([
    // P=0 healthy, P=0 / P=1 load. 71%: health floor(140 × 71 / 100) = 99 (the real-number figure was 99.4 / 0.6).
    [100, 100, 0],
    [72, 100, 0],
    [71, 99, 1],
    [50, 70, 30],
    [25, 35, 65],
    [0, 0, 100],
  ])("P=0 %i%% healthy → %i / %i", (healthy, l0, l1) => {
    expect(
      loads([
        [100, healthy],
        [100, 100],
      ]),
    ).toEqual({ load: [l0, l1], panic: [false, false] });
  });
});

describe("computePriorityLoads() — panic and its edges", () => {
  check([
    {
      step: "84 + 14 = 98 < 100: floor(8400 / 98) = 85 + 1 leftover, floor(1400 / 98) = 14; only P=1 under 50%",
      levels: [
        [10, 6],
        [10, 1],
      ],
      load: [86, 14],
      panic: [F, T],
    },
    {
      step: "a level with nothing healthy is in panic with no load when the others are not all in panic",
      levels: [
        [10, 6],
        [10, 1],
        [10, 0],
      ],
      load: [86, 14, 0],
      panic: [F, T, T],
    },
    {
      step: "threshold 0: nothing healthy anywhere → no load at all (Envoy: 100 to P=0, unroutable)",
      levels: [
        [5, 0],
        [5, 0],
      ],
      load: [0, 0],
      panic: [F, F],
      options: { overprovisioningFactor: 1.4, panicThreshold: 0 },
    },
    {
      step: "threshold 0: an unhealthy level never panics, the healthy share is normalized to 100",
      levels: [
        [4, 1],
        [4, 0],
      ],
      load: [100, 0],
      panic: [F, F],
      options: { overprovisioningFactor: 1.4, panicThreshold: 0 },
    },
    {
      step: "threshold 0, health rounding to 0 (1 of 200): the first level with a healthy host",
      levels: [
        [200, 0],
        [200, 1],
      ],
      load: [0, 100],
      panic: [F, F],
      options: { overprovisioningFactor: 1.4, panicThreshold: 0 },
    },
    {
      step: "threshold 0.3%, health rounding to 0: P=1 (0.5% healthy) is not in panic and takes it all",
      levels: [
        [200, 0],
        [200, 1],
      ],
      load: [0, 100],
      panic: [T, F],
      options: { overprovisioningFactor: 1.4, panicThreshold: 0.3 },
    },
    {
      step: "threshold 50, health rounding to 0: total panic by hosts",
      levels: [
        [200, 0],
        [200, 1],
      ],
      load: [50, 50],
      panic: [T, T],
    },
    {
      step: "every level empty: no load",
      levels: [
        [0, 0],
        [0, 0],
      ],
      load: [0, 0],
      panic: [T, T],
    },
    {
      step: "every level empty, threshold 0: no load, no panic",
      levels: [
        [0, 0],
        [0, 0],
      ],
      load: [0, 0],
      panic: [F, F],
      options: { overprovisioningFactor: 1.4, panicThreshold: 0 },
    },
    { step: "no levels", levels: [], load: [], panic: [] },
    {
      step: "threshold 100: a fully healthy level with the sum at 100 never panics",
      levels: [[4, 4]],
      load: [100],
      panic: [F],
      options: { overprovisioningFactor: 1.4, panicThreshold: 100 },
    },
    {
      step: "factor 1.15 is Envoy's 115 (1.15 × 100 = 114.99999999999999): 23/19 → floor(115 × 19 / 23) = 95",
      levels: [
        [23, 19],
        [1, 1],
      ],
      load: [95, 5],
      panic: [F, F],
      options: { overprovisioningFactor: 1.15, panicThreshold: 50 },
    },
    {
      step: "factor 1.13 is Envoy's 113: 113/90 → health 90, not 89",
      levels: [
        [113, 90],
        [1, 1],
      ],
      load: [90, 10],
      options: { overprovisioningFactor: 1.13, panicThreshold: 50 },
    },
  ]);

  it("rejects inconsistent counts and short out lists", () => {
    const out = () => [new Int32Array(2), new Uint8Array(2)] as const;
    expect(() => computePriorityLoads([2, 2], [3, 0], defaults, ...out())).toThrow(RangeError);
    expect(() => computePriorityLoads([2, 2], [-1, 0], defaults, ...out())).toThrow(RangeError);
    expect(() => computePriorityLoads([2.5, 2], [1, 0], defaults, ...out())).toThrow(RangeError);
    expect(() => computePriorityLoads([2, 2], [1], defaults, ...out())).toThrow(RangeError);
    expect(() => computePriorityLoads([2, 2], [1, 1], defaults, new Int32Array(1), new Uint8Array(2))).toThrow(
      RangeError,
    );
  });

  it("writes plain arrays too, and leaves entries past the level count alone", () => {
    const load = [7, 7, 7];
    const panic = [7, 7, 7];
    computePriorityLoads([2, 2], [1, 1], defaults, load, panic);
    expect(load).toEqual([70, 30, 7]);
    expect(panic).toEqual([0, 0, 7]);
  });
});

/** Up to 8 levels of 0..40 hosts, each with 0..total healthy. */
const levelsArb = fc.array(
  fc.nat({ max: 40 }).chain((t) => fc.tuple(fc.constant(t), fc.nat({ max: t }))),
  { maxLength: 8 },
);
const optionsArb = fc.record({
  overprovisioningFactor: fc.oneof(
    fc.constantFrom(1, 1.1, 1.15, 1.4, 2),
    fc.double({ min: 1, max: 5, noNaN: true, noDefaultInfinity: true }),
  ),
  panicThreshold: fc.oneof(
    fc.constantFrom(0, 50, 100),
    fc.integer({ min: 0, max: 100 }),
    fc.double({ min: 0, max: 100, noNaN: true }),
  ),
});

describe("computePriorityLoads() — properties", () => {
  it("gives whole percents summing to 100 when something can take traffic, else all 0; never to an empty level", () => {
    fc.assert(
      fc.property(levelsArb, optionsArb, (levels, options) => {
        const { load, panic } = loads(levels, options);
        const someHost = levels.some(([t]) => t > 0);
        const someHealthy = levels.some(([, h]) => h > 0);
        const sum = load.reduce((a, b) => a + b, 0);
        for (const l of load) if (!(Number.isInteger(l) && l >= 0 && l <= 100)) return false;
        if (someHost && (options.panicThreshold > 0 || someHealthy)) {
          if (sum !== 100) return false;
        } else if (sum !== 0) return false;
        for (let i = 0; i < levels.length; i++) {
          const [t, h] = levels[i] as Level;
          if (t === 0 && load[i] !== 0) return false;
          // Load lands only where it can be served: healthy hosts, or all hosts in panic.
          if ((load[i] as number) > 0 && !(panic[i] || h > 0)) return false;
        }
        return true;
      }),
      { numRuns: 2000 },
    );
  });

  it("in total panic splits by host count, the leftover (under one point a level) on the first non-empty level", () => {
    // Each level under 10% healthy, threshold at least 20%, up to 6 levels: Σ health < 6 × 1.4 × 10 < 100,
    // so every level is in panic.
    const panicLevels = fc.array(
      fc.nat({ max: 40 }).chain((t) => fc.tuple(fc.constant(t), fc.nat({ max: t === 0 ? 0 : Math.ceil(t / 10) - 1 }))),
      { minLength: 1, maxLength: 6 },
    );
    fc.assert(
      fc.property(
        panicLevels,
        fc.integer({ min: 20, max: 100 }),
        fc.double({ min: 1, max: 1.4, noNaN: true }),
        (levels, panicThreshold, overprovisioningFactor) => {
          const { load, panic } = loads(levels, { overprovisioningFactor, panicThreshold });
          if (!panic.every((p) => p)) return false;
          const hosts = levels.reduce((a, [t]) => a + t, 0);
          if (hosts === 0) return load.every((l) => l === 0);
          const first = levels.findIndex(([t]) => t > 0);
          const nonEmpty = levels.filter(([t]) => t > 0).length;
          for (let i = 0; i < levels.length; i++) {
            const share = Math.floor((100 * (levels[i] as Level)[0]) / hosts);
            const extra = (load[i] as number) - share;
            if (i === first ? extra < 0 || extra >= nonEmpty : extra !== 0) return false;
          }
          return load.reduce((a, b) => a + b, 0) === 100;
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("does not depend on what the out lists held before", () => {
    fc.assert(
      fc.property(
        levelsArb,
        optionsArb,
        fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 8, maxLength: 8 }),
        fc.array(fc.nat({ max: 255 }), { minLength: 8, maxLength: 8 }),
        (levels, options, oldLoad, oldPanic) => {
          const n = levels.length;
          const total = levels.map(([t]) => t);
          const healthy = levels.map(([, h]) => h);
          const load = Int32Array.from(oldLoad.slice(0, n));
          const panic = Uint8Array.from(oldPanic.slice(0, n));
          computePriorityLoads(total, healthy, options, load, panic);
          if (n >= 2) {
            // The same lists reused for another computation, then for this one again.
            computePriorityLoads([3, 1], [0, 1], options, load.subarray(0, 2), panic.subarray(0, 2));
            computePriorityLoads(total, healthy, options, load, panic);
          }
          const fresh = loads(levels, options);
          return (
            JSON.stringify([...load]) === JSON.stringify(fresh.load) &&
            JSON.stringify([...panic].map((p) => p === 1)) === JSON.stringify(fresh.panic)
          );
        },
      ),
      { numRuns: 1000 },
    );
  });
});
