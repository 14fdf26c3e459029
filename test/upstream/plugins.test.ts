import { describe, expect, it } from "vitest";
import type { Balancer, Host, PluginContext, UpstreamPlugin } from "../../src/index.js";
import { createUpstream, InvalidConfigError, roundRobin } from "../../src/index.js";
import { ManualClock, ManualResolver, seededRandom } from "../../src/testing/index.js";
import { pickCounts } from "../helpers/picks.js";

/** A plug-in the test drives by hand: it records every hook and exposes its context. */
function probe(name = "probe") {
  const log: string[] = [];
  let ctx: PluginContext | undefined;
  let closed = 0;
  const plugin: UpstreamPlugin = {
    name,
    attach: (context) => {
      ctx = context;
      log.push(`attach ${context.upstream}`);
    },
    onJoin: (h) => log.push(`join ${h.endpoint.id}`),
    onLeave: (h) => log.push(`leave ${h.endpoint.id}`),
    onOutcome: (h, o) => log.push(`outcome ${h.endpoint.id} ${o.status ?? o.failure}`),
    describe: () => ({ checks: log.length }),
    describeEndpoint: (h) => (ctx?.ejected(h) ? { ejectedBy: name } : undefined),
    close: () => {
      closed++;
    },
  };
  const host = (id: string): Host => {
    const h = ctx?.hosts().find((x) => x.endpoint.id === id);
    if (h === undefined) throw new Error(`no host ${id}`);
    return h;
  };
  return { plugin, log, host, ctx: () => ctx as PluginContext, closed: () => closed };
}

function setup(plugins: UpstreamPlugin[]) {
  const resolver = new ManualResolver();
  const clock = new ManualClock();
  const upstream = createUpstream({
    name: "api",
    resolver,
    clock,
    random: seededRandom(2),
    balancer: roundRobin(),
    plugins,
  });
  return { resolver, clock, upstream };
}

describe("health plug-ins", () => {
  it("see endpoints join and leave, every ended attempt once, and close with the upstream", async () => {
    const p = probe();
    const { resolver, upstream } = setup([p.plugin]);
    resolver.push(["a:1", "b:1"]);
    const t = upstream.begin();
    upstream.end(t, { status: 503 });
    upstream.end(t, { status: 200 });
    resolver.push(["b:1", "c:1"]);
    upstream.report(upstream.pick(), { failure: "connect" });
    expect(p.log.slice(0, 5)).toEqual([
      "attach api",
      "join a:1",
      "join b:1",
      expect.stringMatching(/^outcome [ab]:1 503$/),
      "leave a:1",
    ]);
    expect(p.log.slice(5)).toEqual(["join c:1", expect.stringMatching(/^outcome [bc]:1 connect$/)]);
    await upstream.close();
    await upstream.close();
    expect(p.closed()).toBe(1);
  });

  it("an ejection takes effect at once without a rebuild, and so does its end", () => {
    const p = probe("outlier");
    const { resolver, upstream } = setup([p.plugin]);
    resolver.push(["a:1", "b:1", "c:1", "d:1"]);
    let swaps = 0;
    upstream.on("picker", () => swaps++);
    const before = upstream.picker;
    expect(p.ctx().eject(p.host("b:1"), true)).toBe(true);
    expect(p.ctx().eject(p.host("b:1"), true)).toBe(false); // already set
    expect(pickCounts(upstream, 300)).toEqual({ "a:1": 100, "c:1": 100, "d:1": 100 });
    expect(upstream.snapshot().endpoints[1]).toMatchObject({
      health: "UNHEALTHY",
      ejections: ["outlier"],
      plugins: { outlier: { ejectedBy: "outlier" } },
    });
    expect(p.ctx().eject(p.host("b:1"), false)).toBe(true);
    expect(pickCounts(upstream, 400)).toEqual({ "a:1": 100, "b:1": 100, "c:1": 100, "d:1": 100 });
    expect(upstream.picker).toBe(before);
    expect(swaps).toBe(0);
  });

  it("reasons of several plug-ins add up; override 'up' keeps an ejected endpoint in, 'down' takes a healthy one out", () => {
    const outlier = probe("outlier");
    const active = probe("active");
    const { resolver, upstream } = setup([outlier.plugin, active.plugin]);
    resolver.push(["a:1", "b:1"]);
    outlier.ctx().eject(outlier.host("a:1"), true);
    active.ctx().eject(active.host("a:1"), true);
    expect(upstream.snapshot().endpoints[0]?.ejections).toEqual(["outlier", "active"]);
    outlier.ctx().eject(outlier.host("a:1"), false);
    expect(pickCounts(upstream, 10)).toEqual({ "b:1": 10 }); // still ejected by "active"
    upstream.override("a:1", "up");
    expect(pickCounts(upstream, 10)).toEqual({ "a:1": 5, "b:1": 5 });
    expect(upstream.snapshot().endpoints[0]).toMatchObject({
      health: "HEALTHY",
      override: "up",
      ejections: ["active"],
    });
    upstream.override("b:1", "down");
    expect(pickCounts(upstream, 10)).toEqual({ "a:1": 10 });
    upstream.override("a:1", undefined);
    // a:1 ejected, b:1 forced down: nothing eligible, panic (default 50%) uses both.
    expect(upstream.snapshot().levels).toEqual([{ priority: 0, total: 2, healthy: 0, load: 100, panic: true }]);
    expect(pickCounts(upstream, 10)).toEqual({ "a:1": 5, "b:1": 5 });
  });

  it("eject() is ignored for a host that left the set, even when its slot is reused", () => {
    const p = probe();
    const { resolver, upstream } = setup([p.plugin]);
    resolver.push(["a:1", "b:1"]);
    const a = p.host("a:1");
    resolver.push(["b:1"]);
    resolver.push(["b:1", "c:1"]);
    expect(p.host("c:1").slot).toBe(a.slot);
    expect(p.ctx().eject(a, true)).toBe(false);
    expect(p.ctx().ejected(a)).toBe(false);
    expect(upstream.snapshot().endpoints.map((e) => e.health)).toEqual(["HEALTHY", "HEALTHY"]);
  });

  it("snapshot() lists each plug-in's section and each endpoint's reasons: a full example", () => {
    const p = probe("outlier");
    const { resolver, upstream } = setup([p.plugin]);
    resolver.push([{ host: "a", port: 1, weight: 50 }, "b:1", { host: "c", port: 1, weight: 0 }]);
    p.ctx().eject(p.host("b:1"), true);
    upstream.end(upstream.begin(), { status: 200, latencyMs: 5 });
    const open = upstream.begin();
    expect(upstream.endpointOf(open)?.id).toBe("a:1");
    const stats = {
      requests: 0,
      failures: 0,
      consecutiveFailures: 0,
      lastLatencyMs: undefined,
      inFlight: 0,
      abandoned: 0,
    };
    expect(upstream.snapshot()).toEqual({
      name: "api",
      balancer: "round-robin",
      resolver: "manual",
      resolved: true,
      lastResolverError: undefined,
      endpoints: [
        {
          endpoint: upstream.endpoints[0],
          health: "HEALTHY",
          ejections: [],
          override: undefined,
          ...stats,
          requests: 1,
          lastLatencyMs: 5,
          inFlight: 1,
          plugins: {},
        },
        {
          endpoint: upstream.endpoints[1],
          health: "UNHEALTHY",
          ejections: ["outlier"],
          override: undefined,
          ...stats,
          plugins: { outlier: { ejectedBy: "outlier" } },
        },
        {
          endpoint: upstream.endpoints[2],
          health: "DRAINED",
          ejections: [],
          override: undefined,
          ...stats,
          plugins: {},
        },
      ],
      levels: [{ priority: 0, total: 2, healthy: 1, load: 100, panic: false }],
      weight: { total: 150, available: 50, unavailable: 100 },
      attempts: { inFlight: 1, abandoned: 0 },
      plugins: { outlier: { checks: 5 } },
    });
  });

  it("begin() steers away from an endpoint a plug-in refused, even when the picker keeps choosing it", () => {
    // A picker that offers a:1 five times, then b:1: four plain re-picks would all be a:1.
    const scripted: Balancer = {
      name: "scripted",
      build(hosts) {
        let n = 0;
        return { hosts, pick: () => hosts[n++ < 5 ? 0 : 1] };
      },
    };
    const refuseA: UpstreamPlugin = { name: "refuse-a", attach() {}, admit: (h) => h.endpoint.id !== "a:1" };
    const resolver = new ManualResolver();
    const upstream = createUpstream({ name: "api", resolver, balancer: scripted, plugins: [refuseA] });
    resolver.push(["a:1", "b:1"]);
    expect(upstream.endpointOf(upstream.begin())?.id).toBe("b:1");
  });

  it("rejects plug-ins without a name or attach(), duplicate names, and more than 32", () => {
    const resolver = new ManualResolver();
    const make = (plugins: unknown[]) => () =>
      createUpstream({ name: "x", resolver, plugins: plugins as UpstreamPlugin[] });
    expect(make([{ attach() {} }])).toThrow(InvalidConfigError);
    expect(make([{ name: "a" }])).toThrow(/attach/);
    expect(make([probe("a").plugin, probe("a").plugin])).toThrow(/two plug-ins are named "a"/);
    expect(make(Array.from({ length: 33 }, (_, i) => probe(`p${i}`).plugin))).toThrow(/at most 32/);
  });
});
