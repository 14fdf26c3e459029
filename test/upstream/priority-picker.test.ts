import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Host, PickContext, Picker } from "../../src/index.js";
import { hashKey } from "../../src/index.js";
import { seededRandom } from "../../src/testing/index.js";
import { LevelBounds, PriorityPicker } from "../../src/upstream/priority-picker.js";
import { hostsOf, weightedEndpoints } from "../helpers/picks.js";

/** One single-host picker per level, so a pick's slot names its level; `seen` records the contexts each was given. */
function levelPickers(n: number): { pickers: Picker[]; seen: (PickContext | undefined)[][] } {
  const { hosts } = hostsOf(weightedEndpoints(new Array(n).fill(1)));
  const seen = hosts.map(() => [] as (PickContext | undefined)[]);
  const pickers = hosts.map((h, i) => ({
    hosts: [h],
    pick(context?: PickContext): Host {
      seen[i]?.push(context);
      return h;
    },
  }));
  return { pickers, seen };
}

/** A priority picker over `loads.length` single-host levels, its sequence started from `seededRandom(seed)`. */
function priority(loads: readonly number[], seed = 1) {
  const { pickers, seen } = levelPickers(loads.length);
  const bounds = new LevelBounds(loads.length);
  bounds.start(seededRandom(seed));
  bounds.set(loads);
  return { picker: new PriorityPicker(pickers, bounds), bounds, seen };
}

/** Picks per level over `count` picks. */
function levelCounts(picker: Picker, levels: number, count: number): number[] {
  const counts = new Array<number>(levels).fill(0);
  for (let k = 0; k < count; k++) {
    const slot = (picker.pick() as Host).slot;
    counts[slot] = (counts[slot] as number) + 1;
  }
  return counts;
}

/** Whole-percent loads summing to 100 over 2–4 levels (zeros included). */
const loadsArb = fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 3 }).map((cuts) => {
  const sorted = [...cuts].sort((a, b) => a - b);
  return [...sorted, 100].map((c, i) => c - (i === 0 ? 0 : (sorted[i - 1] as number)));
});
const seedArb = fc.integer();

describe("LevelBounds", () => {
  it("holds cumulative loads in fixed-point units of all traffic", () => {
    const bounds = new LevelBounds(3);
    bounds.set([50, 30, 20]);
    const all = bounds.bounds[2] as number; // 100%: 2^30 units
    expect(all).toBe(2 ** 30);
    expect([...bounds.bounds]).toEqual([2 ** 29, Math.round(0.8 * all), all]);
    bounds.set([0, 0, 0]);
    expect([...bounds.bounds]).toEqual([0, 0, 0]);
  });

  it("starts the sequence at a position drawn from the Random, within the sequence's range", () => {
    const bounds = new LevelBounds(2);
    for (const [u, position] of [
      [0, 0],
      [0.5, 2 ** 29],
      [1 - 2 ** -40, 2 ** 30 - 1],
    ] as const) {
      bounds.start({ next: () => u });
      expect(bounds.position[0]).toBe(position);
    }
    bounds.start(seededRandom(3));
    const again = new LevelBounds(2);
    again.start(seededRandom(3));
    expect(again.position[0]).toBe(bounds.position[0]);
  });
});

describe("PriorityPicker", () => {
  it("splits 70 / 30 within 6 picks of 70,000 over 100,000 picks", () => {
    for (const seed of [1, 2, 3, 4]) {
      const { picker } = priority([70, 30], seed);
      const counts = levelCounts(picker, 2, 100_000);
      expect(Math.abs((counts[0] as number) - 70_000)).toBeLessThanOrEqual(6);
      expect((counts[0] as number) + (counts[1] as number)).toBe(100_000);
    }
  });

  it("property: after every pick k up to 20,000, each level's count is within 6 of k × its load (measured max 4.38)", () => {
    fc.assert(
      fc.property(loadsArb, seedArb, (loads, seed) => {
        const { picker } = priority(loads, seed);
        const counts = new Array<number>(loads.length).fill(0);
        for (let k = 1; k <= 20_000; k++) {
          const level = (picker.pick() as Host).slot;
          counts[level] = (counts[level] as number) + 1;
          for (let i = 0; i < loads.length; i++) {
            if (Math.abs((counts[i] as number) - (k * (loads[i] as number)) / 100) > 6) return false;
          }
        }
        return true;
      }),
      { numRuns: 60, seed: 1618 },
    );
  });

  it("property: a level with load 0 is never chosen", () => {
    fc.assert(
      fc.property(loadsArb, seedArb, (loads, seed) => {
        const { picker } = priority(loads, seed);
        const counts = levelCounts(picker, loads.length, 2000);
        return loads.every((load, i) => load > 0 || counts[i] === 0);
      }),
      { numRuns: 200, seed: 314 },
    );
    for (const loads of [
      [0, 100],
      [100, 0],
      [0, 0, 100],
      [50, 0, 50],
      [0, 1, 0, 99],
    ]) {
      const counts = levelCounts(priority(loads, 77).picker, loads.length, 10_000);
      for (const [i, load] of loads.entries()) {
        if (load === 0) expect(counts[i]).toBe(0);
        else expect(Math.abs((counts[i] as number) - load * 100)).toBeLessThanOrEqual(6);
      }
    }
  });

  it("moves traffic at once when the bounds are set again, with no new picker", () => {
    const { picker, bounds } = priority([100, 0], 42);
    expect(levelCounts(picker, 2, 100)).toEqual([100, 0]);
    bounds.set([0, 100]);
    expect(levelCounts(picker, 2, 100)).toEqual([0, 100]);
    bounds.set([70, 30]);
    const counts = levelCounts(picker, 2, 10_000);
    expect(Math.abs((counts[0] as number) - 7000)).toBeLessThanOrEqual(6);
  });

  it("starts at a position drawn from the Random, so clients seeded apart do not spill in step", () => {
    const sequence = (seed: number) => {
      const { picker } = priority([84, 16], seed);
      return Array.from({ length: 20 }, () => (picker.pick() as Host).slot).join("");
    };
    expect(new Set([1, 2, 3, 4, 5].map(sequence)).size).toBe(5);
    expect(sequence(1)).toBe(sequence(1));
  });

  it("passes the pick context (a hash key) to the chosen level's picker", () => {
    const { picker, seen } = priority([50, 50], 9);
    const contexts: PickContext[] = Array.from({ length: 10 }, (_, i) => ({ hashKey: `user-${i}` }));
    for (const context of contexts) picker.pick(context);
    expect((seen[0] as unknown[]).length + (seen[1] as unknown[]).length).toBe(10);
    expect((seen[0] as unknown[]).length).toBeGreaterThan(0);
    expect((seen[1] as unknown[]).length).toBeGreaterThan(0);
    for (const calls of seen) for (const c of calls) expect(contexts).toContain(c);
    picker.pick();
    expect([...(seen[0] as unknown[]), ...(seen[1] as unknown[])]).toContain(undefined);
  });

  it("chooses the level of a keyed pick by the key: the same level every time, levels in proportion to the loads", () => {
    const { picker, bounds } = priority([70, 30], 3);
    const levelOf = (context: PickContext) => (picker.pick(context) as Host).slot;
    const keys = Array.from({ length: 20_000 }, (_, i) => `user-${i}`);
    const first = keys.map((k) => levelOf({ hashKey: k }));
    expect(keys.map((k) => levelOf({ hashKey: k }))).toEqual(first);
    expect(keys.map((k) => levelOf({ hash: hashKey(k) }))).toEqual(first);
    // 70 / 30 of the keys, to sampling noise (σ ≈ 65 keys).
    expect(Math.abs(first.filter((l) => l === 0).length - 14_000)).toBeLessThan(400);
    // Loads move from 70 / 30 to 60 / 40: only keys move from level 0 to level 1, about a tenth of them.
    bounds.set([60, 40]);
    const after = keys.map((k) => levelOf({ hashKey: k }));
    const movedKeys = first.filter((l, i) => l !== after[i]);
    expect(movedKeys.every((l) => l === 0)).toBe(true);
    expect(Math.abs(movedKeys.length - 2000)).toBeLessThan(300);
  });

  it("lists every level's hosts, lowest priority first", () => {
    const { picker } = priority([50, 30, 20]);
    expect(picker.hosts.map((h) => h.slot)).toEqual([0, 1, 2]);
  });
});
