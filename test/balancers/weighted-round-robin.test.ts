import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SKIP_BOUND } from "../../src/balancer.js";
import { buildAliasTable } from "../../src/balancers/alias-table.js";
import { roundRobinPicker } from "../../src/balancers/round-robin.js";
import type { Endpoint } from "../../src/index.js";
import { endpoint, roundRobin, weightedRoundRobin } from "../../src/index.js";
import { seededRandom } from "../../src/testing/index.js";
import {
  context,
  definedPicks,
  fixture,
  gcd,
  hostsOf,
  pickIndexes,
  setDown,
  tally,
  weightsWithDown,
} from "../helpers/picks.js";

/**
 * The sequence weighted round robin is specified to produce, written out plainly: start bucket and
 * phase drawn from the Random, each bucket's accumulator starting at its golden-ratio phase, and
 * each visit giving the primary when the accumulator reaches `total` (error diffusion), else the alias.
 */
function modelSequence(weights: readonly number[], seed: number, count: number): number[] {
  const { hosts } = fixture(weights);
  const table = buildAliasTable(hosts);
  const random = seededRandom(seed);
  let b = Math.floor(random.next() * table.n);
  const phase = random.next();
  const acc = Array.from({ length: table.n }, (_, i) => {
    const p = i * 0.6180339887498949 + phase;
    return Math.floor((p - Math.floor(p)) * table.total);
  });
  const out: number[] = [];
  for (let k = 0; k < count; k++) {
    acc[b] = (acc[b] as number) + (table.share[b] as number);
    if ((acc[b] as number) >= table.total) {
      acc[b] = (acc[b] as number) - table.total;
      out.push(b);
    } else out.push(table.alias[b] as number);
    b = b + 1 === table.n ? 0 : b + 1;
  }
  return out;
}

/** 17,000 hosts at 65535 / 65534: Σw/gcd ≈ 1.11e9, at or above 2^30 (the picker's float path). */
const BIG_TOTAL = Array.from({ length: 17_000 }, (_, i) => 65535 - (i % 2));

describe("weightedRoundRobin()", () => {
  it("gives each host exactly its share over a full cycle (n × Σw/gcd picks)", () => {
    const f = fixture([5, 3, 2]);
    const picker = weightedRoundRobin().build(f.hosts, f.context);
    for (let cycle = 0; cycle < 4; cycle++) expect(tally(pickIndexes(picker, f.endpoints, 30), 3)).toEqual([15, 9, 6]);
  });

  it("produces an exact, repeatable sequence for a seed", () => {
    const sequence = () => {
      const f = fixture([5, 3, 2], 42);
      return pickIndexes(weightedRoundRobin().build(f.hosts, f.context), f.endpoints, 30).join("");
    };
    expect(sequence()).toBe(sequence());
    expect(sequence()).toMatchInlineSnapshot(`"200001201201001201001201201001"`);
  });

  it("interleaves smoothly: 80/20 never puts the light host twice in a row, the heavy one at most 5 times (ideal 4)", () => {
    const f = fixture([80, 20], 7);
    const picks = pickIndexes(weightedRoundRobin().build(f.hosts, f.context), f.endpoints, 1000);
    expect(tally(picks, 2)).toEqual([800, 200]);
    expect(picks.join("")).not.toContain("11");
    expect(picks.join("")).toContain("0000");
    expect(picks.join("")).not.toContain("000000");
  });

  it("never expands weights: 65535 against 1 is exact over a cycle of 2 × 65536 picks", () => {
    const f = fixture([65535, 1]);
    const picker = weightedRoundRobin().build(f.hosts, f.context);
    expect(tally(pickIndexes(picker, f.endpoints, 2 * 65536), 2)).toEqual([2 * 65535, 2]);
  });

  it("falls back to plain round robin when weights are equal: the same start, the same sequence", () => {
    for (const seed of [1, 2, 3, 4]) {
      const f = fixture([7, 7, 7], seed);
      const wrr = pickIndexes(weightedRoundRobin().build(f.hosts, context(seed, f.table)), f.endpoints, 12);
      expect(wrr).toEqual(pickIndexes(roundRobin().build(f.hosts, context(seed, f.table)), f.endpoints, 12));
      const start = Math.floor(seededRandom(seed).next() * 3);
      expect(wrr).toEqual(pickIndexes(roundRobinPicker(f.hosts, context(seed, f.table), start), f.endpoints, 12));
    }
    // Unequal weights do not.
    const f = fixture([7, 7, 8], 1);
    const wrr = pickIndexes(weightedRoundRobin().build(f.hosts, context(1, f.table)), f.endpoints, 22 * 3);
    expect(tally(wrr, 3)).toEqual([21, 21, 24]);
  });

  it("property: the sequence is exactly the specified one (alias buckets in order, golden-ratio phases, error diffusion)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 65535 }), { minLength: 2, maxLength: 30 }),
        fc.integer(),
        (weights, seed) => {
          const f = fixture(weights, seed);
          if (weights.every((w) => w === weights[0])) return true; // round robin: tested above
          const picks = pickIndexes(weightedRoundRobin().build(f.hosts, f.context), f.endpoints, 3000);
          return picks.join() === modelSequence(weights, seed, 3000).join();
        },
      ),
      { numRuns: 100, seed: 1618 },
    );
  });

  it("follows the same sequence when Σw/gcd is at or above 2^30", () => {
    const total = BIG_TOTAL.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(2 ** 30);
    const f = fixture(BIG_TOTAL, 17);
    const picks = pickIndexes(weightedRoundRobin().build(f.hosts, f.context), f.endpoints, 60_000);
    expect(picks).toEqual(modelSequence(BIG_TOTAL, 17, 60_000));
  });

  const weightsArb = fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 10 });

  it("property: exact proportions over each of three full cycles; nothing outside the set", () => {
    fc.assert(
      fc.property(weightsArb, fc.integer(), (weights, seed) => {
        const f = fixture(weights, seed);
        const picker = weightedRoundRobin().build(f.hosts, f.context);
        const g = weights.reduce(gcd);
        const total = weights.reduce((a, b) => a + b, 0) / g;
        for (let cycle = 0; cycle < 3; cycle++) {
          const counts = tally(pickIndexes(picker, f.endpoints, weights.length * total), weights.length);
          if (!counts.every((c, i) => c === ((weights[i] as number) / g) * weights.length)) return false;
        }
        return true;
      }),
      { numRuns: 200, seed: 20261122 },
    );
  });

  it("property (smoothness): after every pick k, each host's count is within 8 of k × share, and no run is longer than twice the ideal run plus 6", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 65535 }), { minLength: 2, maxLength: 40 }),
        fc.integer(),
        (weights, seed) => {
          const f = fixture(weights, seed);
          const total = weights.reduce((a, b) => a + b, 0);
          const picks = pickIndexes(weightedRoundRobin().build(f.hosts, f.context), f.endpoints, 5000);
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

  it("builds over 100,000 hosts with weights up to 65535 and picks over consecutive buckets", () => {
    const endpoints: Endpoint[] = Array.from({ length: 100_000 }, (_, i) =>
      endpoint({ host: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, port: 80, weight: 1 + ((i * 7919) % 65535) }),
    );
    const { table, hosts } = hostsOf(endpoints);
    const picker = weightedRoundRobin().build(hosts, context(1, table));
    const seen = new Set<string>();
    for (let k = 0; k < 1000; k++) seen.add((picker.pick() as { endpoint: Endpoint }).endpoint.id);
    expect(seen.size).toBe(705); // seeded: 1,000 picks over 1,000 consecutive buckets, primary or alias
  });
});

describe("weighted round robin skipping ejected hosts", () => {
  it("with 5 / 3 / 2 and host 1 down, each 30-step cycle yields 21 picks: exactly 15 and 6", () => {
    const f = fixture([5, 3, 2], 42);
    const picker = weightedRoundRobin().build(f.hosts, f.context);
    setDown(f.table, f.hosts, [1]);
    // The sequence (seed 42) is 200001201201001201001201201001 per cycle; without the 1s:
    expect(pickIndexes(picker, f.endpoints, 21).join("")).toBe("200002020002000202000");
    for (let cycle = 0; cycle < 3; cycle++) expect(tally(pickIndexes(picker, f.endpoints, 21), 3)).toEqual([15, 0, 6]);
  });

  it("a host back up is picked again at its place in the sequence, with no rebuild", () => {
    const f = fixture([5, 3, 2], 42);
    const picker = weightedRoundRobin().build(f.hosts, f.context);
    setDown(f.table, f.hosts, [0]);
    // 30 steps hold 15 eligible: 9 of host 1 and 6 of host 2.
    expect(tally(pickIndexes(picker, f.endpoints, 15), 3)).toEqual([0, 9, 6]);
    setDown(f.table, f.hosts, [0], false);
    for (let cycle = 0; cycle < 2; cycle++) expect(tally(pickIndexes(picker, f.endpoints, 30), 3)).toEqual([15, 9, 6]);
  });

  it("property: over every cycle of the sequence the eligible hosts keep exactly their relative shares", () => {
    fc.assert(
      fc.property(weightsWithDown(60, 2, 12), fc.integer(), ([weights, down], seed) => {
        const f = fixture(weights, seed);
        const picker = weightedRoundRobin().build(f.hosts, f.context);
        setDown(f.table, f.hosts, down);
        const g = weights.reduce(gcd);
        const n = weights.length;
        // Per cycle of n × Σw/g steps, host i comes up n × w_i/g times; the eligible ones are the picks.
        const owed = weights.map((w, i) => (down.includes(i) ? 0 : (n * w) / g));
        const perCycle = owed.reduce((a, b) => a + b, 0);
        for (let cycle = 0; cycle < 3; cycle++) {
          // A run of SKIP_BOUND down steps returns undefined; the next pick resumes after it.
          const counts = tally(definedPicks(picker, f.endpoints, perCycle), n);
          if (counts.join() !== owed.join()) return false;
        }
        return true;
      }),
      { numRuns: 150, seed: 5150 },
    );
  });

  it("skips the same way when Σw/gcd is at or above 2^30: its picks are the sequence without the down hosts", () => {
    const f = fixture(BIG_TOTAL, 23);
    const picker = weightedRoundRobin().build(f.hosts, f.context);
    const down = Array.from({ length: 17_000 }, (_, i) => i).filter((i) => i % 3 === 0);
    setDown(f.table, f.hosts, down);
    const expected = modelSequence(BIG_TOTAL, 23, 30_000).filter((i) => i % 3 !== 0);
    expect(pickIndexes(picker, f.endpoints, expected.length)).toEqual(expected);
  });

  it(`gives up after ${SKIP_BOUND} steps when every host is down, having consumed exactly those steps`, () => {
    for (const weights of [[5, 3, 2], new Array(40).fill(0).map((_, i) => 1 + (i % 7))]) {
      const f = fixture(weights, 8);
      const picker = weightedRoundRobin().build(f.hosts, f.context);
      const twin = weightedRoundRobin().build(f.hosts, context(8, f.table, false));
      const all = f.hosts.map((_, i) => i);
      setDown(f.table, f.hosts, all);
      expect(pickIndexes(picker, f.endpoints, 2)).toEqual([-2, -2]);
      const steps = pickIndexes(twin, f.endpoints, 2 * SKIP_BOUND + 20);
      setDown(f.table, f.hosts, all, false);
      expect(pickIndexes(picker, f.endpoints, 20)).toEqual(steps.slice(2 * SKIP_BOUND));
    }
  });

  it(`returns undefined when ${SKIP_BOUND} steps in a row land on down hosts, though one is up`, () => {
    // 1000 : 1 with the heavy host down: the light one comes up once every 1001 steps (130 picks ≤ 2080 steps).
    const f = fixture([1000, 1], 3);
    const picker = weightedRoundRobin().build(f.hosts, f.context);
    setDown(f.table, f.hosts, [0]);
    const picks = pickIndexes(picker, f.endpoints, 130);
    expect(picks.filter((p) => p === 1).length).toBeGreaterThanOrEqual(1);
    expect(picks.filter((p) => p === 0)).toEqual([]);
    expect(picks.filter((p) => p === -2).length).toBeGreaterThan(100);
  });

  it("in panic (skipEjected false) returns down hosts as if up: the same sequence as with none down", () => {
    const f = fixture([5, 3, 2], 42);
    const before = pickIndexes(weightedRoundRobin().build(f.hosts, context(42, f.table, false)), f.endpoints, 60);
    const picker = weightedRoundRobin().build(f.hosts, context(42, f.table, false));
    setDown(f.table, f.hosts, [0, 2]);
    expect(pickIndexes(picker, f.endpoints, 60)).toEqual(before);
  });
});
