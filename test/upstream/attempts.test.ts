import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Balancer, Clock, Endpoint, Outcome, UpstreamPlugin } from "../../src/index.js";
import { createUpstream, NoEndpointsError, roundRobin } from "../../src/index.js";
import { ManualClock, ManualResolver, seededRandom } from "../../src/testing/index.js";

function manual(options: { attemptTimeoutMs?: number; plugins?: UpstreamPlugin[] } = {}) {
  const resolver = new ManualResolver();
  const clock = new ManualClock();
  const upstream = createUpstream({ name: "api", resolver, clock, random: seededRandom(1), ...options });
  return { resolver, clock, upstream };
}

/** A plug-in that records every outcome it sees, as `id outcome` lines. */
function recorder() {
  const seen: string[] = [];
  const plugin: UpstreamPlugin = {
    name: "recorder",
    attach() {},
    onOutcome: (host, outcome) => seen.push(`${host.endpoint.id} ${JSON.stringify(outcome)}`),
  };
  return { seen, plugin };
}

describe("attempts: begin → endpointOf → end", () => {
  it("counts the attempt in flight, times it on the clock, and ends it exactly once", () => {
    const { resolver, clock, upstream } = manual();
    resolver.push(["10.0.0.1:80"]);
    const token = upstream.begin();
    expect(Number.isInteger(token) && token > 0 && token < 2 ** 30).toBe(true);
    expect(upstream.endpointOf(token)?.id).toBe("10.0.0.1:80");
    const before = upstream.stats("10.0.0.1:80");
    expect(before).toMatchObject({ inFlight: 1, requests: 0 });
    expect(upstream.snapshot().attempts).toEqual({ inFlight: 1, abandoned: 0 });
    clock.advance(30);
    expect(upstream.end(token, { status: 200 })).toBe(true);
    expect(upstream.stats("10.0.0.1:80")).toEqual({
      requests: 1,
      failures: 0,
      consecutiveFailures: 0,
      lastLatencyMs: 30,
      inFlight: 0,
      abandoned: 0,
    });
    expect(before).toMatchObject({ inFlight: 1, requests: 0 }); // stats() gave a copy, not the live state
    expect(upstream.end(token, { status: 500 })).toBe(false);
    expect(upstream.endpointOf(token)).toBeUndefined();
    expect(upstream.stats("10.0.0.1:80")).toMatchObject({ requests: 1, failures: 0, inFlight: 0 });
  });

  it("takes the outcome's latency when given, and counts failures by kind", () => {
    const { resolver, upstream } = manual();
    resolver.push(["10.0.0.1:80"]);
    const outcomes: Outcome[] = [
      { status: 503, latencyMs: 12 },
      { failure: "reset" },
      { failure: "cancelled" }, // not the endpoint's fault: neither failure nor success
      { failure: "timeout", latencyMs: 1000 },
    ];
    for (const o of outcomes) upstream.end(upstream.begin(), o);
    expect(upstream.stats("10.0.0.1:80")).toEqual({
      requests: 4,
      failures: 3,
      consecutiveFailures: 3,
      lastLatencyMs: 1000,
      inFlight: 0,
      abandoned: 0,
    });
    upstream.end(upstream.begin(), { status: 200, latencyMs: 4 });
    expect(upstream.stats("10.0.0.1:80")).toMatchObject({ requests: 5, failures: 3, consecutiveFailures: 0 });
  });

  it("ignores tokens that were never issued or are not integers", () => {
    const { resolver, upstream } = manual();
    resolver.push(["10.0.0.1:80"]);
    const token = upstream.begin();
    for (const bad of [-1, 0, 1.5, Number.NaN, 2 ** 31, token + 1, token ^ (1 << 20)]) {
      expect(upstream.end(bad, { status: 200 })).toBe(false);
      expect(upstream.endpointOf(bad)).toBeUndefined();
    }
    expect(upstream.stats("10.0.0.1:80")).toMatchObject({ inFlight: 1, requests: 0 });
  });

  it("drops the outcome of an attempt whose endpoint left, even when the id comes back in the same slot", () => {
    const { resolver, upstream } = manual();
    const { seen, plugin } = recorder();
    const withPlugin = createUpstream({ name: "p", resolver, clock: new ManualClock(), plugins: [plugin] });
    resolver.push(["10.0.0.1:80", "10.0.0.2:80"]);
    const token = withPlugin.begin({ avoid: resolver.endpoints?.[1] as Endpoint });
    expect(withPlugin.endpointOf(token)?.id).toBe("10.0.0.1:80");
    resolver.push(["10.0.0.2:80"]);
    expect(withPlugin.endpointOf(token)).toBeUndefined();
    resolver.push(["10.0.0.1:80", "10.0.0.2:80"]);
    expect(withPlugin.endpointOf(token)).toBeUndefined();
    expect(withPlugin.end(token, { status: 500 })).toBe(true); // the attempt is closed...
    expect(withPlugin.stats("10.0.0.1:80")).toMatchObject({ requests: 0, failures: 0, inFlight: 0 }); // ...the newcomer untouched
    expect(seen).toEqual([]);
    expect(withPlugin.end(token, { status: 500 })).toBe(false);
    void upstream.close();
    void withPlugin.close();
  });

  it("report() after pick() feeds the same counters and plug-ins, without an in-flight count", () => {
    const { seen, plugin } = recorder();
    const { resolver, upstream } = manual({ plugins: [plugin] });
    resolver.push(["10.0.0.1:80"]);
    const e = upstream.pick();
    expect(upstream.report(e, { status: 502, latencyMs: 7 })).toBe(true);
    expect(upstream.stats(e.id)).toMatchObject({ requests: 1, failures: 1, lastLatencyMs: 7, inFlight: 0 });
    expect(seen).toEqual(['10.0.0.1:80 {"status":502,"latencyMs":7}']);
    resolver.push(["10.0.0.2:80"]);
    expect(upstream.report(e, { status: 200 })).toBe(false);
  });
});

describe("attempts: load metric updates", () => {
  it("the balancer's metric sees every timed outcome, and no report without a latency", () => {
    const updates: string[] = [];
    const base = roundRobin();
    const balancer = {
      name: "rr-with-metric",
      build: base.build,
      metric: {
        name: "probe",
        load: () => 0,
        update: (table: { lastLatencyMs: Float64Array }, slot: number) =>
          updates.push(`${slot} ${table.lastLatencyMs[slot]}`),
      },
    };
    const resolver = new ManualResolver();
    const clock = new ManualClock();
    const upstream = createUpstream({ name: "m", resolver, clock, balancer });
    resolver.push(["10.0.0.1:80"]);
    const t = upstream.begin();
    clock.advance(8);
    upstream.end(t, { status: 200 });
    upstream.report(upstream.pick(), { status: 200 }); // no latency: nothing to feed the metric
    upstream.report(upstream.pick(), { status: 200, latencyMs: 3 });
    expect(updates).toEqual(["0 8", "0 3"]);
    expect(upstream.stats("10.0.0.1:80")).toMatchObject({ requests: 3, lastLatencyMs: 3 });
  });
});

describe("attempts: admission, avoid, reasons", () => {
  it("a plug-in that refuses an endpoint sends the attempt elsewhere; refusing all is 'overloaded'", () => {
    let refuse = new Set(["10.0.0.1:80"]);
    const limit: UpstreamPlugin = { name: "limit", attach() {}, admit: (host) => !refuse.has(host.endpoint.id) };
    const { resolver, upstream } = manual({ plugins: [limit] });
    resolver.push(["10.0.0.1:80", "10.0.0.2:80"]);
    const ids = Array.from({ length: 6 }, () => upstream.endpointOf(upstream.begin())?.id);
    expect(ids).toEqual(new Array(6).fill("10.0.0.2:80"));
    refuse = new Set(["10.0.0.1:80", "10.0.0.2:80"]);
    expect(() => upstream.begin()).toThrow(NoEndpointsError);
    expect(() => upstream.begin()).toThrow(expect.objectContaining({ reason: "overloaded" }));
    expect(upstream.snapshot().attempts.inFlight).toBe(6);
    expect(upstream.pick().id).toMatch(/^10\.0\.0\.[12]:80$/); // pick() does not ask for admission
  });

  it("after a refusal the next endpoint tried still honours avoid", () => {
    const limit: UpstreamPlugin = { name: "limit", attach() {}, admit: (host) => host.endpoint.id !== "10.0.0.4:80" };
    const { resolver, upstream } = manual({ plugins: [limit] });
    resolver.push(["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:80"]);
    const avoid = upstream.endpoints[0] as Endpoint;
    // Round robin: whenever 10.0.0.4 is refused, the next in turn is the avoided 10.0.0.1.
    const ids = Array.from({ length: 12 }, () => upstream.endpointOf(upstream.begin({ avoid }))?.id);
    expect(new Set(ids)).toEqual(new Set(["10.0.0.2:80", "10.0.0.3:80"]));
  });

  it("avoid: another endpoint when there is one, the same one when it is alone", () => {
    const { resolver, upstream } = manual();
    resolver.push(["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"]);
    const [a] = upstream.endpoints as [Endpoint];
    for (let i = 0; i < 30; i++) expect(upstream.pick({ avoid: a }).id).not.toBe(a.id);
    resolver.push(["10.0.0.1:80"]);
    expect(upstream.pick({ avoid: a }).id).toBe(a.id);
    expect(upstream.endpointOf(upstream.begin({ avoid: a }))?.id).toBe(a.id);
  });

  it("NoEndpointsError carries a machine-readable reason", async () => {
    const resolver = new ManualResolver();
    const upstream = createUpstream({ name: "api", resolver, priority: { panicThreshold: 0 } });
    const reason = (call: () => unknown) => {
      try {
        call();
        return "picked";
      } catch (e) {
        return (e as NoEndpointsError).reason;
      }
    };
    expect(reason(() => upstream.begin())).toBe("unresolved");
    resolver.push([]);
    expect(reason(() => upstream.pick())).toBe("empty");
    resolver.push([{ host: "a", port: 1, weight: 0 }]);
    expect(reason(() => upstream.begin())).toBe("drained");
    resolver.push(["a:1"]);
    upstream.override("a:1", "down");
    expect(reason(() => upstream.begin())).toBe("unhealthy");
    expect(() => upstream.pick()).toThrow(/every endpoint is unhealthy and the panic threshold is disabled/);
    await upstream.close();
    expect(() => upstream.begin()).toThrow(expect.objectContaining({ code: "ERR_CLOSED" }));
  });
});

describe("attempts: abandoned", () => {
  it("reclaims an attempt never ended after attemptTimeoutMs: in flight released, no health effect, event and counts", () => {
    const { seen, plugin } = recorder();
    const { resolver, clock, upstream } = manual({ attemptTimeoutMs: 1000, plugins: [plugin] });
    resolver.push(["10.0.0.1:80"]);
    const events: [string, number][] = [];
    upstream.on("abandoned", (e, age) => events.push([e.id, age]));
    const first = upstream.begin();
    clock.advance(500);
    const second = upstream.begin();
    clock.advance(499);
    expect(events).toEqual([]);
    clock.advance(1);
    expect(events).toEqual([["10.0.0.1:80", 1000]]);
    expect(upstream.stats("10.0.0.1:80")).toMatchObject({ inFlight: 1, abandoned: 1, requests: 0, failures: 0 });
    expect(upstream.end(first, { status: 200 })).toBe(false);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(499);
    expect(events).toHaveLength(1);
    clock.advance(1);
    expect(events).toEqual([
      ["10.0.0.1:80", 1000],
      ["10.0.0.1:80", 1000],
    ]);
    expect(upstream.end(second, { status: 200 })).toBe(false);
    expect(upstream.snapshot().attempts).toEqual({ inFlight: 0, abandoned: 2 });
    expect(upstream.stats("10.0.0.1:80")).toMatchObject({ consecutiveFailures: 0, failures: 0, abandoned: 2 });
    expect(seen).toEqual(['10.0.0.1:80 {"failure":"abandoned"}', '10.0.0.1:80 {"failure":"abandoned"}']);
    expect(clock.pendingTimers).toBe(0); // nothing in flight: no timer left
  });

  it("holds one timer however many attempts are in flight, none with Infinity, and none after close()", async () => {
    const { resolver, clock, upstream } = manual();
    resolver.push(["10.0.0.1:80", "10.0.0.2:80"]);
    for (let i = 0; i < 100; i++) upstream.begin();
    expect(clock.pendingTimers).toBe(1);
    await upstream.close();
    expect(clock.pendingTimers).toBe(0);
    const off = manual({ attemptTimeoutMs: Number.POSITIVE_INFINITY });
    off.resolver.push(["10.0.0.1:80"]);
    off.upstream.begin();
    expect(off.clock.pendingTimers).toBe(0);
    expect(() => manual({ attemptTimeoutMs: 0 })).toThrow(/attemptTimeoutMs/);
  });
});

describe("attempts: time read once per event-loop turn on a turnTime clock", () => {
  it("reads now() once for a burst of begins and ends in one turn, again in the next turn", async () => {
    let reads = 0;
    let time = 1000;
    const clock: Clock = {
      turnTime: true,
      now: () => {
        reads++;
        return time;
      },
      setTimer: () => ({ cancel() {} }),
    };
    const resolver = new ManualResolver();
    const upstream = createUpstream({ name: "t", resolver, clock, balancer: roundRobin() });
    resolver.push(["10.0.0.1:80"]);
    reads = 0;
    const tokens = Array.from({ length: 100 }, () => upstream.begin());
    expect(reads).toBe(1);
    await Promise.resolve();
    time = 1042;
    for (const t of tokens) upstream.end(t, { status: 200 });
    expect(reads).toBe(2);
    expect(upstream.stats("10.0.0.1:80")).toMatchObject({ lastLatencyMs: 42, requests: 100, inFlight: 0 });
  });

  it("begin() reads the time before its pick: the picker sees it in table.attemptTime (Peak EWMA's now)", () => {
    const seen: number[] = [];
    const watching: Balancer = {
      name: "watching",
      build: (hosts, context) => ({
        hosts,
        pick: () => {
          seen.push(context.table.attemptTime[0] as number);
          return hosts[0];
        },
      }),
    };
    const clock = new ManualClock(500);
    const resolver = new ManualResolver();
    const upstream = createUpstream({ name: "t", resolver, clock, balancer: watching });
    resolver.push(["10.0.0.1:80"]);
    const a = upstream.begin();
    clock.advance(250);
    upstream.begin();
    clock.advance(10);
    upstream.end(a, { status: 200 }); // timed by the clock: reads it too
    upstream.pick(); // a pick alone reads no clock: the last attempt time stands
    expect(seen).toEqual([500, 750, 760]);
  });
});

describe("attempts: properties", () => {
  it("a stale or repeated token never changes counters; in flight never goes negative and equals open attempts", () => {
    const ids = ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"];
    const op = fc.oneof(
      fc.record({ kind: fc.constant("begin" as const) }),
      fc.record({ kind: fc.constant("end" as const), which: fc.nat(), status: fc.constantFrom(200, 503) }),
      fc.record({ kind: fc.constant("set" as const), keep: fc.subarray(ids) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const { resolver, upstream } = manual();
        resolver.push(ids);
        const issued: number[] = [];
        const open = new Map<number, string>();
        for (const o of ops) {
          if (o.kind === "begin") {
            let t: number;
            try {
              t = upstream.begin();
            } catch {
              continue; // empty set
            }
            issued.push(t);
            open.set(t, upstream.endpointOf(t)?.id as string);
          } else if (o.kind === "set") {
            resolver.push(o.keep);
            for (const [t, id] of open) if (!o.keep.includes(id)) open.delete(t); // their endpoint left
          } else if (issued.length > 0) {
            const t = issued[o.which % issued.length] as number;
            const before = ids.map((id) => JSON.stringify(upstream.stats(id)));
            const live = open.get(t);
            upstream.end(t, { status: o.status });
            const after = ids.map((id) => JSON.stringify(upstream.stats(id)));
            if (live === undefined && JSON.stringify(before) !== JSON.stringify(after)) return false;
            open.delete(t);
          }
          for (const id of ids) {
            const s = upstream.stats(id);
            if (s === undefined) continue;
            const expected = [...open.values()].filter((x) => x === id).length;
            if (s.inFlight !== expected || s.inFlight < 0) return false;
          }
        }
        return true;
      }),
      { numRuns: 200, seed: 6 },
    );
  });
});
