import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Balancer, EndpointInput, Host } from "../../src/index.js";
import {
  createUpstream,
  inFlightLoad,
  random,
  roundRobin,
  weightedRandom,
  weightedRoundRobin,
} from "../../src/index.js";
import { ManualClock, ManualResolver, seededRandom } from "../../src/testing/index.js";
import { lever } from "../helpers/lever.js";
import { pickCounts } from "../helpers/picks.js";

function hosts(n: number, priority = 0, prefix = "h"): EndpointInput[] {
  return Array.from({ length: n }, (_, i) => ({ host: `${prefix}${i}.test`, port: 80, priority }));
}

function setup(options: { balancer?: Balancer; rebuildDelayMs?: number; panicThreshold?: number } = {}) {
  const resolver = new ManualResolver();
  const clock = new ManualClock();
  const l = lever();
  const upstream = createUpstream({
    name: "api",
    resolver,
    clock,
    random: seededRandom(5),
    plugins: [l.plugin],
    balancer: options.balancer,
    rebuildDelayMs: options.rebuildDelayMs,
    priority: options.panicThreshold === undefined ? undefined : { panicThreshold: options.panicThreshold },
  });
  let swaps = 0;
  upstream.on("picker", () => swaps++);
  return { resolver, clock, upstream, eject: l.eject, swaps: () => swaps };
}

describe("cheap eligibility changes", () => {
  it("a burst of ejections costs at most one rebuild, held for rebuildDelayMs", () => {
    const { resolver, clock, upstream, eject, swaps } = setup({ rebuildDelayMs: 25, panicThreshold: 0 });
    resolver.push(hosts(100));
    const base = swaps();
    const ejected = (i: number) => i % 5 < 3; // 60 of 100, in runs of 3
    for (let i = 0; i < 100; i++) if (ejected(i)) eject(`h${i}.test:80`);
    // Skipping at pick time: none of the 60 is picked, and no picker was swapped in yet.
    const counts = pickCounts(upstream, 400);
    expect(swaps()).toBe(base);
    expect(Object.keys(counts).length).toBe(40);
    expect(Object.keys(counts).some((id) => ejected(Number(id.slice(1, id.indexOf(".")))))).toBe(false);
    expect(Object.values(counts).every((c) => c === 10)).toBe(true); // round robin: one pick each per cycle
    // Over half the picker is down: one rebuild, once the delay has passed.
    clock.advance(24);
    expect(swaps()).toBe(base);
    clock.advance(1);
    expect(swaps()).toBe(base + 1);
    expect(upstream.picker.hosts.length).toBe(40);
    expect(clock.pendingTimers).toBe(0);
  });

  it("an endpoint left out of the picker comes back after rebuildDelayMs, or at once through override()", () => {
    const { resolver, clock, upstream, eject } = setup({ rebuildDelayMs: 50, panicThreshold: 0 });
    resolver.push(hosts(4));
    eject("h0.test:80");
    eject("h1.test:80");
    resolver.push([...hosts(4), { host: "h4.test", port: 80 }]); // rebuild with 2 of 5 down: they are left out
    expect(upstream.picker.hosts.map((h) => h.endpoint.id)).toEqual(["h2.test:80", "h3.test:80", "h4.test:80"]);
    eject("h0.test:80", false);
    expect(pickCounts(upstream, 30)["h0.test:80"]).toBeUndefined();
    clock.advance(50);
    expect(pickCounts(upstream, 40)).toEqual({
      "h0.test:80": 10,
      "h2.test:80": 10,
      "h3.test:80": 10,
      "h4.test:80": 10,
    });
    eject("h1.test:80", false);
    upstream.override("h1.test:80", "up"); // applies pending rebuilds at once
    expect(pickCounts(upstream, 50)["h1.test:80"]).toBe(10);
  });

  it("when a picker gives up skipping, the upstream rebuilds at once rather than fail", () => {
    const { resolver, upstream, eject } = setup({ balancer: roundRobin(), rebuildDelayMs: 60_000, panicThreshold: 0 });
    resolver.push(hosts(64));
    for (let i = 0; i < 20; i++) eject(`h${i}.test:80`); // 20 in a row: more than the picker's skip bound
    const before = upstream.picker;
    const counts = pickCounts(upstream, 44 * 3);
    expect(Object.keys(counts).sort()).toEqual(Array.from({ length: 44 }, (_, i) => `h${i + 20}.test:80`).sort());
    expect(upstream.picker).not.toBe(before); // rebuilt over the 44 eligible at the first give-up
    expect(upstream.picker.hosts.length).toBe(44);
  });

  it("spills to the next priority level and back in O(levels), with whole-percent loads", () => {
    const { resolver, upstream, eject, swaps } = setup();
    resolver.push([...hosts(2, 0, "p0-"), ...hosts(1, 1, "p1-")]);
    const base = swaps();
    eject("p0-0.test:80"); // P0 50% healthy → 70 / 30
    expect(upstream.snapshot().levels.map((l) => [l.load, l.panic])).toEqual([
      [70, false],
      [30, false],
    ]);
    const c = pickCounts(upstream, 10_000);
    expect(Object.keys(c).sort()).toEqual(["p0-1.test:80", "p1-0.test:80"]);
    expect(Math.abs((c["p0-1.test:80"] as number) - 7000)).toBeLessThanOrEqual(6);
    eject("p0-0.test:80", false);
    expect(pickCounts(upstream, 100)).toEqual({ "p0-0.test:80": 50, "p0-1.test:80": 50 });
    expect(swaps() - base).toBe(2); // level picker → priority picker → level picker; no level rebuilt
  });

  it("Envoy total panic: every level in panic splits load by host count (5/0, 3/0, 2/0 → 50/30/20)", () => {
    const { resolver, upstream, eject } = setup();
    resolver.push([...hosts(5, 0, "a"), ...hosts(3, 1, "b"), ...hosts(2, 2, "c")]);
    for (const e of upstream.endpoints) eject(e.id);
    expect(upstream.snapshot().levels.map((l) => [l.priority, l.total, l.healthy, l.load, l.panic])).toEqual([
      [0, 5, 0, 50, true],
      [1, 3, 0, 30, true],
      [2, 2, 0, 20, true],
    ]);
    const byLevel = pickCounts(upstream, 1000, (e) => e.priority);
    expect(Math.abs((byLevel[0] as number) - 500)).toBeLessThanOrEqual(2);
    expect(Math.abs((byLevel[1] as number) - 300)).toBeLessThanOrEqual(2);
    expect(Math.abs((byLevel[2] as number) - 200)).toBeLessThanOrEqual(2);
  });

  for (const balancer of [roundRobin(), weightedRoundRobin(), random(), weightedRandom()]) {
    it(`property (${balancer.name}): an ejected endpoint is never picked outside panic`, () => {
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.nat(11), fc.boolean(), fc.nat(20)), { maxLength: 40 }),
          fc.integer({ min: 0, max: 60 }),
          (flips, threshold) => {
            const { resolver, clock, upstream, eject } = setup({ balancer, panicThreshold: threshold });
            resolver.push(
              Array.from({ length: 12 }, (_, i) => ({ host: `h${i}.test`, port: 80, priority: i % 3, weight: 1 + i })),
            );
            const down = new Set<string>();
            for (const [i, on, picks] of flips) {
              const id = `h${i}.test:80`;
              eject(id, on);
              if (on) down.add(id);
              else down.delete(id);
              if (picks % 5 === 0) clock.advance(0); // sometimes let deferred rebuilds run
              const panic = new Map(upstream.snapshot().levels.map((l) => [l.priority, l.panic]));
              for (let k = 0; k < picks; k++) {
                const e = upstream.tryPick();
                if (e === undefined) {
                  // Only when nothing is eligible and panic cannot help.
                  if (down.size < 12 && threshold > 0) return false;
                  continue;
                }
                if (down.has(e.id) && panic.get(e.priority) !== true) return false;
              }
            }
            return true;
          },
        ),
        { numRuns: 150, seed: 17 },
      );
    });
  }
});

describe("load metric seam", () => {
  it("a picker reads in-flight counts from the table at pick time, with no rebuild", () => {
    // A toy least-loaded balancer over inFlightLoad(): the lowest load wins, ties to the first.
    const metric = inFlightLoad();
    const leastLoaded: Balancer = {
      name: "least-loaded",
      metric,
      build: (hs, { table }) => ({
        hosts: hs,
        pick() {
          let best = hs[0];
          for (const h of hs) if (metric.load(table, h.slot) < metric.load(table, (best as Host).slot)) best = h;
          return best;
        },
      }),
    };
    const resolver = new ManualResolver();
    const upstream = createUpstream({ name: "api", resolver, balancer: leastLoaded, clock: new ManualClock() });
    resolver.push(["a:1", "b:1", "c:1"]);
    const picker = upstream.picker;
    const tokens = Array.from({ length: 6 }, () => upstream.begin());
    expect(tokens.map((t) => upstream.endpointOf(t)?.id)).toEqual(["a:1", "b:1", "c:1", "a:1", "b:1", "c:1"]);
    upstream.end(tokens[4] as number, { status: 200 }); // b:1 now has one fewer in flight
    expect(upstream.pick().id).toBe("b:1");
    expect(upstream.picker).toBe(picker);
  });
});
