import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SKIP_BOUND } from "../../src/balancer.js";
import { roundRobinPicker } from "../../src/balancers/round-robin.js";
import { roundRobin } from "../../src/index.js";
import { seededRandom } from "../../src/testing/index.js";
import { context, definedPicks, fixture, pickIndexes, setDown, tally } from "../helpers/picks.js";

describe("roundRobin()", () => {
  it("cycles in order from a random start drawn from the injected Random", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const f = fixture([100, 100, 100, 100], seed);
      const start = Math.floor(seededRandom(seed).next() * 4);
      const picks = pickIndexes(roundRobin().build(f.hosts, f.context), f.endpoints, 9);
      expect(picks).toEqual(Array.from({ length: 9 }, (_, k) => (start + k) % 4));
    }
  });

  it("ignores weights", () => {
    const f = fixture([1, 500], 3);
    expect(tally(pickIndexes(roundRobin().build(f.hosts, f.context), f.endpoints, 100), 2)).toEqual([50, 50]);
  });

  it("reports the hosts it was built over, in order", () => {
    const f = fixture([1, 2, 3]);
    expect(roundRobin().build(f.hosts, f.context).hosts).toBe(f.hosts);
  });
});

describe("round robin skipping ejected hosts", () => {
  it("never returns a host marked down after the build, and picks it again once it is back, with no rebuild", () => {
    const f = fixture([1, 1, 1, 1, 1], 7);
    const picker = roundRobin().build(f.hosts, f.context);
    setDown(f.table, f.hosts, [1, 3]);
    const picks = pickIndexes(picker, f.endpoints, 30);
    expect(tally(picks, 5)).toEqual([10, 0, 10, 0, 10]);
    setDown(f.table, f.hosts, [3], false);
    expect(tally(pickIndexes(picker, f.endpoints, 40), 5)).toEqual([10, 0, 10, 10, 10]);
  });

  it("property: each eligible host gets exactly one pick per cycle, in round robin order", () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 40 })
          .chain((n) =>
            fc.tuple(
              fc.constant(n),
              fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { maxLength: n - 1 }),
              fc.integer({ min: 0, max: n - 1 }),
            ),
          ),
        ([n, down, start]) => {
          const f = fixture(new Array(n).fill(1));
          const picker = roundRobinPicker(f.hosts, f.context, start);
          setDown(f.table, f.hosts, down);
          const eligible = Array.from({ length: n }, (_, i) => i).filter((i) => !down.includes(i));
          // The eligible hosts in order from `start`, three times over.
          const first = eligible.findIndex((i) => i >= start);
          const order = [...eligible.slice(Math.max(first, 0)), ...eligible.slice(0, Math.max(first, 0))];
          const picks = definedPicks(picker, f.endpoints, 3 * eligible.length);
          return picks.join() === [...order, ...order, ...order].join();
        },
      ),
      { numRuns: 200, seed: 61 },
    );
  });

  it(`gives up after ${SKIP_BOUND} consecutive down hosts, having stepped exactly past them`, () => {
    const f = fixture(new Array(20).fill(1));
    const picker = roundRobinPicker(f.hosts, f.context, 0);
    setDown(
      f.table,
      f.hosts,
      Array.from({ length: SKIP_BOUND }, (_, i) => i),
    );
    expect(pickIndexes(picker, f.endpoints, 6)).toEqual([-2, 16, 17, 18, 19, -2]);
    // One fewer down in a row: found.
    setDown(f.table, f.hosts, [0], false);
    expect(pickIndexes(roundRobinPicker(f.hosts, f.context, 1), f.endpoints, 2)).toEqual([16, 17]);
  });

  it("returns undefined when every host is down, with fewer hosts than the bound or more", () => {
    for (const n of [1, 3, SKIP_BOUND - 1, SKIP_BOUND, 40]) {
      const f = fixture(new Array(n).fill(1));
      const picker = roundRobin().build(f.hosts, f.context);
      setDown(
        f.table,
        f.hosts,
        f.hosts.map((_, i) => i),
      );
      expect(pickIndexes(picker, f.endpoints, 5)).toEqual([-2, -2, -2, -2, -2]);
      setDown(f.table, f.hosts, [n - 1], false);
      expect(pickIndexes(picker, f.endpoints, 3)).toContain(n - 1);
    }
  });

  it("in panic (skipEjected false) returns down hosts as if up: the same sequence as with none down", () => {
    const f = fixture([1, 1, 1, 1, 1, 1], 9);
    const before = pickIndexes(roundRobin().build(f.hosts, context(9, f.table, false)), f.endpoints, 24);
    const picker = roundRobin().build(f.hosts, context(9, f.table, false));
    setDown(f.table, f.hosts, [0, 1, 2, 4, 5]);
    expect(pickIndexes(picker, f.endpoints, 24)).toEqual(before);
  });
});
