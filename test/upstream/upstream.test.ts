import { describe, expect, it, vi } from "vitest";
import type { Clock, EndpointsChange } from "../../src/index.js";
import {
  ClosedError,
  createUpstream,
  InvalidConfigError,
  NoEndpointsError,
  ReadyTimeoutError,
  ResolverError,
  roundRobin,
  StaticResolver,
  staticResolver,
  systemClock,
} from "../../src/index.js";
import { ManualClock, ManualResolver, seededRandom } from "../../src/testing/index.js";
import { pickCounts } from "../helpers/picks.js";

function manual() {
  const resolver = new ManualResolver();
  const clock = new ManualClock();
  const upstream = createUpstream({ name: "api", resolver, clock, random: seededRandom(1) });
  return { resolver, clock, upstream };
}

describe("Upstream", () => {
  it("starts its resolver and picks from a static list at once", async () => {
    const upstream = createUpstream({
      name: "api",
      resolver: staticResolver(["http://10.0.0.1:80", "http://10.0.0.2:80"]),
      random: seededRandom(3),
    });
    await upstream.ready();
    expect(upstream.endpoints.map((e) => e.id)).toEqual(["10.0.0.1:80", "10.0.0.2:80"]);
    expect(pickCounts(upstream, 10)).toEqual({ "10.0.0.1:80": 5, "10.0.0.2:80": 5 });
    await upstream.close();
  });

  it("Kong blue-green: weights 100/0 → 80/20 → 0/100 shift traffic exactly", async () => {
    const resolver = staticResolver([
      { host: "blue.internal", port: 8080, weight: 100 },
      { host: "green.internal", port: 8080, weight: 0 },
    ]);
    const upstream = createUpstream({ name: "product-service", resolver, random: seededRandom(7) });
    expect(pickCounts(upstream, 1000)).toEqual({ "blue.internal:8080": 1000 });
    resolver.set([
      { host: "blue.internal", port: 8080, weight: 80 },
      { host: "green.internal", port: 8080, weight: 20 },
    ]);
    expect(pickCounts(upstream, 1000)).toEqual({ "blue.internal:8080": 800, "green.internal:8080": 200 });
    resolver.set([
      { host: "blue.internal", port: 8080, weight: 0 },
      { host: "green.internal", port: 8080, weight: 100 },
    ]);
    expect(pickCounts(upstream, 1000)).toEqual({ "green.internal:8080": 1000 });
    expect(upstream.snapshot().endpoints.map((e) => [e.endpoint.id, e.health])).toEqual([
      ["blue.internal:8080", "DRAINED"],
      ["green.internal:8080", "HEALTHY"],
    ]);
    await upstream.close();
  });

  it("keeps per-endpoint state across updates, keyed by id, and reports what changed", () => {
    const { resolver, upstream } = manual();
    const changes: EndpointsChange[] = [];
    upstream.on("endpoints", (c) => changes.push(c));
    resolver.push(["10.0.0.1:80", "10.0.0.2:80"]);
    const [a] = upstream.endpoints;
    upstream.report(a!, { status: 503, latencyMs: 12 });
    upstream.report(a!, { failure: "timeout" });
    resolver.push([{ host: "10.0.0.1", port: 80, weight: 5 }, "10.0.0.3:80"]);
    expect(upstream.stats("10.0.0.1:80")).toMatchObject({
      requests: 2,
      failures: 2,
      consecutiveFailures: 2,
      lastLatencyMs: 12,
    });
    upstream.report(upstream.endpoints[0]!, { status: 200 });
    expect(upstream.stats("10.0.0.1:80")).toMatchObject({ requests: 3, failures: 2, consecutiveFailures: 0 });
    expect(changes).toHaveLength(2);
    expect(changes[1]?.added.map((e) => e.id)).toEqual(["10.0.0.3:80"]);
    expect(changes[1]?.removed.map((e) => e.id)).toEqual(["10.0.0.2:80"]);
    expect(changes[1]?.updated.map((e) => [e.id, e.weight])).toEqual([["10.0.0.1:80", 5]]);
    expect(upstream.stats("10.0.0.2:80")).toBeUndefined();
  });

  it("ignores a re-announced set: no event, no rebuild", () => {
    const { resolver, upstream } = manual();
    resolver.push(["10.0.0.1:80", "10.0.0.2:80"]);
    const onPicker = vi.fn();
    const onEndpoints = vi.fn();
    upstream.on("picker", onPicker);
    upstream.on("endpoints", onEndpoints);
    const before = upstream.picker;
    expect(resolver.push(["10.0.0.2:80", "10.0.0.1:80"])).toBe(false);
    expect(onPicker).not.toHaveBeenCalled();
    expect(onEndpoints).not.toHaveBeenCalled();
    expect(upstream.picker).toBe(before);
  });

  it("survives a resolver error with its last good set and reports it", () => {
    const { resolver, upstream } = manual();
    resolver.push(["10.0.0.1:80"]);
    const errors: Error[] = [];
    upstream.on("resolverError", (e) => errors.push(e));
    const failure = new ResolverError("manual", "registry unreachable");
    resolver.error(failure);
    expect(errors).toEqual([failure]);
    expect(upstream.pick().id).toBe("10.0.0.1:80");
    expect(upstream.lastResolverError).toBe(failure);
    expect(upstream.snapshot().lastResolverError).toEqual({
      name: "ResolverError",
      code: "ERR_RESOLVER",
      message: "manual: registry unreachable",
    });
    // Plain data: JSON keeps what the error says.
    expect(JSON.parse(JSON.stringify(upstream.snapshot())).lastResolverError).toEqual({
      name: "ResolverError",
      code: "ERR_RESOLVER",
      message: "manual: registry unreachable",
    });
    resolver.push(["10.0.0.1:80", "10.0.0.9:80"]);
    expect(upstream.lastResolverError).toBeUndefined();
    expect(upstream.snapshot().lastResolverError).toBeUndefined();
  });

  it("clears the last resolver error on a successful resolution that changes nothing", () => {
    const { resolver, upstream } = manual();
    resolver.push(["10.0.0.1:80"]);
    const onEndpoints = vi.fn();
    upstream.on("endpoints", onEndpoints);
    const failure = new ResolverError("manual", "registry unreachable");
    resolver.error(failure);
    expect(upstream.lastResolverError).toBe(failure);
    expect(resolver.push(["10.0.0.1:80"])).toBe(false);
    expect(upstream.lastResolverError).toBeUndefined();
    expect(upstream.snapshot().lastResolverError).toBeUndefined();
    expect(onEndpoints).not.toHaveBeenCalled();
  });

  it("throws NoEndpointsError with the reason when nothing is eligible", () => {
    const { resolver, upstream } = manual();
    expect(() => upstream.pick()).toThrow(/no endpoints resolved yet/);
    resolver.push([]);
    expect(() => upstream.pick()).toThrow(/the endpoint set is empty/);
    resolver.push([{ host: "a", port: 1, weight: 0 }]);
    expect(() => upstream.pick()).toThrow(NoEndpointsError);
    expect(() => upstream.pick()).toThrow(/every endpoint has weight 0/);
    expect(upstream.tryPick()).toBeUndefined();
    expect(() => upstream.pick()).toThrow(expect.objectContaining({ code: "ERR_NO_ENDPOINTS", upstream: "api" }));
  });

  it("override() takes effect at once: a forced-down endpoint takes no traffic until the override is cleared", () => {
    const { resolver, upstream } = manual();
    resolver.push(["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"]);
    expect(upstream.override("10.0.0.2:80", "down")).toBe(true);
    expect(pickCounts(upstream, 300)).toEqual({ "10.0.0.1:80": 150, "10.0.0.3:80": 150 });
    expect(upstream.snapshot().weight).toEqual({ total: 300, available: 200, unavailable: 100 });
    expect(upstream.snapshot().endpoints[1]).toMatchObject({ health: "UNHEALTHY", override: "down", ejections: [] });
    expect(upstream.override("10.0.0.2:80", undefined)).toBe(true);
    expect(pickCounts(upstream, 300)).toEqual({ "10.0.0.1:80": 100, "10.0.0.2:80": 100, "10.0.0.3:80": 100 });
    expect(upstream.snapshot().endpoints[1]).toMatchObject({ health: "HEALTHY", override: undefined });
    expect(upstream.override("10.9.9.9:80", "down")).toBe(false);
  });

  it("panics rather than fail when every endpoint is unhealthy, unless the threshold is 0", () => {
    const resolver = new ManualResolver();
    const strict = createUpstream({ name: "strict", resolver, priority: { panicThreshold: 0 } });
    resolver.push(["10.0.0.1:80"]);
    strict.override("10.0.0.1:80", "down");
    expect(() => strict.pick()).toThrow(/every endpoint is unhealthy and the panic threshold is disabled/);
    const r2 = new ManualResolver();
    const up2 = createUpstream({ name: "lenient", resolver: r2 });
    r2.push(["10.0.0.1:80"]);
    up2.override("10.0.0.1:80", "down");
    expect(up2.pick().id).toBe("10.0.0.1:80");
    expect(up2.snapshot().levels).toEqual([{ priority: 0, total: 1, healthy: 0, load: 100, panic: true }]);
  });

  it("spills to the next priority and back as health changes", () => {
    const { resolver, upstream } = manual();
    resolver.push([
      { host: "p0a", port: 80, priority: 0 },
      { host: "p0b", port: 80, priority: 0 },
      { host: "p1a", port: 80, priority: 1 },
    ]);
    expect(pickCounts(upstream, 100)).toEqual({ "p0a:80": 50, "p0b:80": 50 });
    upstream.override("p0a:80", "down"); // P0 50% healthy → 70 / 30
    expect(upstream.snapshot().levels.map((l) => l.load)).toEqual([70, 30]);
    const c = pickCounts(upstream, 10_000);
    expect(Object.keys(c).sort()).toEqual(["p0b:80", "p1a:80"]);
    expect(Math.abs((c["p0b:80"] as number) - 7000)).toBeLessThanOrEqual(6); // PriorityPicker's bound
    upstream.override("p0a:80", undefined);
    expect(pickCounts(upstream, 100)).toEqual({ "p0a:80": 50, "p0b:80": 50 });
  });

  it("applies the filter before balancing: a service version by tag or metadata", () => {
    const resolver = new ManualResolver();
    const v2 = createUpstream({ name: "product-v2", resolver, filter: { metadata: { version: "2" } } });
    resolver.push([
      { host: "a", port: 80, metadata: { version: "1" } },
      { host: "b", port: 80, metadata: { version: "2" }, tags: ["canary"] },
      { host: "c", port: 80, metadata: { version: "2" } },
    ]);
    expect(v2.endpoints.map((e) => e.id)).toEqual(["b:80", "c:80"]);
    const canary = createUpstream({ name: "canary", resolver: new ManualResolver(), filter: (e) => e.host === "x" });
    expect(canary.endpoints).toEqual([]);
  });

  it("ready() resolves on the first good set", async () => {
    const { resolver, upstream } = manual();
    const ready = upstream.ready();
    resolver.push(["10.0.0.1:80"]);
    await expect(ready).resolves.toBeUndefined();
    await expect(upstream.ready()).resolves.toBeUndefined();
  });

  it("ready() rejects with the resolver's error when the first resolution fails", async () => {
    const { resolver, upstream } = manual();
    const ready = upstream.ready();
    const failure = new ResolverError("dns-srv:_api._tcp.test", "NXDOMAIN from 127.0.0.1:53", {
      code: "ERR_DNS_NOT_FOUND",
    });
    resolver.error(failure);
    await expect(ready).rejects.toBe(failure);
    await expect(upstream.ready()).rejects.toBe(failure);
    resolver.push(["10.0.0.1:80"]);
    await expect(upstream.ready()).resolves.toBeUndefined();
  });

  it("ready() times out on the injected clock with a typed error", async () => {
    const { clock, upstream } = manual();
    const ready = upstream.ready({ timeoutMs: 500 });
    clock.advance(499);
    expect(clock.pendingTimers).toBe(1); // not a millisecond early
    clock.advance(1);
    expect(clock.pendingTimers).toBe(0);
    await expect(ready).rejects.toBeInstanceOf(ReadyTimeoutError);
    const immediate = upstream.ready({ timeoutMs: 0 });
    clock.advance(0);
    await expect(immediate).rejects.toThrow('upstream "api": no endpoints resolved within 0 ms');
    expect(clock.pendingTimers).toBe(0);
  });

  it("ready() honours an AbortSignal and close()", async () => {
    const { upstream, clock } = manual();
    const controller = new AbortController();
    const aborted = upstream.ready({ signal: controller.signal });
    controller.abort(new Error("caller gave up"));
    await expect(aborted).rejects.toThrow("caller gave up");
    await expect(upstream.ready({ signal: AbortSignal.abort() })).rejects.toMatchObject({ name: "AbortError" });
    const pending = upstream.ready();
    await upstream.close();
    await expect(pending).rejects.toBeInstanceOf(ClosedError);
    expect(clock.pendingTimers).toBe(0);
  });

  it("close() closes the resolver, stops picking, and leaves no timer or handle behind", async () => {
    const resourcesBefore = process.getActiveResourcesInfo();
    // The system clock, wrapped to count the timers still scheduled (real
    // timers are unref'd, so getActiveResourcesInfo() alone would not see them).
    let live = 0;
    const clock: Clock = {
      now: () => systemClock.now(),
      setTimer(callback, ms) {
        live++;
        let done = false;
        const settle = () => {
          if (!done) live--;
          done = true;
        };
        const timer = systemClock.setTimer(() => {
          settle();
          callback();
        }, ms);
        return {
          cancel: () => {
            settle();
            timer.cancel();
          },
        };
      },
    };
    const resolver = new ManualResolver();
    const upstream = createUpstream({ name: "w", resolver, clock });
    const never = upstream.ready({ timeoutMs: 60_000 });
    const alsoNever = upstream.ready({ timeoutMs: 60_000 });
    expect(live).toBe(2);
    const onClose = vi.fn();
    upstream.on("close", onClose);
    await upstream.close();
    await upstream.close();
    await expect(never).rejects.toBeInstanceOf(ClosedError);
    await expect(alsoNever).rejects.toBeInstanceOf(ClosedError);
    expect(live).toBe(0);
    expect(onClose).toHaveBeenCalledTimes(1);
    expect(resolver.closed).toBe(true);
    expect(resolver.listenerCount("endpoints")).toBe(0);
    expect(() => upstream.pick()).toThrow(ClosedError);
    await expect(upstream.ready()).rejects.toBeInstanceOf(ClosedError);
    expect(process.getActiveResourcesInfo()).toEqual(resourcesBefore);
  });

  it("works with await using", async () => {
    const resolver = staticResolver(["10.0.0.1:80"]);
    {
      await using upstream = createUpstream({ name: "api", resolver });
      expect(upstream.pick().port).toBe(80);
    }
    expect(resolver.closed).toBe(true);
  });

  it("rejects bad options with typed errors", () => {
    const resolver = new ManualResolver();
    expect(() => createUpstream({ name: "", resolver })).toThrow(InvalidConfigError);
    expect(() => createUpstream({ name: "x" } as never)).toThrow(/resolver/);
    expect(() => createUpstream({ name: "x", resolver, readyTimeoutMs: -1 })).toThrow(/readyTimeoutMs/);
    expect(() => createUpstream({ name: "x", resolver, priority: { overprovisioningFactor: 0 } })).toThrow(
      /overprovisioningFactor/,
    );
  });

  it("takes a custom balancer and names it in the snapshot", () => {
    const resolver = new StaticResolver(["a:1", "b:1"]);
    const upstream = createUpstream({ name: "rr", resolver, balancer: roundRobin(), random: seededRandom(1) });
    expect(upstream.snapshot()).toMatchObject({
      name: "rr",
      balancer: "round-robin",
      resolver: "static",
      resolved: true,
    });
  });
});
