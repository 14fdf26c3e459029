import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Balancer, EndpointInput, PriorityOptions, ZoneOptions } from "../../src/index.js";
import { createUpstream, leastRequest, roundRobin, weightedRoundRobin } from "../../src/index.js";
import { ManualClock, ManualResolver, seededRandom } from "../../src/testing/index.js";
import { computeZoneLoads } from "../../src/upstream/zone-loads.js";
import { zoneOptions } from "../../src/upstream/zone-options.js";
import { expectConfigErrors } from "../helpers/config-errors.js";
import { lever } from "../helpers/lever.js";
import { pickCounts } from "../helpers/picks.js";

/** Endpoints `<zone><i>.test:80` in zone `<zone>`, `counts[zone]` of them, at `priority`. */
function zoned(counts: Readonly<Record<string, number>>, priority = 0): EndpointInput[] {
  return Object.entries(counts).flatMap(([zone, n]) =>
    Array.from({ length: n }, (_, i) => ({ host: `${zone}${i}.p${priority}.test`, port: 80, zone, priority })),
  );
}

function setup(
  endpoints: EndpointInput[],
  zone: ZoneOptions,
  options: { balancer?: Balancer; priority?: PriorityOptions; seed?: number } = {},
) {
  const resolver = new ManualResolver();
  const clock = new ManualClock();
  const l = lever();
  const upstream = createUpstream({
    name: "api",
    resolver,
    clock,
    random: seededRandom(options.seed ?? 3),
    plugins: [l.plugin],
    balancer: options.balancer ?? roundRobin(),
    priority: options.priority,
    zone,
  });
  resolver.push(endpoints);
  /** Picks per zone. */
  const byZone = (n: number) => pickCounts(upstream, n, (e) => e.zone ?? "-");
  const eject = (host: string, on = true) => l.eject(`${host}.test:80`, on);
  return { resolver, clock, upstream, byZone, eject };
}

const o = (minClusterSize = 6, overprovisioningFactor = 1) => ({ minClusterSize, overprovisioningFactor });

/** computeZoneLoads with callers spread as the endpoints (`total`), loads rounded to 1e-12. */
function loads(total: number[], healthy: number[], options = o(), callers = total, panic = false) {
  const load = new Float64Array(total.length);
  const callerTotal = callers.reduce((a, b) => a + b, 0);
  const routing = computeZoneLoads(healthy, callers, callerTotal, true, panic, options, load);
  return { routing, load: [...load].map((x) => Math.round(x * 1e12) / 1e12) };
}

describe("zone affinity: options", () => {
  it("defaults minClusterSize 6 and overprovisioningFactor 1 (Envoy); callers spread as the endpoints", () => {
    expect(zoneOptions({ local: "a" })).toEqual({
      local: "a",
      minClusterSize: 6,
      overprovisioningFactor: 1,
      callerShares: undefined,
      callerTotal: 0,
    });
    expect(zoneOptions({ local: "a", callerShares: { a: 2, b: 3, c: 0 } })?.callerTotal).toBe(5);
  });

  it("refuses bad options with InvalidConfigError naming the option", () => {
    const resolver = new ManualResolver();
    expectConfigErrors(
      (zone: unknown) => createUpstream({ name: "api", resolver, zone: zone as ZoneOptions }),
      [
        ["us-east-1a", "zone"],
        [null, "zone"],
        [{}, "zone.local"],
        [{ local: "" }, "zone.local"],
        [{ local: 7 }, "zone.local"],
        [{ local: "a", minClusterSize: -1 }, "zone.minClusterSize"],
        [{ local: "a", minClusterSize: 2.5 }, "zone.minClusterSize"],
        [{ local: "a", overprovisioningFactor: 0.9 }, "zone.overprovisioningFactor"],
        [{ local: "a", overprovisioningFactor: Number.NaN }, "zone.overprovisioningFactor"],
        [{ local: "a", callerShares: [1, 2] }, "zone.callerShares"],
        [{ local: "a", callerShares: { a: 1, b: -1 } }, "zone.callerShares.b"],
        [{ local: "a", callerShares: { a: 1, b: "2" } }, "zone.callerShares.b"],
        [{ local: "a", callerShares: { b: 1 } }, "zone.callerShares"],
        [{ local: "a", callerShares: { a: 0, b: 1 } }, "zone.callerShares"],
      ],
    );
  });
});

describe("computeZoneLoads(): Envoy's zone-aware split, in exact reals", () => {
  it("direct while the local zone's healthy share covers its callers' share", () => {
    expect(loads([4, 4, 4], [4, 4, 4])).toEqual({ routing: "direct", load: [1, 0, 0] });
    // The others losing endpoints leaves the local zone with more than its share: still direct.
    expect(loads([4, 4, 4], [4, 1, 2])).toEqual({ routing: "direct", load: [1, 0, 0] });
  });

  it("spill: the local zone keeps u/c of the traffic, the rest goes by residual capacity", () => {
    // One of the local zone's 4 down: u = 3/11, c = 1/3: it keeps 9/11; b and c have 1/33 spare each.
    expect(loads([4, 4, 4], [3, 4, 4])).toEqual({
      routing: "spill",
      load: [9 / 11, 1 / 11, 1 / 11].map((x) => Math.round(x * 1e12) / 1e12),
    });
    // Envoy's own example (load_balancer_impl.cc): callers 40/40/20 %, upstream 25/50/25 %:
    // 62.5% stays, residual 10% and 5%: b takes 2/3 of the rest, c 1/3.
    expect(loads([2, 4, 2], [2, 4, 2], o(), [2, 2, 1])).toEqual({ routing: "spill", load: [0.625, 0.25, 0.125] });
  });

  it("the overprovisioning factor keeps traffic in zone down to 1/factor of its fair share, then scales", () => {
    expect(loads([4, 4, 4], [3, 4, 4], o(6, 1.25)).routing).toBe("direct"); // 1.25 × 9/11 ≥ 1
    // 2 of 4 left: u = 2/10, c = 1/3: it keeps 1.25 × 0.6 = 0.75.
    expect(loads([4, 4, 4], [2, 4, 4], o(6, 1.25))).toEqual({ routing: "spill", load: [0.75, 0.125, 0.125] });
  });

  it("gives the table in docs/balancing.md: three zones of 4, the caller's zone losing endpoints", () => {
    const row = (factor: number) =>
      [4, 3, 2, 1, 0].map((h) => {
        const { routing, load } = loads([4, 4, 4], [h, 4, 4], o(6, factor));
        return routing === "off" ? "off" : load.map((x) => Math.round(x * 1000) / 10).join(" / ");
      });
    expect(row(1)).toEqual(["100 / 0 / 0", "81.8 / 9.1 / 9.1", "60 / 20 / 20", "33.3 / 33.3 / 33.3", "off"]);
    expect(row(1.25)).toEqual(["100 / 0 / 0", "100 / 0 / 0", "75 / 12.5 / 12.5", "41.7 / 29.2 / 29.2", "off"]);
  });

  it("off in panic, below minClusterSize healthy, with no healthy local endpoint, or one zone only", () => {
    expect(loads([4, 4, 4], [3, 4, 4], o(), [4, 4, 4], true)).toEqual({ routing: "off", load: [0, 0, 0] });
    expect(loads([2, 2, 2], [1, 2, 2])).toEqual({ routing: "off", load: [0, 0, 0] }); // 5 healthy < 6
    expect(loads([2, 2, 2], [1, 2, 2], o(5)).routing).toBe("spill");
    expect(loads([4, 4, 4], [0, 4, 4])).toEqual({ routing: "off", load: [0, 0, 0] });
    expect(loads([12], [12])).toEqual({ routing: "off", load: [0] });
    const load = new Float64Array(2);
    expect(computeZoneLoads([6, 6], [6, 6], 12, false, false, o(), load)).toBe("off"); // no local zone
  });

  it("should every residual be 0 (rounding), spreads the rest by healthy endpoints", () => {
    const load = new Float64Array(3);
    // Inconsistent inputs force it: callers 2/5/5 of a total of 4.
    expect(computeZoneLoads([1, 1, 2], [2, 5, 5], 4, true, false, o(0), load)).toBe("spill");
    expect([...load]).toEqual([0.5, 0.5 / 3, 1 / 3]);
  });
});

describe("zone affinity through an upstream", () => {
  it("keeps every pick in the caller's zone while it is healthy enough", () => {
    const s = setup(zoned({ a: 4, b: 4, c: 4 }), { local: "a" });
    expect(s.byZone(1200)).toEqual({ a: 1200 });
    expect(s.upstream.snapshot().levels).toEqual([
      {
        priority: 0,
        total: 12,
        healthy: 12,
        load: 100,
        panic: false,
        zoneRouting: "direct",
        zones: [
          { zone: "a", total: 4, healthy: 4, load: 100 },
          { zone: "b", total: 4, healthy: 4, load: 0 },
          { zone: "c", total: 4, healthy: 4, load: 0 },
        ],
      },
    ]);
  });

  it("an ejection moves traffic at once: spill by Envoy's rule, evenly spread (low-discrepancy sequence)", () => {
    const s = setup(zoned({ a: 4, b: 4, c: 4 }), { local: "a" });
    s.eject("a0.p0");
    // 9/11 stays in a, 1/11 each to b and c; within a few picks of k × share after every k.
    const picks: string[] = [];
    for (let k = 0; k < 11_000; k++) picks.push(s.upstream.pick().zone as string);
    const seen = { a: 0, b: 0, c: 0 } as Record<string, number>;
    picks.forEach((zone, k) => {
      seen[zone] = (seen[zone] as number) + 1;
      expect(Math.abs((seen.a as number) - ((k + 1) * 9) / 11)).toBeLessThan(4);
      expect(Math.abs((seen.b as number) - (k + 1) / 11)).toBeLessThan(4);
    });
    expect(seen).toEqual({ a: 9000, b: 1000, c: 1000 });
    expect(s.upstream.pick.call(s.upstream).id).not.toBe("a0.p0.test:80");
    // Back up: direct again, at once.
    s.eject("a0.p0", false);
    expect(s.byZone(400)).toEqual({ a: 400 });
  });

  it("off below minClusterSize healthy endpoints, and when the local zone has none healthy", () => {
    const small = setup(zoned({ a: 2, b: 2, c: 1 }), { local: "a" });
    expect(small.byZone(500)).toEqual({ a: 200, b: 200, c: 100 });
    expect(small.upstream.snapshot().levels[0]?.zoneRouting).toBe("off");
    const s = setup(zoned({ a: 2, b: 4, c: 4 }), { local: "a" });
    expect(s.byZone(100)).toEqual({ a: 100 });
    s.eject("a0.p0");
    s.eject("a1.p0");
    expect(s.byZone(800)).toEqual({ b: 400, c: 400 }); // round robin over the level, a's skipped
    expect(s.upstream.snapshot().levels[0]?.zones?.map((z) => z.load)).toEqual([undefined, undefined, undefined]);
  });

  it("with callers' shares: Envoy's example split, 62.5 / 25 / 12.5", () => {
    const s = setup(zoned({ a: 2, b: 4, c: 2 }), { local: "a", callerShares: { a: 40, b: 40, c: 20 } });
    expect(s.byZone(8000)).toEqual({ a: 5000, b: 2000, c: 1000 });
    expect(s.upstream.snapshot().levels[0]?.zones?.map((z) => z.load)).toEqual([62.5, 25, 12.5]);
  });

  it("panic: a level in panic ignores zones and uses all its endpoints", () => {
    const s = setup(zoned({ a: 4, b: 4, c: 4 }), { local: "a" });
    for (const h of ["a0", "a1", "a2", "b0", "b1", "b2", "c0"]) s.eject(`${h}.p0`); // 5 of 12 healthy: panic
    expect(s.upstream.snapshot().levels[0]).toMatchObject({ panic: true, zoneRouting: "off" });
    expect(s.byZone(1200)).toEqual({ a: 400, b: 400, c: 400 });
  });

  it("each priority level is routed by its own zones; spill between levels stays Envoy's", () => {
    const s = setup([...zoned({ a: 3, b: 3 }, 0), ...zoned({ a: 3, b: 3 }, 1)], { local: "a" });
    expect(s.byZone(600)).toEqual({ a: 600 });
    for (const h of ["a0", "a1", "a2", "b0"]) s.eject(`${h}.p0`);
    // P0: 2 of 6 healthy: health floor(140 × 2/6) = 46, P1 takes 54; P0 is off (2 < 6), P1 direct.
    const levels = s.upstream.snapshot().levels;
    expect(levels.map((l) => [l.load, l.zoneRouting])).toEqual([
      [46, "off"],
      [54, "direct"],
    ]);
    const counts = pickCounts(s.upstream, 10_000, (e) => `${e.zone}${e.priority}`);
    expect(counts.a0).toBeUndefined();
    expect(Math.abs((counts.b0 as number) - 4600)).toBeLessThan(8);
    expect(Math.abs((counts.a1 as number) - 5400)).toBeLessThan(8);
    expect(counts.b1).toBeUndefined();
  });

  it("works under any balancer: least request in zone", () => {
    const s = setup(zoned({ a: 3, b: 3, c: 3 }), { local: "b" }, { balancer: leastRequest() });
    for (let k = 0; k < 300; k++) s.upstream.begin();
    expect(s.upstream.snapshot().endpoints.map((e) => e.inFlight)).toEqual([0, 0, 0, 100, 100, 100, 0, 0, 0]);
  });

  it("composes with slow start: a newcomer to the caller's zone ramps within the zone's picker", () => {
    const resolver = new ManualResolver();
    const clock = new ManualClock();
    const upstream = createUpstream({
      name: "api",
      resolver,
      clock,
      random: seededRandom(4),
      balancer: weightedRoundRobin(),
      zone: { local: "a" },
      slowStart: { windowMs: 10_000 },
    });
    resolver.push(zoned({ a: 3, b: 3 }));
    resolver.push(zoned({ a: 4, b: 3 }));
    const byHost = (n: number) => pickCounts(upstream, n, (e) => e.host.slice(0, 2));
    expect(byHost(248)).toEqual({ a0: 80, a1: 80, a2: 80, a3: 8 }); // 10:10:10:1, two cycles of 4 × 31
    clock.advance(10_000);
    expect(byHost(400)).toEqual({ a0: 100, a1: 100, a2: 100, a3: 100 });
  });

  it("endpoints without a zone form a group of their own, never the local one", () => {
    const endpoints = [...zoned({ a: 3 }), ...zoned({ b: 3 }).map(({ zone: _, ...e }) => e)];
    const s = setup(endpoints, { local: "a" });
    expect(s.byZone(300)).toEqual({ a: 300 });
    expect(s.upstream.snapshot().levels[0]?.zones?.map((z) => z.zone)).toEqual(["a", undefined]);
  });
});

/** A layout: endpoints per zone (zone 0 local) and which are down; minClusterSize; factor. */
const layouts = fc
  .record({
    zones: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 2, maxLength: 4 }),
    minClusterSize: fc.integer({ min: 0, max: 8 }),
    factor: fc.constantFrom(1, 1.2, 1.5),
    seed: fc.integer({ min: 1, max: 1000 }),
  })
  .chain((l) =>
    fc.record({
      layout: fc.constant(l),
      down: fc.array(fc.boolean(), {
        minLength: l.zones.reduce((a, b) => a + b, 0),
        maxLength: l.zones.reduce((a, b) => a + b, 0),
      }),
    }),
  );

/** The layout's endpoints, zone names z0 (local), z1, ... */
function layoutEndpoints(zones: readonly number[]): EndpointInput[] {
  return zoned(Object.fromEntries(zones.map((n, z) => [`z${z}`, n])));
}

/** Envoy's rule for the layout, written out from its docs: undefined when off, else each zone's share. */
function envoyShares(zones: readonly number[], down: readonly boolean[], minClusterSize: number, factor: number) {
  let i = 0;
  const healthy = zones.map((n) => {
    let h = 0;
    for (let k = 0; k < n; k++) if (!down[i++]) h++;
    return h;
  });
  const H = healthy.reduce((a, b) => a + b, 0);
  const T = zones.reduce((a, b) => a + b, 0);
  if (H < minClusterSize || (healthy[0] as number) === 0) return undefined;
  const upstream = healthy.map((h) => h / H);
  const callers = zones.map((n) => n / T);
  // factor × u_0 / c_0, cross-multiplied so that a ratio of exactly 1 is not lost to rounding.
  const kept = Math.min(1, (factor * (healthy[0] as number) * T) / (H * (zones[0] as number)));
  const residual = upstream.map((u, z) => (z === 0 ? 0 : Math.max(0, u - (callers[z] as number))));
  const R = residual.reduce((a, b) => a + b, 0);
  return upstream.map((_, z) => (z === 0 ? kept : R === 0 ? 0 : ((1 - kept) * (residual[z] as number)) / R));
}

describe("zone affinity properties", () => {
  it("property: never a pick out of zone while the zone is healthy enough; spill shares within 12 picks in 3,000; flips act at once", () => {
    fc.assert(
      fc.property(layouts, ({ layout, down }) => {
        const s = setup(
          layoutEndpoints(layout.zones),
          { local: "z0", minClusterSize: layout.minClusterSize, overprovisioningFactor: layout.factor },
          { priority: { panicThreshold: 0 }, seed: layout.seed },
        );
        const endpoints = layoutEndpoints(layout.zones);
        // Eject one by one, checking after each flip, with no clock advance.
        const state = down.map(() => false);
        for (let i = 0; i <= down.length; i++) {
          if (i > 0 && down[i - 1]) {
            s.eject((endpoints[i - 1] as EndpointInput & { host: string }).host.replace(/\.test$/, ""));
            state[i - 1] = true;
          }
          if (state.every(Boolean)) continue; // nothing healthy: no pick to check
          const shares = envoyShares(layout.zones, state, layout.minClusterSize, layout.factor);
          const counts = s.byZone(3000);
          if (shares === undefined) continue;
          if (shares[0] === 1) {
            expect(Object.keys(counts)).toEqual(["z0"]);
          } else {
            shares.forEach((share, z) => {
              expect(Math.abs((counts[`z${z}`] ?? 0) - 3000 * share)).toBeLessThanOrEqual(12);
            });
          }
        }
      }),
      { numRuns: 120 },
    );
  });

  it("property: the snapshot's zone loads are Envoy's rule, and sum to 100 when routing is on", () => {
    fc.assert(
      fc.property(layouts, ({ layout, down }) => {
        const endpoints = layoutEndpoints(layout.zones);
        const s = setup(
          endpoints,
          { local: "z0", minClusterSize: layout.minClusterSize, overprovisioningFactor: layout.factor },
          { priority: { panicThreshold: 0 }, balancer: weightedRoundRobin() },
        );
        down.forEach((d, i) => {
          if (d) s.eject((endpoints[i] as EndpointInput & { host: string }).host.replace(/\.test$/, ""));
        });
        if (down.every(Boolean)) return;
        const level = s.upstream.snapshot().levels[0];
        const shares = envoyShares(layout.zones, down, layout.minClusterSize, layout.factor);
        if (shares === undefined) {
          expect(level?.zoneRouting).toBe("off");
          return;
        }
        expect(level?.zoneRouting).toBe(shares[0] === 1 ? "direct" : "spill");
        const zoneLoads = level?.zones?.map((z) => z.load as number) ?? [];
        for (const [z, load] of zoneLoads.entries()) expect(load).toBeCloseTo(100 * (shares[z] as number), 9);
        expect(zoneLoads.reduce((a, b) => a + b, 0)).toBeCloseTo(100, 9);
      }),
      { numRuns: 200 },
    );
  });
});
