import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SKIP_BOUND } from "../../src/balancer.js";
import type { Balancer } from "../../src/index.js";
import { random, roundRobin, weightedRandom, weightedRoundRobin } from "../../src/index.js";
import { context, definedPicks, fixture, pickIndexes, setDown } from "../helpers/picks.js";

/**
 * What every balancer's picker does with `skipEjected`: a pick takes the
 * sequence's next steps (the picks the same picker would make with
 * `skipEjected` false) until one lands on an eligible host, at most
 * SKIP_BOUND of them. So its picks are exactly the unskipping sequence with
 * the down hosts taken out.
 */
describe.each<[string, () => Balancer]>([
  ["roundRobin()", roundRobin],
  ["weightedRoundRobin()", weightedRoundRobin],
  ["random()", random],
  ["weightedRandom()", weightedRandom],
])("%s skipping ejected hosts", (_name, balancer) => {
  const caseArb = fc
    .array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 24 })
    .chain((weights) =>
      fc.tuple(
        fc.constant(weights),
        fc.uniqueArray(fc.integer({ min: 0, max: weights.length - 1 }), { maxLength: weights.length - 1 }),
        fc.integer(),
      ),
    );

  it("property: its picks are the unskipping sequence with the down hosts left out", () => {
    fc.assert(
      fc.property(caseArb, ([weights, down, seed]) => {
        const f = fixture(weights, seed);
        const skipping = balancer().build(f.hosts, context(seed, f.table, true));
        const twin = balancer().build(f.hosts, context(seed, f.table, false));
        setDown(f.table, f.hosts, down);
        const picks = definedPicks(skipping, f.endpoints, 200, 1_000_000);
        const eligible: number[] = [];
        while (eligible.length < 200) {
          const [step] = pickIndexes(twin, f.endpoints, 1) as [number];
          if (!down.includes(step)) eligible.push(step);
        }
        return picks.join() === eligible.join();
      }),
      { numRuns: 100, seed: 4242 },
    );
  });

  it("property: never returns a down host, and gives up only after SKIP_BOUND steps on down hosts", () => {
    fc.assert(
      fc.property(caseArb, ([weights, down, seed]) => {
        const f = fixture(weights, seed);
        const skipping = balancer().build(f.hosts, context(seed, f.table, true));
        const twin = balancer().build(f.hosts, context(seed, f.table, false));
        setDown(f.table, f.hosts, down);
        const steps = pickIndexes(twin, f.endpoints, 300 * SKIP_BOUND);
        let at = 0;
        for (let k = 0; k < 300; k++) {
          const [p] = pickIndexes(skipping, f.endpoints, 1) as [number];
          if (p === -2) {
            // Exactly SKIP_BOUND steps, all on down hosts.
            const skipped = steps.slice(at, at + SKIP_BOUND);
            if (!skipped.every((i) => down.includes(i))) return false;
            at += SKIP_BOUND;
            continue;
          }
          if (down.includes(p)) return false;
          while (down.includes(steps[at] as number)) at++;
          if (steps[at] !== p) return false;
          at++;
        }
        return true;
      }),
      { numRuns: 100, seed: 99 },
    );
  });

  it("returns undefined while every host is down, for fewer hosts than SKIP_BOUND and more, and picks again once one is back", () => {
    for (const n of [1, 2, SKIP_BOUND - 1, SKIP_BOUND + 1, 50]) {
      const f = fixture(
        Array.from({ length: n }, (_, i) => 1 + (i % 3)),
        n,
      );
      const picker = balancer().build(f.hosts, f.context);
      const all = f.hosts.map((_, i) => i);
      setDown(f.table, f.hosts, all);
      expect(pickIndexes(picker, f.endpoints, 4)).toEqual([-2, -2, -2, -2]);
      setDown(f.table, f.hosts, all, false);
      expect(pickIndexes(picker, f.endpoints, 4)).not.toContain(-2);
    }
  });

  it("in panic (skipEjected false) is unaffected by down hosts", () => {
    const f = fixture([3, 1, 4, 1, 5, 9, 2, 6], 31);
    const before = pickIndexes(balancer().build(f.hosts, context(31, f.table, false)), f.endpoints, 100);
    const picker = balancer().build(f.hosts, context(31, f.table, false));
    setDown(
      f.table,
      f.hosts,
      f.hosts.map((_, i) => i),
    );
    expect(pickIndexes(picker, f.endpoints, 100)).toEqual(before);
  });
});
