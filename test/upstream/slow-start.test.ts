import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildWeights } from "../../src/balancers/alias-table.js";
import type { Balancer, EndpointInput, SlowStartOptions } from "../../src/index.js";
import {
  createUpstream,
  InvalidConfigError,
  leastRequest,
  maglev,
  p2cPeakEwma,
  random,
  ringHash,
  roundRobin,
  weightedRandom,
  weightedRoundRobin,
} from "../../src/index.js";
import { ManualClock, ManualResolver, seededRandom } from "../../src/testing/index.js";
import { SLOW_START_STEPS, slowStartFactor, slowStartOptions } from "../../src/upstream/slow-start.js";
import { expectConfigErrors } from "../helpers/config-errors.js";
import { lever } from "../helpers/lever.js";
import { hostsOf, pickCounts, weightedEndpoints } from "../helpers/picks.js";

function host(name: string, weight = 100, priority = 0): EndpointInput {
  return { host: `${name}.test`, port: 80, weight, priority };
}

const id = (name: string) => `${name}.test:80`;

function setup(
  options: { balancer?: Balancer; slowStart?: SlowStartOptions; seed?: number; rebuildDelayMs?: number } = {},
) {
  const resolver = new ManualResolver();
  const clock = new ManualClock();
  const l = lever();
  const upstream = createUpstream({
    name: "api",
    resolver,
    clock,
    random: seededRandom(options.seed ?? 5),
    plugins: [l.plugin],
    balancer: options.balancer,
    rebuildDelayMs: options.rebuildDelayMs,
    slowStart: options.slowStart ?? { windowMs: 10_000 },
  });
  let swaps = 0;
  upstream.on("picker", () => swaps++);
  /** The effective weight of endpoint `name` in the upstream's table. */
  const weight = (name: string) => l.table().effectiveWeight[l.host(id(name)).slot] as number;
  /** Picks per endpoint name. */
  const counts = (n: number) => pickCounts(upstream, n, (e) => e.host.slice(0, e.host.indexOf(".")));
  return {
    resolver,
    clock,
    upstream,
    eject: (name: string, on = true) => l.eject(id(name), on),
    weight,
    counts,
    swaps: () => swaps,
  };
}

/** Envoy's ramp, written out from its docs: w × max(min%, (max(t, 1) / window)^(1 / aggression)) within the window. */
function envoyWeight(weight: number, elapsed: number, o: Required<SlowStartOptions>): number {
  if (elapsed >= o.windowMs) return weight;
  return weight * Math.max(o.minWeightPercent / 100, (Math.max(elapsed, 1) / o.windowMs) ** (1 / o.aggression));
}

describe("slow start: options", () => {
  it("defaults aggression 1 and minWeightPercent 10; windowMs is required", () => {
    expect(slowStartOptions({ windowMs: 30_000 })).toEqual({ windowMs: 30_000, aggression: 1, minWeightPercent: 10 });
    expect(slowStartOptions(undefined)).toBeUndefined();
  });

  it("refuses bad options with InvalidConfigError naming the option", () => {
    const resolver = new ManualResolver();
    expectConfigErrors(
      (slowStart: unknown) => createUpstream({ name: "api", resolver, slowStart: slowStart as SlowStartOptions }),
      [
        [{}, "slowStart.windowMs"],
        [{ windowMs: 0 }, "slowStart.windowMs"],
        [{ windowMs: 0.5 }, "slowStart.windowMs"],
        [{ windowMs: 2 ** 31 }, "slowStart.windowMs"],
        [{ windowMs: "10s" }, "slowStart.windowMs"],
        [{ windowMs: Number.NaN }, "slowStart.windowMs"],
        [{ windowMs: 1000, aggression: 0 }, "slowStart.aggression"],
        [{ windowMs: 1000, aggression: -1 }, "slowStart.aggression"],
        [{ windowMs: 1000, aggression: Number.POSITIVE_INFINITY }, "slowStart.aggression"],
        [{ windowMs: 1000, minWeightPercent: 101 }, "slowStart.minWeightPercent"],
        [{ windowMs: 1000, minWeightPercent: -1 }, "slowStart.minWeightPercent"],
        [{ windowMs: 1000, minWeightPercent: Number.NaN }, "slowStart.minWeightPercent"],
        [30_000, "slowStart"],
        [null, "slowStart"],
      ],
    );
  });

  it("refuses a balancer that does not weigh by effectiveWeight (slowStart: false): round robin, random, a hashing one", () => {
    const resolver = new ManualResolver();
    const own: Balancer = {
      name: "my-hashing",
      slowStart: false,
      build: () => ({ pick: () => undefined, hosts: [] }),
    };
    for (const balancer of [roundRobin(), random(), ringHash(), maglev(), own]) {
      let caught: unknown;
      try {
        createUpstream({ name: "api", resolver, balancer, slowStart: { windowMs: 1000 } });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(InvalidConfigError);
      expect((caught as InvalidConfigError).option).toBe("slowStart");
      expect((caught as Error).message).toContain(`balancer "${balancer.name}"`);
    }
    // Without slow start they are as welcome as ever; the weighted and load-aware ones take it.
    for (const balancer of [roundRobin(), random(), ringHash(), maglev()])
      expect(() => createUpstream({ name: "a", resolver, balancer })).not.toThrow();
    for (const balancer of [weightedRoundRobin(), weightedRandom(), leastRequest(), p2cPeakEwma()]) {
      expect(() => createUpstream({ name: "a", resolver, balancer, slowStart: { windowMs: 1000 } })).not.toThrow();
    }
  });
});

describe("slowStartFactor()", () => {
  const o = { windowMs: 10_000, aggression: 1, minWeightPercent: 10 };

  it("is Envoy's ramp: the minimum first, then t / window, then 1 from the end of the window", () => {
    expect([0, 500, 1000, 1500, 5000, 9999, 10_000, 60_000].map((t) => slowStartFactor(t, o))).toEqual([
      0.1, 0.1, 0.1, 0.15, 0.5, 0.9999, 1, 1,
    ]);
  });

  it("bends with aggression: (t / window)^(1 / aggression)", () => {
    expect(slowStartFactor(2500, { ...o, aggression: 2 })).toBe(0.5);
    expect(slowStartFactor(2500, { ...o, aggression: 0.5 })).toBe(0.1); // 0.0625, under the minimum
    expect(slowStartFactor(5000, { ...o, aggression: 0.5 })).toBe(0.25);
  });

  it("gives the weights of the table in docs/balancing.md (weight 100, a 10 s window)", () => {
    const row = (aggression: number) =>
      [0, 1500, 5000, 9500, 10_000].map((t) => Math.round(100 * slowStartFactor(t, { ...o, aggression })));
    expect(row(1)).toEqual([10, 15, 50, 95, 100]);
    expect(row(2)).toEqual([10, 39, 71, 97, 100]);
    expect(row(0.5)).toEqual([10, 10, 25, 90, 100]);
  });

  it("with minWeightPercent 0 starts above 0: Envoy's 1 ms floor on the time", () => {
    expect(slowStartFactor(0, { ...o, minWeightPercent: 0 })).toBe(1 / 10_000);
    expect(slowStartFactor(0, { ...o, minWeightPercent: 100 })).toBe(1);
  });
});

describe("buildWeights(): what the weighted balancers build with", () => {
  it("whole effective weights as they are; a fractional one scales every weight by 1,000 (at least 1)", () => {
    const { table, hosts } = hostsOf(weightedEndpoints([100, 100, 3]));
    expect([...buildWeights(hosts, table)]).toEqual([100, 100, 3]);
    table.effectiveWeight[(hosts[2] as { slot: number }).slot] = 0.3;
    expect([...buildWeights(hosts, table)]).toEqual([100_000, 100_000, 300]);
    table.effectiveWeight[(hosts[2] as { slot: number }).slot] = 0.0001;
    expect([...buildWeights(hosts, table)]).toEqual([100_000, 100_000, 1]);
  });
});

describe("slow start through an upstream", () => {
  it("the first set does not warm; a newcomer ramps from 10% over the window, in exact weighted round robin cycles", () => {
    const s = setup({ balancer: weightedRoundRobin() });
    s.resolver.push([host("a"), host("b")]);
    expect([s.weight("a"), s.weight("b")]).toEqual([100, 100]);
    expect(s.clock.pendingTimers).toBe(0); // nothing warms: no timer
    s.resolver.push([host("a"), host("b"), host("c")]);
    expect(s.weight("c")).toBe(10);
    expect(s.clock.pendingTimers).toBe(1); // one step timer
    // Weights 100/100/10 → 10:10:1: every 63 picks (3 buckets × 21) are exactly 30/30/3.
    expect(s.counts(63)).toEqual({ a: 30, b: 30, c: 3 });
    s.clock.advance(1500); // steps at 500 and 1000 stay at the 10% minimum; 1500: 15%
    expect(s.weight("c")).toBe(15);
    expect(s.counts(129)).toEqual({ a: 60, b: 60, c: 9 }); // 20:20:3
    s.clock.advance(500);
    expect(s.weight("c")).toBe(20);
    expect(s.counts(33)).toEqual({ a: 15, b: 15, c: 3 }); // 5:5:1
    s.clock.advance(8000);
    expect(s.weight("c")).toBe(100);
    expect(s.clock.pendingTimers).toBe(0); // warm: the timer stops
    expect(s.counts(300)).toEqual({ a: 100, b: 100, c: 100 });
  });

  it("rebuilds once per step that moves a weight, and never otherwise", () => {
    const s = setup();
    s.resolver.push([host("a"), host("b")]);
    s.resolver.push([host("a"), host("b"), host("c")]);
    const base = s.swaps();
    s.clock.advance(1000); // two steps at the 10% minimum: nothing moved
    expect(s.swaps()).toBe(base);
    s.clock.advance(9000); // steps 1500, 2000, ..., 9500 (17) and 10,000 (full weight)
    expect(s.swaps()).toBe(base + 18);
    s.clock.advance(60_000);
    expect(s.swaps()).toBe(base + 18);
  });

  it(`takes ${SLOW_START_STEPS} steps per window, on one timer however many endpoints warm`, () => {
    const s = setup({ slowStart: { windowMs: 2000 } });
    s.resolver.push([host("a"), host("b")]);
    s.resolver.push([host("a"), host("b"), host("c")]);
    s.clock.advance(30);
    s.resolver.push([host("a"), host("b"), host("c"), host("d")]);
    expect(s.clock.pendingTimers).toBe(1);
    s.clock.advance(70); // the first step, 100 ms after c joined: d is 70 ms in
    expect([s.weight("c"), s.weight("d")]).toEqual([10, 10]);
    s.clock.advance(200); // 300 ms: c at 15%, d (270 ms) at 13.5%
    expect([s.weight("c"), s.weight("d")]).toEqual([15, 13.5]);
    s.clock.advance(1700); // 2000: c done
    expect([s.weight("c"), s.weight("d")]).toEqual([100, 98.5]);
    s.clock.advance(100); // 2100: d done at the first step after its window
    expect([s.weight("c"), s.weight("d")]).toEqual([100, 100]);
    expect(s.clock.pendingTimers).toBe(0);
  });

  it("recovery from an ejection restarts the ramp; the rebuild comes with the deferred rebuild (rebuildDelayMs)", () => {
    const s = setup({ rebuildDelayMs: 5 });
    s.resolver.push([host("a"), host("b"), host("c")]);
    s.clock.advance(20_000);
    s.eject("c");
    expect(s.counts(60).c).toBeUndefined();
    s.clock.advance(10_000);
    s.eject("c", false);
    expect(s.weight("c")).toBe(10);
    s.clock.advance(5); // the deferred rebuild: c is back at 10%
    expect(s.counts(63)).toEqual({ a: 30, b: 30, c: 3 });
    s.clock.advance(10_000);
    expect(s.weight("c")).toBe(100);
    expect(s.counts(300)).toEqual({ a: 100, b: 100, c: 100 });
  });

  it("a drained endpoint given a weight warms; a warming one keeps its ramp at a new weight; a leaving one stops warming", () => {
    const s = setup();
    s.resolver.push([host("a"), host("b", 0)]);
    s.resolver.push([host("a"), host("b", 200)]);
    expect(s.weight("b")).toBe(20);
    s.clock.advance(5000);
    expect(s.weight("b")).toBe(100);
    s.resolver.push([host("a"), host("b", 50)]); // half way: 50 × 0.5
    expect(s.weight("b")).toBe(25);
    expect(s.clock.pendingTimers).toBe(1);
    s.resolver.push([host("a")]);
    s.clock.advance(500); // the step finds nothing warming: no new timer
    expect(s.clock.pendingTimers).toBe(0);
  });

  it("an empty first set does not make the next one warm", () => {
    const s = setup();
    s.resolver.push([]);
    s.resolver.push([host("a"), host("b")]);
    expect([s.weight("a"), s.weight("b")]).toEqual([100, 100]);
    expect(s.clock.pendingTimers).toBe(0);
  });

  it("close() cancels the step timer", async () => {
    const s = setup();
    s.resolver.push([host("a")]);
    s.resolver.push([host("a"), host("b")]);
    expect(s.clock.pendingTimers).toBe(1);
    await s.upstream.close();
    expect(s.clock.pendingTimers).toBe(0);
  });

  it("weighted random draws by the ramped weight", () => {
    const s = setup({ balancer: weightedRandom(), seed: 9 });
    s.resolver.push([host("a"), host("b")]);
    s.resolver.push([host("a"), host("b"), host("c")]);
    // c's share is 10/210 ≈ 4.76%: sd over 42,000 picks ≈ 44, so ±220 is 5 sd.
    expect(Math.abs((s.counts(42_000).c ?? 0) - 2000)).toBeLessThan(220);
  });

  it("least request with equal weights: a warming endpoint is drawn by its ramped weight, then the plain P2C picker is back", () => {
    const s = setup({ balancer: leastRequest(), seed: 11 });
    s.resolver.push([host("a"), host("b")]);
    s.resolver.push([host("a"), host("b"), host("c")]);
    const name = s.upstream.picker.constructor.name;
    expect(name).toBe("WeightedP2CPicker");
    // Nothing in flight: a tie, the first draw wins; draws are by weight, so c gets 10/210.
    expect(Math.abs((s.counts(42_000).c ?? 0) - 2000)).toBeLessThan(220);
    s.clock.advance(10_000);
    expect(s.upstream.picker.constructor.name).toBe("P2CPicker");
    expect(Math.abs((s.counts(42_000).c ?? 0) - 14_000)).toBeLessThan(500);
  });

  it("least request under load reads the ramped weight at pick time: a warming endpoint holds fewer requests in flight", () => {
    const s = setup({ balancer: leastRequest(), seed: 12 });
    s.resolver.push([host("a"), host("b")]);
    s.resolver.push([host("a"), host("b"), host("c")]);
    s.clock.advance(5000); // c at 50%
    expect(s.weight("c")).toBe(50);
    for (let k = 0; k < 2500; k++) s.upstream.begin(); // held open
    const inFlight = s.upstream.snapshot().endpoints.map((e) => e.inFlight);
    // Bias 1 keeps in flight per unit of effective weight level: c holds about half of a's.
    expect(Math.abs((inFlight[2] as number) / (inFlight[0] as number) - 0.5)).toBeLessThan(0.05);
  });

  it("property: every endpoint's effective weight is Envoy's ramp at its last update (its start, or the last step)", () => {
    fc.assert(
      fc.property(
        fc.record({
          windowMs: fc.integer({ min: 20, max: 5000 }),
          aggression: fc.constantFrom(0.5, 1, 1.7, 3),
          minWeightPercent: fc.constantFrom(0, 5, 10, 50),
        }),
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant("join" as const), weight: fc.integer({ min: 1, max: 1000 }) }),
            fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 3000 }) }),
            fc.record({ kind: fc.constant("recover" as const), which: fc.nat() }),
          ),
          { maxLength: 25 },
        ),
        (options, events) => {
          const s = setup({ slowStart: options });
          const o = slowStartOptions(options) as Required<SlowStartOptions>;
          const step = o.windowMs / SLOW_START_STEPS;
          // The model: each endpoint's start, weight and last update; the one step timer.
          const model: { name: string; weight: number; start: number; updated: number; warming: boolean }[] = [];
          let next: number | undefined;
          const inputs = () => model.map((m) => host(m.name, m.weight));
          model.push(
            { name: "a", weight: 100, start: 0, updated: 0, warming: false },
            { name: "b", weight: 7, start: 0, updated: 0, warming: false },
          );
          s.resolver.push(inputs());
          const begin = (m: (typeof model)[number]) => {
            const now = s.clock.now();
            Object.assign(m, { start: now, updated: now, warming: true });
            next ??= now + step;
          };
          for (const event of events) {
            if (event.kind === "join") {
              const m = { name: `n${model.length}`, weight: event.weight, start: 0, updated: 0, warming: false };
              model.push(m);
              begin(m);
              s.resolver.push(inputs());
            } else if (event.kind === "recover") {
              const m = model[event.which % model.length] as (typeof model)[number];
              s.eject(m.name);
              s.eject(m.name, false);
              begin(m);
            } else {
              const end = s.clock.now() + event.ms;
              while (next !== undefined && next <= end) {
                const at: number = next;
                next = undefined;
                for (const m of model) {
                  if (!m.warming) continue;
                  m.updated = at;
                  m.warming = at - m.start < o.windowMs;
                }
                if (model.some((m) => m.warming)) next = at + step;
              }
              s.clock.advance(event.ms);
            }
            for (const m of model) {
              const expected =
                m.warming || m.updated > m.start ? envoyWeight(m.weight, m.updated - m.start, o) : m.weight;
              expect(s.weight(m.name)).toBeCloseTo(expected, 9);
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
