import { describe, expect, it } from "vitest";
import type { UpstreamHealthChange, UpstreamPlugin } from "../../src/index.js";
import {
  circuitBreakers,
  concurrencyLimits,
  consecutiveFailures,
  createUpstream,
  InvalidConfigError,
  ResolverError,
  roundRobin,
} from "../../src/index.js";
import { ManualClock, ManualResolver, seededRandom } from "../../src/testing/index.js";
import { lever } from "../helpers/lever.js";

function setup(plugins: UpstreamPlugin[], healthThreshold?: number) {
  const resolver = new ManualResolver();
  const clock = new ManualClock();
  const upstream = createUpstream({
    name: "api",
    resolver,
    clock,
    random: seededRandom(5),
    balancer: roundRobin(),
    plugins,
    ...(healthThreshold === undefined ? {} : { healthThreshold }),
  });
  const changes: string[] = [];
  upstream.on("health", (c: UpstreamHealthChange) => {
    changes.push(`${c.health} ${c.weight.available}/${c.weight.total} @${clock.now()}`);
  });
  return { resolver, clock, upstream, changes };
}

describe("Upstream.health()", () => {
  it("lists each endpoint with Kong's health words, why it is out, and for how long", () => {
    const l = lever();
    const breakers = circuitBreakers({ strategy: () => consecutiveFailures(1), openMs: 5000 });
    const { resolver, clock, upstream } = setup([l.plugin, breakers]);
    resolver.push([
      { host: "10.0.0.1", port: 80, weight: 30 },
      { host: "10.0.0.2", port: 80, weight: 50 },
      { host: "10.0.0.3", port: 80, weight: 0 },
      { host: "10.0.0.4", port: 80, weight: 20, priority: 1 },
    ]);
    clock.advance(1000);
    l.eject("10.0.0.1:80");
    upstream.report(upstream.endpoints[3] as never, { failure: "connect" }); // 10.0.0.4's breaker opens
    upstream.override("10.0.0.4:80", "down");
    clock.advance(250);
    const h = upstream.health();
    expect(JSON.parse(JSON.stringify(h))).toEqual(h); // plain data
    expect(h).toMatchObject({
      name: "api",
      health: "HEALTHY",
      threshold: 0,
      weight: { total: 100, available: 50, unavailable: 50 },
      resolver: { name: "manual", lastError: undefined },
    });
    expect(h.endpoints.map((e) => [e.id, e.health, e.available, e.forMs, e.override])).toEqual([
      ["10.0.0.1:80", "UNHEALTHY", false, 250, undefined],
      ["10.0.0.2:80", "HEALTHY", true, 1250, undefined],
      ["10.0.0.3:80", "DRAINED", false, 1250, undefined],
      ["10.0.0.4:80", "UNHEALTHY", false, 250, "down"],
    ]);
    expect(h.endpoints[0]?.reasons).toEqual([{ source: "lever" }]);
    expect(h.endpoints[1]?.reasons).toEqual([]);
    expect(h.endpoints[3]?.reasons).toEqual([
      { source: "circuit-breaker", detail: upstream.snapshot().endpoints[3]?.plugins["circuit-breaker"] },
      { source: "override" },
    ]);
    expect(h.endpoints[3]?.reasons[0]?.detail).toMatchObject({ state: "open" });
    expect(h.endpoints[3]).toMatchObject({ host: "10.0.0.4", port: 80, weight: 20, priority: 1 });
  });

  it("says HEALTHCHECKS_OFF when no plug-in watches endpoints (a concurrency limit alone is not a health check)", () => {
    for (const plugins of [[], [concurrencyLimits()]]) {
      const { resolver, upstream } = setup(plugins);
      resolver.push(["a:1", "b:1"]);
      expect(upstream.health().endpoints.map((e) => e.health)).toEqual(["HEALTHCHECKS_OFF", "HEALTHCHECKS_OFF"]);
      upstream.override("a:1", "down");
      expect(upstream.health().endpoints.map((e) => e.health)).toEqual(["UNHEALTHY", "HEALTHCHECKS_OFF"]);
    }
  });

  it("says DNS_ERROR for endpoints kept from the last good set while the resolver fails, until it succeeds again", () => {
    const { resolver, upstream } = setup([circuitBreakers()]);
    resolver.push(["a:1", "b:1"]);
    resolver.error(new ResolverError("manual", "lookup failed", { code: "ERR_DNS_TIMEOUT" }));
    const h = upstream.health();
    expect(h.endpoints.map((e) => [e.health, e.available])).toEqual([
      ["DNS_ERROR", true],
      ["DNS_ERROR", true],
    ]);
    expect(h.resolver.lastError).toEqual({
      name: "ResolverError",
      code: "ERR_DNS_TIMEOUT",
      message: "manual: lookup failed",
    });
    resolver.push(["a:1", "b:1"]);
    expect(upstream.health().endpoints.map((e) => e.health)).toEqual(["HEALTHY", "HEALTHY"]);
  });
});

describe("healthThreshold (Kong's healthchecks.threshold)", () => {
  it("reports UNHEALTHY below the threshold percentage of available weight, with an event on each change", () => {
    const l = lever();
    const { resolver, clock, upstream, changes } = setup([l.plugin], 60);
    expect(upstream.health().health).toBe("UNHEALTHY"); // nothing resolved
    resolver.push([
      { host: "a", port: 1, weight: 50 },
      { host: "b", port: 1, weight: 30 },
      { host: "c", port: 1, weight: 20 },
    ]);
    clock.advance(10);
    l.eject("c:1"); // 80% available
    l.eject("b:1"); // 50%: below 60
    clock.advance(10);
    l.eject("b:1", false); // 80%
    l.eject("a:1"); // 30%
    resolver.push([
      { host: "a", port: 1, weight: 50 },
      { host: "b", port: 1, weight: 130 },
      { host: "c", port: 1, weight: 20 },
    ]); // b's weight grows: 130 of 200 = 65%
    expect(changes).toEqual([
      "HEALTHY 100/100 @0",
      "UNHEALTHY 50/100 @10",
      "HEALTHY 80/100 @20",
      "UNHEALTHY 30/100 @20",
      "HEALTHY 130/200 @20",
    ]);
    expect(upstream.health()).toMatchObject({
      health: "HEALTHY",
      threshold: 60,
      weight: { available: 130, total: 200 },
    });
    expect(upstream.snapshot().weight).toEqual({ total: 200, available: 130, unavailable: 70 });
  });

  it("with the default 0, is healthy while any weight is available, and unhealthy with none or all drained", () => {
    const l = lever();
    const { resolver, changes } = setup([l.plugin]);
    resolver.push(["a:1", "b:1"]);
    l.eject("a:1");
    l.eject("b:1");
    l.eject("b:1", false);
    resolver.push([{ host: "a", port: 1, weight: 0 }]);
    resolver.push([]);
    expect(changes).toEqual(["HEALTHY 200/200 @0", "UNHEALTHY 0/200 @0", "HEALTHY 100/200 @0", "UNHEALTHY 0/0 @0"]);
  });

  it("rejects a threshold that is not a percentage", () => {
    for (const healthThreshold of [-1, 101, Number.NaN, "50"]) {
      expect(() =>
        createUpstream({ name: "x", resolver: new ManualResolver(), healthThreshold: healthThreshold as number }),
      ).toThrow(expect.objectContaining({ option: "healthThreshold" }));
    }
    expect(() => createUpstream({ name: "x", resolver: new ManualResolver(), healthThreshold: 101 })).toThrow(
      InvalidConfigError,
    );
  });
});
