import { describe, expect, it } from "vitest";
import type { BreakerStateChange, CircuitBreakersOptions, Outcome, Upstream } from "../../src/index.js";
import {
  CircuitOpenError,
  circuitBreakers,
  consecutiveFailures,
  createUpstream,
  InvalidConfigError,
  openBackoff,
  roundRobin,
  slowCallRate,
} from "../../src/index.js";
import { ManualClock, ManualResolver, seededRandom } from "../../src/testing/index.js";
import { expectConfigErrors } from "../helpers/config-errors.js";
import { thrown } from "../helpers/errors.js";

/** An upstream over `endpoints` with a breakers plug-in (3 failures in a row, open 1 s); no attempt reaper unless asked, so the clock shows the plug-in's timers alone. */
function setup(
  options: CircuitBreakersOptions = {},
  endpoints = ["a:1", "b:1", "c:1"],
  attemptTimeoutMs = Number.POSITIVE_INFINITY,
) {
  const resolver = new ManualResolver();
  const clock = new ManualClock();
  const changes: string[] = [];
  const breakers = circuitBreakers({
    strategy: () => consecutiveFailures(3),
    openMs: 1000,
    onStateChange: (endpoint, c: BreakerStateChange) => changes.push(`${endpoint.id} ${c.from}>${c.to}@${c.at}`),
    ...options,
  });
  const upstream = createUpstream({
    name: "api",
    resolver,
    clock,
    random: seededRandom(3),
    balancer: roundRobin(),
    plugins: [breakers],
    attemptTimeoutMs,
  });
  resolver.push(endpoints);
  return { resolver, clock, upstream, breakers, changes };
}

/** One attempt through begin()/end(): `outcome(id)` says how it ends. Returns the endpoint id. */
function attempt(upstream: Upstream, outcome: (id: string) => Outcome): string {
  const token = upstream.begin();
  const id = upstream.endpointOf(token)?.id as string;
  upstream.end(token, outcome(id));
  return id;
}

/** `n` attempts; `b:1` answers `bStatus`, the others 200. Returns the attempts per endpoint. */
function run(upstream: Upstream, n: number, bStatus = 503): Record<string, number> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const id = attempt(upstream, (e) => ({ status: e === "b:1" ? bStatus : 200 }));
    counts[id] = (counts[id] ?? 0) + 1;
  }
  return counts;
}

function endpointView(upstream: Upstream, id: string) {
  return upstream.snapshot().endpoints.find((e) => e.endpoint.id === id);
}

describe("circuitBreakers() through an upstream", () => {
  it("failures open b's breaker and eject it; traffic goes elsewhere; after the open period one probe at a time reaches it; successes close it", () => {
    const { clock, upstream, breakers, changes } = setup({ successesToClose: 2 });
    expect(run(upstream, 9)).toEqual({ "a:1": 3, "b:1": 3, "c:1": 3 }); // b's third failure opens it
    expect(changes).toEqual(["b:1 closed>open@0"]);
    const b = endpointView(upstream, "b:1");
    expect(b).toMatchObject({ health: "UNHEALTHY", ejections: ["circuit-breaker"] });
    expect(b?.plugins["circuit-breaker"]).toEqual({
      state: "open",
      trips: 1,
      openForMs: 1000,
      openUntil: 1000,
      halfOpenSuccesses: 0,
      strategy: { name: "consecutive-failures", state: { failures: 3 } },
    });
    expect(endpointView(upstream, "a:1")?.plugins["circuit-breaker"]).toMatchObject({ state: "closed", trips: 0 });
    expect(upstream.snapshot().plugins["circuit-breaker"]).toEqual({ closed: 2, open: 1, halfOpen: 0, trips: 1 });
    expect(breakers.state("b:1")).toBe("open");

    clock.advance(999);
    expect(run(upstream, 10)).toEqual({ "a:1": 5, "c:1": 5 });
    clock.advance(1); // the plug-in's one timer: b goes half-open, its ejection is cleared
    expect(changes).toEqual(["b:1 closed>open@0", "b:1 open>half-open@1000"]);
    expect(endpointView(upstream, "b:1")).toMatchObject({ health: "HEALTHY", ejections: [] });

    // Attempts held open: b is admitted once (the probe), then refused while it is in flight.
    const held = Array.from({ length: 9 }, () => upstream.begin());
    const ids = held.map((t) => upstream.endpointOf(t)?.id);
    expect(ids.filter((id) => id === "b:1")).toHaveLength(1);
    for (const t of held) upstream.end(t, { status: 200 });
    expect(breakers.state("b:1")).toBe("half-open"); // 1 success of 2
    expect(endpointView(upstream, "b:1")?.plugins["circuit-breaker"]).toMatchObject({ halfOpenSuccesses: 1 });
    expect(run(upstream, 3, 200)["b:1"]).toBe(1);
    expect(breakers.state("b:1")).toBe("closed");
    expect(changes.at(-1)).toBe("b:1 half-open>closed@1000");
    expect(run(upstream, 30, 200)).toEqual({ "a:1": 10, "b:1": 10, "c:1": 10 });
  });

  it("a failed probe reopens with the next, longer open period; the plug-in holds one timer at most", () => {
    const { clock, upstream, changes } = setup({
      openMs: openBackoff({ initialMs: 1000, multiplier: 2, maxMs: 3000 }),
    });
    run(upstream, 9);
    expect(clock.pendingTimers).toBe(1);
    for (const wait of [1000, 2000, 3000, 3000]) {
      clock.advance(wait);
      expect(run(upstream, 3)["b:1"]).toBe(1); // the probe fails
    }
    expect(changes.filter((c) => c.includes(">open"))).toEqual([
      "b:1 closed>open@0",
      "b:1 half-open>open@1000",
      "b:1 half-open>open@3000",
      "b:1 half-open>open@6000",
      "b:1 half-open>open@9000",
    ]);
    expect(endpointView(upstream, "b:1")?.plugins["circuit-breaker"]).toMatchObject({ trips: 5, openUntil: 12_000 });
    clock.advance(3000);
    run(upstream, 3, 200);
    expect(changes.at(-1)).toBe("b:1 half-open>closed@12000");
    run(upstream, 9);
    expect(endpointView(upstream, "b:1")?.plugins["circuit-breaker"]).toMatchObject({ trips: 1, openUntil: 13_000 });
    clock.advance(1000);
    expect(clock.pendingTimers).toBe(0);
  });

  it("one shared timer wakes breakers in the order their open periods end", () => {
    const { clock, upstream, changes, breakers } = setup({ strategy: () => consecutiveFailures(1) }, ["a:1", "b:1"]);
    upstream.report(upstream.endpoints[0]!, { failure: "connect" });
    clock.advance(400);
    upstream.report(upstream.endpoints[1]!, { failure: "reset" });
    expect(clock.pendingTimers).toBe(1);
    clock.advance(600);
    expect(breakers.state("a:1")).toBe("half-open");
    expect(breakers.state("b:1")).toBe("open");
    expect(clock.pendingTimers).toBe(1);
    clock.advance(400);
    expect(changes).toEqual([
      "a:1 closed>open@0",
      "b:1 closed>open@400",
      "a:1 open>half-open@1000",
      "b:1 open>half-open@1400",
    ]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("begin() throws CircuitOpenError with the time left when every endpoint's breaker refuses", () => {
    const { upstream, clock } = setup({ strategy: () => consecutiveFailures(1) }, ["a:1", "b:1"]);
    run(upstream, 2);
    clock.advance(250);
    attempt(upstream, () => ({ failure: "timeout" })); // a:1 opens too, 250 ms after b:1
    expect(upstream.snapshot().endpoints.map((e) => e.ejections)).toEqual([["circuit-breaker"], ["circuit-breaker"]]);
    // Both ejected: panic picks them anyway, and both refuse admission.
    const e = thrown(() => upstream.begin());
    expect(e).toBeInstanceOf(CircuitOpenError);
    expect((e as CircuitOpenError).state).toBe("open");
    // The last endpoint tried was a:1, just opened: 1000 ms left (b:1 has 750 left and goes half-open first).
    expect((e as CircuitOpenError).retryAfterMs).toBe(1000);
    clock.advance(750);
    expect(typeof upstream.begin()).toBe("number");
    clock.advance(250);
    expect(typeof upstream.begin()).toBe("number");
  });

  it("in half-open, an attempt begun before the breaker opened holds the probe place until it ends", () => {
    const { clock, upstream, breakers } = setup({ strategy: () => consecutiveFailures(1) }, ["a:1", "b:1"]);
    const early = upstream.begin(); // a:1 (round robin from a seeded start)
    const earlyId = upstream.endpointOf(early)?.id as string;
    const other = earlyId === "a:1" ? "b:1" : "a:1";
    attempt(upstream, () => ({ status: 200 })); // the other one
    // The early attempt's endpoint fails through a report, and opens.
    upstream.report(upstream.endpoints.find((e) => e.id === earlyId)!, { status: 502 });
    clock.advance(1000);
    expect(breakers.state(earlyId)).toBe("half-open");
    expect(run(upstream, 4, 200)).toEqual({ [other]: 4 }); // the early attempt is still in flight
    upstream.end(early, { status: 200 }); // it ends while half-open: a success, one was needed
    expect(breakers.state(earlyId)).toBe("closed");
  });

  it("cancelled and abandoned attempts count as neither; a late outcome while open is ignored", () => {
    const { clock, upstream, breakers } = setup({}, ["a:1"], 100);
    attempt(upstream, () => ({ status: 500 }));
    attempt(upstream, () => ({ failure: "connect" }));
    attempt(upstream, () => ({ failure: "cancelled" }));
    upstream.begin(); // never ended: reclaimed as abandoned
    clock.advance(100);
    expect(upstream.snapshot().attempts.abandoned).toBe(1);
    expect(breakers.state("a:1")).toBe("closed");
    const late = upstream.begin();
    attempt(upstream, () => ({ failure: "timeout" })); // the third failure in a row
    expect(breakers.state("a:1")).toBe("open");
    upstream.end(late, { status: 200 });
    expect(breakers.state("a:1")).toBe("open");
  });

  it("10,000 closed per-endpoint breakers hold no timer; many open ones hold one", () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => `10.${i >> 8}.${i & 255}.1:80`);
    const { clock, upstream, breakers } = setup({ strategy: () => consecutiveFailures(1) }, ids);
    expect(clock.pendingTimers).toBe(0);
    const endpoints = upstream.endpoints;
    for (let i = 0; i < 100; i++) upstream.report(endpoints[i * 7]!, { status: 503 });
    expect(upstream.snapshot().plugins["circuit-breaker"]).toMatchObject({ closed: 9900, open: 100 });
    expect(clock.pendingTimers).toBe(1);
    clock.advance(1000);
    expect(breakers.describe()).toMatchObject({ closed: 9900, halfOpen: 100 });
    expect(clock.pendingTimers).toBe(0);
  });

  it("an endpoint that leaves drops its breaker; coming back, it starts closed", () => {
    const { resolver, upstream, breakers } = setup({ strategy: () => consecutiveFailures(1) }, ["a:1", "b:1"]);
    run(upstream, 2);
    expect(breakers.state("b:1")).toBe("open");
    resolver.push(["a:1"]);
    expect(breakers.state("b:1")).toBeUndefined();
    resolver.push(["a:1", "b:1"]);
    expect(breakers.state("b:1")).toBe("closed");
    expect(endpointView(upstream, "b:1")?.ejections).toEqual([]);
  });

  it("restores a saved state when an endpoint first joins (an open one ejected at once)", () => {
    const first = setup();
    run(first.upstream, 9);
    first.clock.advance(250);
    const saved = JSON.parse(JSON.stringify(first.breakers.snapshot()));
    expect(Object.keys(saved)).toEqual(["a:1", "b:1", "c:1"]);
    expect(saved["b:1"]).toMatchObject({ state: "open", openForMs: 750 });
    const second = setup({ restore: saved });
    expect(second.breakers.state("b:1")).toBe("open");
    expect(second.changes).toEqual(["b:1 closed>open@0"]);
    expect(second.breakers.describe()).toEqual({ closed: 2, open: 1, halfOpen: 0, trips: 0 }); // restored, not tripped here
    expect(second.breakers.state("z:1")).toBeUndefined();
    expect(run(second.upstream, 6)).toEqual({ "a:1": 3, "c:1": 3 });
    second.clock.advance(750);
    expect(second.breakers.state("b:1")).toBe("half-open");
    // Once only: after leaving and coming back, it starts fresh.
    second.resolver.push(["a:1"]);
    second.resolver.push(["a:1", "b:1"]);
    expect(second.breakers.state("b:1")).toBe("closed");
  });

  it("reads latency from the upstream for a timed strategy: end() times the attempt", () => {
    const { clock, upstream, breakers } = setup({ strategy: () => slowCallRate({ slowMs: 100, calls: 3 }) }, ["a:1"]);
    const t1 = upstream.begin();
    clock.advance(150);
    upstream.end(t1, { status: 200 });
    upstream.report(upstream.endpoints[0]!, { status: 200, latencyMs: 20 });
    expect(breakers.state("a:1")).toBe("closed"); // 150 ms (slow) and 20 ms: fewer than 3 calls
    const t2 = upstream.begin();
    clock.advance(101);
    upstream.end(t2, { status: 200 });
    expect(breakers.state("a:1")).toBe("open"); // 2 slow of 3
  });

  it("a throwing onStateChange does not disturb the upstream: it surfaces as an uncaught exception", async () => {
    const errors: unknown[] = [];
    const onError = (e: unknown) => errors.push(e);
    process.on("uncaughtException", onError);
    try {
      const { upstream, breakers } = setup({
        strategy: () => consecutiveFailures(1),
        onStateChange: () => {
          throw new Error("listener");
        },
      });
      expect(run(upstream, 3)).toEqual({ "a:1": 1, "b:1": 1, "c:1": 1 });
      expect(breakers.state("b:1")).toBe("open");
      await new Promise((resolve) => setImmediate(resolve));
      expect(errors).toEqual([new Error("listener")]);
    } finally {
      process.off("uncaughtException", onError);
    }
  });

  it("validates its options with InvalidConfigError, and serves one upstream", () => {
    expectConfigErrors(
      (o: unknown) => circuitBreakers(o as CircuitBreakersOptions),
      [
        [{ name: "" }, "name"],
        [{ strategy: consecutiveFailures(3) }, "strategy"],
        [{ strategy: () => ({}) }, "strategy"],
        [{ isFailure: true }, "isFailure"],
        [{ onStateChange: 1 }, "onStateChange"],
        [{ halfOpenProbes: 0 }, "halfOpenProbes"],
        [{ openMs: -5 }, "openMs"],
        [{ restore: [] }, "restore"],
        [{ restore: { "a:1": { state: "gone" } } }, "restore.a:1.state"],
        [
          {
            restore: {
              "a:1": { state: "closed", strategy: { name: "consecutive-failures", state: { failures: -2 } } },
            },
          },
          "restore.a:1.strategy.state.failures",
        ],
        [7, "options"],
      ],
    );
    const plugin = circuitBreakers();
    createUpstream({ name: "one", resolver: new ManualResolver(), plugins: [plugin], clock: new ManualClock() });
    const e = thrown(() => createUpstream({ name: "two", resolver: new ManualResolver(), plugins: [plugin] }));
    expect(e).toBeInstanceOf(InvalidConfigError);
    expect((e as InvalidConfigError).option).toBe("plugins");
  });
});
