import { describe, expect, it } from "vitest";
import { ActiveHealthChecks } from "../../src/health/active/checker.js";
import { activeConfig } from "../../src/health/active/options.js";
import type { ActiveHealthChange, ActiveHealthChecksOptions, Endpoint, EndpointInput } from "../../src/index.js";
import { createUpstream, InvalidConfigError, roundRobin } from "../../src/index.js";
import { ManualClock, ManualResolver, seededRandom } from "../../src/testing/index.js";
import { thrown } from "../helpers/errors.js";
import { FakeProber } from "../helpers/fake-prober.js";

/** An upstream with active checks over probes the test answers (FakeProber); jitter 0 unless asked. */
function setup(options: ActiveHealthChecksOptions, endpoints: readonly (string | EndpointInput)[], seed = 1) {
  const resolver = new ManualResolver();
  const clock = new ManualClock();
  const fake = new FakeProber();
  const changes: string[] = [];
  const checks = new ActiveHealthChecks(
    activeConfig({
      jitter: 0,
      onHealthChange: (e: Endpoint, c: ActiveHealthChange) => changes.push(`${e.id} ${c.from}>${c.to}@${c.at}`),
      ...options,
    }),
    fake.prober,
  );
  const upstream = createUpstream({
    name: "api",
    resolver,
    clock,
    random: seededRandom(seed),
    balancer: roundRobin(),
    plugins: [checks],
    attemptTimeoutMs: Number.POSITIVE_INFINITY,
  });
  resolver.push(endpoints);
  const host = (id: string) => upstream.snapshot().endpoints.find((e) => e.endpoint.id === id);
  return { resolver, clock, fake, checks, upstream, changes, host };
}

const BOTH = { healthy: { intervalMs: 1000, successes: 2 }, unhealthy: { intervalMs: 500, httpFailures: 2 } };

describe("activeHealthChecks(): scheduling", () => {
  it("probes each endpoint at join, then every healthy.intervalMs after the last probe ended", () => {
    const { clock, fake } = setup(BOTH, ["a:1", "b:1"]);
    clock.advance(0);
    expect(fake.started).toEqual(["a:1@0", "b:1@0"]);
    clock.advance(300);
    fake.answer("a:1", { status: 200 }); // ended at 300: next at 1300
    clock.advance(100);
    fake.answer("b:1", { status: 200 }); // next at 1400
    clock.advance(899);
    expect(fake.started).toHaveLength(2);
    clock.advance(1);
    expect(fake.started.slice(2)).toEqual(["a:1@1300"]);
    clock.advance(100);
    expect(fake.started.slice(2)).toEqual(["a:1@1300", "b:1@1400"]);
  });

  it("an unhealthy endpoint is probed every unhealthy.intervalMs; the interval follows the state", () => {
    const { clock, fake, changes } = setup(BOTH, ["a:1"]);
    clock.advance(0);
    fake.answer("a:1", { status: 500 });
    clock.advance(1000);
    fake.answer("a:1", { status: 500 }); // the second: unhealthy at 1000
    expect(changes).toEqual(["a:1 healthy>unhealthy@1000"]);
    for (const t of [1500, 2000]) {
      clock.advance(500);
      expect(fake.started.at(-1)).toBe(`a:1@${t}`);
      fake.answer("a:1", { status: 200 });
    }
    expect(changes.at(-1)).toBe("a:1 unhealthy>healthy@2000");
    clock.advance(999);
    expect(fake.pending).toHaveLength(0);
    clock.advance(1);
    expect(fake.started.at(-1)).toBe("a:1@3000");
  });

  it("jitter: the first probe within interval × jitter of joining, each next one within [interval, interval × (1 + jitter)) of the last end; a seed repeats the times", () => {
    const times = (seed: number) => {
      const { clock, fake } = setup({ ...BOTH, jitter: 0.5 }, ["a:1"], seed);
      const at: number[] = [];
      for (let i = 0; i < 40; i++) {
        expect(clock.runNext()).toBe(true);
        at.push(clock.now());
        fake.answer("a:1", { status: 200 });
      }
      return at;
    };
    const at = times(7);
    expect(at[0]).toBeGreaterThanOrEqual(0);
    expect(at[0]).toBeLessThan(500);
    const gaps = at.slice(1).map((t, i) => t - (at[i] as number));
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(1000);
      expect(gap).toBeLessThan(1500);
    }
    expect(Math.max(...gaps) - Math.min(...gaps)).toBeGreaterThan(200); // spread, not a constant
    expect(times(7)).toEqual(at);
    expect(times(8)).not.toEqual(at);
  });

  it("holds one timer at most for 1,000 endpoints, and keeps at most `concurrency` probes in flight, the rest in line", () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `10.0.${i >> 8}.${i & 255}:80`);
    const { clock, fake, checks } = setup({ ...BOTH, jitter: 0.1, concurrency: 10 }, ids);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(100); // every first probe is due by now
    expect(clock.pendingTimers).toBe(0);
    expect(fake.pending).toHaveLength(10);
    expect(checks.describe()).toEqual({ healthy: 1000, unhealthy: 0, inFlight: 10, queued: 990, probes: 0 });
    let rounds = 0;
    while (fake.pending.length > 0) {
      expect(fake.answerAll()).toBeLessThanOrEqual(10);
      expect(fake.pending.length).toBeLessThanOrEqual(10);
      expect(clock.pendingTimers).toBe(1);
      rounds++;
    }
    expect(rounds).toBe(100);
    expect(new Set(fake.started.map((s) => s.split("@")[0])).size).toBe(1000);
    expect(fake.started).toHaveLength(1000);
    expect(checks.describe()).toMatchObject({ inFlight: 0, queued: 0, probes: 1000 });
  });

  it("a drained endpoint is not probed; it is looked at again an interval later, and probed once it has weight", () => {
    const { clock, fake, resolver, checks, upstream } = setup(BOTH, [
      { host: "10.0.0.1", port: 80 },
      { host: "10.0.0.2", port: 80, weight: 0 },
    ]);
    for (let i = 0; i < 3; i++) {
      clock.advance(i === 0 ? 0 : 1000);
      fake.answerAll();
    }
    expect(fake.started).toEqual(["10.0.0.1:80@0", "10.0.0.1:80@1000", "10.0.0.1:80@2000"]);
    const drained = upstream.snapshot().endpoints[1];
    expect(drained?.health).toBe("DRAINED");
    expect(drained?.plugins["active-health"]).toEqual({
      state: "healthy",
      since: 0,
      successes: 0,
      httpFailures: 0,
      tcpFailures: 0,
      timeouts: 0,
    });
    resolver.push([
      { host: "10.0.0.1", port: 80 },
      { host: "10.0.0.2", port: 80, weight: 5 },
    ]);
    clock.advance(1000);
    expect(fake.started.slice(3)).toEqual(["10.0.0.1:80@3000", "10.0.0.2:80@3000"]);
    expect(checks.describe()).toMatchObject({ healthy: 2, inFlight: 2 });
  });

  it("interval 0 turns a side off: with unhealthy.intervalMs 0 an unhealthy endpoint is never probed again", () => {
    const { clock, fake, upstream } = setup(
      { healthy: { intervalMs: 1000, successes: 1 }, unhealthy: { intervalMs: 0, tcpFailures: 1 } },
      ["a:1"],
    );
    clock.advance(0);
    fake.answer("a:1", { failure: "tcp", error: "ECONNREFUSED" });
    expect(upstream.snapshot().endpoints[0]?.ejections).toEqual(["active-health"]);
    clock.advance(100_000);
    expect(fake.started).toEqual(["a:1@0"]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("interval 0 turns a side off: with healthy.intervalMs 0 a healthy endpoint is not probed", () => {
    const { clock, fake } = setup({ healthy: { intervalMs: 0 }, unhealthy: { intervalMs: 500, tcpFailures: 1 } }, [
      "a:1",
    ]);
    clock.advance(100_000);
    expect(fake.started).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("an endpoint that leaves drops its state, its probe in flight is aborted and its place goes to the next in line", () => {
    const { clock, fake, resolver, checks } = setup({ ...BOTH, concurrency: 1 }, ["a:1", "b:1", "c:1"]);
    clock.advance(0);
    expect(fake.pending.map((p) => p.endpoint.id)).toEqual(["a:1"]);
    expect(checks.describe()).toMatchObject({ inFlight: 1, queued: 2 });
    resolver.push(["b:1", "c:1"]); // a leaves in flight
    expect(fake.aborted).toEqual(["a:1"]);
    expect(fake.pending.map((p) => p.endpoint.id)).toEqual(["b:1"]);
    expect(checks.describe()).toMatchObject({ healthy: 2, inFlight: 1, queued: 1 });
    resolver.push(["b:1"]); // c leaves while in line: never probed
    expect(checks.describe()).toMatchObject({ healthy: 1, inFlight: 1, queued: 0 });
    fake.answer("b:1", { status: 500 });
    expect(fake.pending).toHaveLength(0);
    expect(fake.started).toEqual(["a:1@0", "b:1@0"]);
    expect(checks.state("c:1")).toBeUndefined();
  });

  it("state survives resolver updates for endpoints that stay; one that leaves and comes back starts fresh", () => {
    const { clock, fake, resolver, checks, host } = setup(BOTH, ["a:1", "b:1"]);
    clock.advance(0);
    fake.answerAll(() => ({ status: 500 }));
    clock.advance(1000);
    fake.answerAll(() => ({ status: 500 }));
    expect(checks.state("a:1")).toBe("unhealthy");
    const before = host("a:1")?.plugins["active-health"];
    expect(before).toMatchObject({ state: "unhealthy", since: 1000, httpFailures: 2 });
    resolver.push([{ host: "a", port: 1, weight: 7 }, "b:1", "c:1"]); // a's weight changes, c joins
    expect(host("a:1")?.plugins["active-health"]).toEqual(before);
    expect(host("a:1")?.ejections).toEqual(["active-health"]);
    resolver.push(["b:1", "c:1"]);
    clock.advance(10);
    resolver.push(["a:1", "b:1", "c:1"]);
    expect(host("a:1")?.plugins["active-health"]).toEqual({
      state: "healthy",
      since: 1010,
      successes: 0,
      httpFailures: 0,
      tcpFailures: 0,
      timeouts: 0,
    });
    expect(host("a:1")?.ejections).toEqual([]);
  });

  it("close() aborts probes in flight, cancels its timer and starts nothing more", async () => {
    const { clock, fake, checks } = setup({ ...BOTH, concurrency: 1 }, ["a:1", "b:1"]);
    clock.advance(0);
    await checks.close();
    expect(fake.aborted).toEqual(["a:1"]);
    expect(clock.pendingTimers).toBe(0);
    clock.advance(10_000);
    expect(fake.started).toEqual(["a:1@0"]);
    expect(checks.describe()).toMatchObject({ inFlight: 0, queued: 0 });
    await checks.close(); // idempotent
  });

  it("a prober that throws counts as a TCP failure; nothing escapes the timer", async () => {
    const { clock, fake, checks, host } = setup(
      { healthy: { intervalMs: 1000 }, unhealthy: { intervalMs: 1000, tcpFailures: 1 } },
      ["a:1"],
    );
    fake.throwOnStart = new Error("no sockets left");
    expect(() => clock.advance(0)).not.toThrow();
    await Promise.resolve();
    expect(checks.state("a:1")).toBe("unhealthy");
    expect(host("a:1")?.plugins["active-health"]).toMatchObject({
      tcpFailures: 1,
      lastProbe: { failure: "tcp", error: "Error: no sockets left", atMs: 0 },
    });
  });

  it("throwing listeners surface as uncaught exceptions and disturb nothing", async () => {
    const errors: unknown[] = [];
    const onError = (e: unknown) => errors.push(e);
    process.on("uncaughtException", onError);
    try {
      const { clock, fake, checks } = setup(
        {
          ...BOTH,
          onHealthChange: () => {
            throw new Error("change");
          },
          onProbe: () => {
            throw new Error("probe");
          },
        },
        ["a:1"],
      );
      clock.advance(0);
      fake.answer("a:1", { status: 500 });
      clock.advance(1000);
      fake.answer("a:1", { status: 500 });
      expect(checks.state("a:1")).toBe("unhealthy");
      clock.advance(500);
      expect(fake.pending).toHaveLength(1);
      await new Promise((resolve) => setImmediate(resolve));
      expect(errors).toEqual([new Error("probe"), new Error("change"), new Error("probe")]);
    } finally {
      process.off("uncaughtException", onError);
    }
  });

  it("serves one upstream", () => {
    const { checks } = setup(BOTH, ["a:1"]);
    const e = thrown(() =>
      createUpstream({ name: "two", resolver: new ManualResolver(), plugins: [checks], clock: new ManualClock() }),
    );
    expect(e).toBeInstanceOf(InvalidConfigError);
    expect((e as InvalidConfigError).option).toBe("plugins");
  });
});
