import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Balancer, EndpointInput, EndpointTable, Host } from "../../src/index.js";
import { createUpstream, leastRequest, p2cPeakEwma, random, roundRobin } from "../../src/index.js";
import { ManualClock, ManualResolver, seededRandom } from "../../src/testing/index.js";
import { expectConfigErrors } from "../helpers/config-errors.js";
import { lever } from "../helpers/lever.js";
import { context, fixture, pickIndexes, tally } from "../helpers/picks.js";

function live(seed: number, table: EndpointTable) {
  return { ...context(seed, table), downHosts: new Int32Array(1) };
}

/** Share of 40,000 picks that go to host 0 of two with weights `weights` and `inFlight` requests in flight. */
function share(options: { weights: [number, number]; inFlight: [number, number]; bias?: number; seed: number }) {
  const f = fixture(options.weights, options.seed);
  f.table.inFlight[0] = options.inFlight[0];
  f.table.inFlight[1] = options.inFlight[1];
  const balancer = leastRequest(options.bias === undefined ? {} : { activeRequestBias: options.bias });
  return (
    (tally(pickIndexes(balancer.build(f.hosts, live(options.seed, f.table)), f.endpoints, 40_000), 2)[0] as number) /
    40_000
  );
}

describe("leastRequest()", () => {
  it('is p2c over requests in flight, named "least-request"', () => {
    const balancer = leastRequest();
    expect(balancer.name).toBe("least-request");
    expect(balancer.metric?.name).toBe("in-flight");
  });

  it("validates choiceCount (an integer >= 2) and activeRequestBias (a finite number >= 0)", () => {
    expectConfigErrors(
      (options: unknown) => leastRequest(options as object),
      [
        [{ choiceCount: 1 }, "choiceCount"],
        [{ choiceCount: 2.5 }, "choiceCount"],
        [{ choiceCount: "3" }, "choiceCount"],
        [{ activeRequestBias: -0.5 }, "activeRequestBias"],
        [{ activeRequestBias: Number.NaN }, "activeRequestBias"],
        [{ activeRequestBias: Number.POSITIVE_INFINITY }, "activeRequestBias"],
        [{ activeRequestBias: "1" }, "activeRequestBias"],
        [null, "options"],
        [7, "options"],
      ],
    );
    expect(() => leastRequest({ choiceCount: 3, activeRequestBias: 0 })).not.toThrow();
  });

  it("with equal weights the bias changes nothing: Envoy's P2C on requests in flight", () => {
    const f = fixture([7, 7, 7, 7, 7], 4);
    [3, 0, 2, 5, 1].forEach((n, slot) => {
      f.table.inFlight[slot] = n;
    });
    const sequences = [undefined, 0, 1, 2.5].map((activeRequestBias) =>
      pickIndexes(leastRequest({ activeRequestBias }).build(f.hosts, live(4, f.table)), f.endpoints, 300).join(),
    );
    expect(new Set(sequences).size).toBe(1);
  });
});

describe("leastRequest() with unequal weights: candidates drawn by weight, compared by inFlight / effectiveWeight^(1/bias)", () => {
  // Two hosts of weight 100 and 300: a draw is the light one with p = 1/4, so both
  // draws are the light one 1/16 of the time, both the heavy one 9/16, mixed 6/16.
  // sd of a share over 40,000 picks ≤ 0.0025: a tolerance of 0.012 is ~5 sd.
  const tolerance = 0.012;

  it("idle (nothing in flight, or pick() + report()): exactly by weight, for every bias", () => {
    for (const bias of [undefined, 0, 1, 2]) {
      expect(Math.abs(share({ weights: [100, 300], inFlight: [0, 0], bias, seed: 1 }) - 1 / 4)).toBeLessThan(tolerance);
    }
  });

  it("bias 1: in flight per unit of weight; 1 of 100 against 2 of 300: the heavy host wins every mixed pair", () => {
    // 1/100 > 2/300: the light host only when both draws are it.
    expect(Math.abs(share({ weights: [100, 300], inFlight: [1, 2], seed: 2 }) - 1 / 16)).toBeLessThan(tolerance);
    // 1/100 < 4/300: the light host wins the mixed pairs: 1/16 + 6/16.
    expect(Math.abs(share({ weights: [100, 300], inFlight: [1, 4], seed: 3 }) - 7 / 16)).toBeLessThan(tolerance);
  });

  it("bias 2: in flight over √weight; 1/√100 < 2/√300, so the light host now wins the mixed pairs", () => {
    expect(Math.abs(share({ weights: [100, 300], inFlight: [1, 2], bias: 2, seed: 2 }) - 7 / 16)).toBeLessThan(
      tolerance,
    );
  });

  it("bias 0: requests in flight ignored, weighted random", () => {
    expect(Math.abs(share({ weights: [100, 300], inFlight: [0, 50], bias: 0, seed: 4 }) - 1 / 4)).toBeLessThan(
      tolerance,
    );
    expect(Math.abs(share({ weights: [100, 300], inFlight: [50, 0], bias: 0, seed: 5 }) - 1 / 4)).toBeLessThan(
      tolerance,
    );
  });

  it("reads effectiveWeight at pick time (what slow start ramps): at a third of its weight the heavy host loses mixed pairs", () => {
    const f = fixture([100, 300], 6);
    f.table.inFlight[0] = 1;
    f.table.inFlight[1] = 2;
    const picker = leastRequest().build(f.hosts, live(6, f.table));
    const before = tally(pickIndexes(picker, f.endpoints, 40_000), 2)[0] as number;
    f.table.effectiveWeight[(f.hosts[1] as Host).slot] = 100; // 2/100 > 1/100 now
    const after = tally(pickIndexes(picker, f.endpoints, 40_000), 2)[0] as number;
    expect(Math.abs(before / 40_000 - 1 / 16)).toBeLessThan(tolerance);
    expect(Math.abs(after / 40_000 - 7 / 16)).toBeLessThan(tolerance);
  });

  it("a 99/1 canary gets its 1% while idle", () => {
    const f = fixture([99, 1], 7);
    const counts = tally(pickIndexes(leastRequest().build(f.hosts, live(7, f.table)), f.endpoints, 100_000), 2);
    expect(Math.abs((counts[1] as number) - 1000)).toBeLessThan(160); // sd ≈ 31
  });
});

function hosts(weights: readonly number[]): EndpointInput[] {
  return weights.map((weight, i) => ({ host: `h${i}.test`, port: 80, weight }));
}

function setup(balancer: Balancer, weights: readonly number[], panicThreshold = 0, seed = 5) {
  const resolver = new ManualResolver();
  const clock = new ManualClock();
  const l = lever();
  const upstream = createUpstream({
    name: "api",
    resolver,
    clock,
    random: seededRandom(seed),
    balancer,
    plugins: [l.plugin],
    priority: { panicThreshold },
  });
  resolver.push(hosts(weights));
  return { upstream, clock, ...l };
}

/** `count` begins held open, counted by endpoint id. */
function beginHeld(upstream: ReturnType<typeof setup>["upstream"], count: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let k = 0; k < count; k++) {
    const id = upstream.endpointOf(upstream.begin())?.id as string;
    out[id] = (out[id] ?? 0) + 1;
  }
  return out;
}

describe("leastRequest() through an upstream, begin() / end()", () => {
  it("attempts left open on one endpoint steer new begins to the others", async () => {
    const tally = (upstream: ReturnType<typeof setup>["upstream"]) => {
      const counts: Record<string, number> = {};
      for (let k = 0; k < 3000; k++) {
        const token = upstream.begin();
        const id = upstream.endpointOf(token)?.id as string;
        counts[id] = (counts[id] ?? 0) + 1;
        upstream.end(token, { status: 200 });
      }
      return counts;
    };
    const { upstream } = setup(leastRequest(), [1, 1, 1]);
    // 20 attempts held open on h0 (the others forced down while they begin).
    upstream.override("h1.test:80", "down");
    upstream.override("h2.test:80", "down");
    expect(beginHeld(upstream, 20)).toEqual({ "h0.test:80": 20 });
    upstream.override("h1.test:80", undefined);
    upstream.override("h2.test:80", undefined);
    // 3,000 attempts begun and ended one at a time: every pick compares two distinct
    // endpoints, one of them idle, so h0 gets none (independent draws, as Envoy's code
    // makes them, would give it the 1/9 of picks that draw it twice).
    expect(tally(upstream)).toEqual({ "h1.test:80": 1494, "h2.test:80": 1506 });
    // Round robin, for comparison, ignores them.
    const rr = setup(roundRobin(), [1, 1, 1]).upstream;
    expect(tally(rr)).toEqual({ "h0.test:80": 1000, "h1.test:80": 1000, "h2.test:80": 1000 });
    await upstream.close();
    await rr.close();
  });

  it("with every attempt held open, in-flight counts stay close together (random drifts apart like √k)", async () => {
    const spread = async (balancer: Balancer) => {
      const { upstream } = setup(balancer, [1, 1, 1, 1]);
      let widest = 0;
      for (let k = 0; k < 2000; k++) {
        upstream.begin();
        const inFlight = upstream.snapshot().endpoints.map((e) => e.inFlight);
        widest = Math.max(widest, Math.max(...inFlight) - Math.min(...inFlight));
      }
      await upstream.close();
      return widest;
    };
    expect(await spread(leastRequest())).toBe(6);
    expect(await spread(leastRequest({ choiceCount: 3 }))).toBe(3);
    expect(await spread(leastRequest({ choiceCount: 4 }))).toBe(1); // all four compared: a full scan
    expect(await spread(random())).toBe(34);
  });

  it("weights 100 / 300 with 600 held open on the heavy endpoint: bias 1 sends the next begins to the light one until in flight per weight evens out; bias 0 keeps to the weights", async () => {
    const run = async (activeRequestBias: number) => {
      const { upstream } = setup(leastRequest({ activeRequestBias }), [100, 300]);
      upstream.override("h0.test:80", "down");
      beginHeld(upstream, 600);
      upstream.override("h0.test:80", undefined);
      const counts = beginHeld(upstream, 800);
      const inFlight = upstream.snapshot().endpoints.map((e) => e.inFlight);
      await upstream.close();
      return { light: counts["h0.test:80"] ?? 0, inFlight };
    };
    const biased = await run(1);
    const ignoring = await run(0);
    // Bias 1: the light endpoint wins every mixed pair while its in flight per weight is
    // lower, 7/16 of the begins (350 ± 14), and 1/100 of its count stays below 1/300 of
    // the heavy one's (the two meet at 350 of 1,400).
    expect(biased).toEqual({ light: 336, inFlight: [336, 1064] });
    // Bias 0: weighted random, 1/4 of the 800.
    expect(ignoring.light).toBe(181);
    expect(Math.abs(ignoring.light - 200)).toBeLessThan(60); // sd ≈ 12
  });

  it("property: never returns an ejected endpoint outside panic, through begin() and a plug-in's ejections", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 2, maxLength: 12 }),
        fc.array(fc.tuple(fc.nat(), fc.boolean(), fc.integer({ min: 1, max: 8 })), { minLength: 1, maxLength: 30 }),
        fc.boolean(),
        fc.integer(),
        (weights, steps, peak, seed) => {
          const { upstream, clock, eject } = setup(peak ? p2cPeakEwma() : leastRequest(), weights, 0, seed);
          const ejected = new Set<string>();
          const open: number[] = [];
          for (const [which, on, begins] of steps) {
            const id = `h${which % weights.length}.test:80`;
            // Keep one endpoint up: h0 is never ejected.
            if (id !== "h0.test:80") {
              eject(id, on);
              if (on) ejected.add(id);
              else ejected.delete(id);
            }
            for (let k = 0; k < begins; k++) {
              const token = upstream.begin();
              if (ejected.has(upstream.endpointOf(token)?.id as string)) return false;
              open.push(token);
            }
            // End half of what is open, after some time: loads and estimates move.
            clock.advance(3);
            for (const token of open.splice(0, open.length >> 1)) upstream.end(token, { status: 200 });
          }
          void upstream.close();
          return true;
        },
      ),
      { numRuns: 120, seed: 31 },
    );
  });

  it("in panic uses ejected endpoints too", async () => {
    const { upstream, eject } = setup(leastRequest(), [1, 1, 1, 1], 50);
    for (const id of ["h0.test:80", "h1.test:80", "h2.test:80", "h3.test:80"]) eject(id);
    expect(upstream.snapshot().levels[0]?.panic).toBe(true);
    const counts = beginHeld(upstream, 400);
    expect(Object.keys(counts).sort()).toEqual(["h0.test:80", "h1.test:80", "h2.test:80", "h3.test:80"]);
    await upstream.close();
  });
});
