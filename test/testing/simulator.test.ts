import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PluginContext, UpstreamPlugin } from "../../src/index.js";
import {
  circuitBreakers,
  InvalidConfigError,
  leastRequest,
  p2cPeakEwma,
  roundRobin,
  weightedRoundRobin,
} from "../../src/index.js";
import type { BackendReport, Scenario, SimulatedBackend, SimulationReport } from "../../src/testing/index.js";
import {
  constantLatency,
  logNormalLatency,
  normalLatency,
  outage,
  simulate,
  slowPhase,
} from "../../src/testing/index.js";

/** A scenario with fixed arrivals and round robin unless told otherwise. */
function scenario(backends: readonly SimulatedBackend[], extra: Partial<Scenario> = {}): Scenario {
  return {
    durationMs: 1000,
    ratePerSecond: 100,
    arrivals: "fixed",
    backends,
    upstream: { balancer: roundRobin() },
    ...extra,
  };
}

function backend(report: SimulationReport, i: number): BackendReport {
  return report.backends[i] as BackendReport;
}

/**
 * A plug-in that logs, at the upstream's clock time: each admission (every
 * `begin()` asks it), each outcome, and the timers it sets on the clock when
 * it attaches, to see how the simulator interleaves its events with them.
 */
function recorder(timers: readonly number[]) {
  const log: string[] = [];
  let ctx: PluginContext;
  const plugin: UpstreamPlugin = {
    name: "recorder",
    attach(context) {
      ctx = context;
      for (const at of timers) context.clock.setTimer(() => log.push(`timer@${ctx.clock.now()}`), at);
    },
    admit() {
      log.push(`begin@${ctx.clock.now()}`);
      return true;
    },
    onOutcome(_host, outcome) {
      const what = outcome.failure ?? outcome.status;
      log.push(`end@${ctx.clock.now()}:${what}:${outcome.latencyMs ?? "-"}`);
    },
  };
  return { plugin, log };
}

describe("simulate(): requests through a real upstream", () => {
  it("round robin over 10 ms and 30 ms backends: exact counts, latencies, series and end time", async () => {
    const report = await simulate(scenario([{ latency: constantLatency(10) }, { latency: constantLatency(30) }]));
    // 100 arrivals at 0, 10, ..., 990 ms; round robin alternates.
    expect([report.requests, report.successes, report.failures, report.timeouts, report.unavailable]).toEqual([
      100, 100, 0, 0, 0,
    ]);
    expect(report.successRate).toBe(1);
    expect(report.backends.map((b) => [b.id, b.requests, b.successes])).toEqual([
      ["10.0.0.1:8080", 50, 50],
      ["10.0.0.2:8080", 50, 50],
    ]);
    // 50 at 10 ms and 50 at 30 ms: the 50th (p50) is 10, the 90th is 30.
    expect(report.latency).toEqual({ count: 100, mean: 20, p50: 10, p90: 30, p95: 30, p99: 30, p999: 30, max: 30 });
    expect(backend(report, 1).latency).toEqual({
      count: 50,
      mean: 30,
      p50: 30,
      p90: 30,
      p95: 30,
      p99: 30,
      p999: 30,
      max: 30,
    });
    expect(report.series).toEqual([{ startMs: 0, requests: 100, successes: 100, p50: 10, p99: 30 }]);
    expect(backend(report, 0).series).toEqual([50]);
    // The last two arrivals (980 and 990 ms) went one to each: the last end is at 1,010 or 1,020.
    expect([1010, 1020]).toContain(report.endedAtMs);
    // The upstream counted the same outcomes.
    expect(report.upstream.endpoints.map((e) => [e.endpoint.id, e.requests, e.failures, e.inFlight])).toEqual([
      ["10.0.0.1:8080", 50, 0, 0],
      ["10.0.0.2:8080", 50, 0, 0],
    ]);
    expect([report.seed, report.durationMs, report.bucketMs]).toEqual([1, 1000, 1000]);
  });

  it("a request slower than the client timeout ends at the timeout as { failure: 'timeout' }, counted at the timeout", async () => {
    const rec = recorder([]);
    const report = await simulate(
      scenario([{ latency: constantLatency(2000) }], {
        durationMs: 30,
        timeoutMs: 500,
        upstream: () => ({ plugins: [rec.plugin] }),
      }),
    );
    expect([report.requests, report.timeouts, report.failures, report.successRate]).toEqual([3, 3, 3, 0]);
    expect(report.latency).toEqual({
      count: 3,
      mean: 500,
      p50: 500,
      p90: 500,
      p95: 500,
      p99: 500,
      p999: 500,
      max: 500,
    });
    expect(rec.log).toEqual([
      "begin@0",
      "begin@10",
      "begin@20",
      "end@500:timeout:500",
      "end@510:timeout:500",
      "end@520:timeout:500",
    ]);
    expect(report.endedAtMs).toBe(520);
    expect(report.upstream.endpoints[0]).toMatchObject({ requests: 3, failures: 3, lastLatencyMs: 500 });
  });

  it("events interleave with the clock's timers: a timer due at an event's time fires first; ends come before arrivals", async () => {
    const rec = recorder([5, 10, 25]);
    // Arrivals every 10 ms; the first backend answers in 10 ms, the second in 20 ms (round robin from backend 0).
    await simulate(
      scenario([{ latency: constantLatency(10) }, { latency: constantLatency(10) }], {
        durationMs: 30,
        upstream: () => ({ plugins: [rec.plugin] }),
        seed: 1,
      }),
    );
    expect(rec.log).toEqual([
      "begin@0",
      "timer@5",
      "timer@10", // due at 10: before the end and the arrival at 10
      "end@10:200:10", // the request of 0 ends at 10, before the one arriving at 10 begins
      "begin@10",
      "end@20:200:10",
      "begin@20",
      "timer@25",
      "end@30:200:10",
    ]);
  });

  it("ends due at the same time run in arrival order; the upstream's own reaper fires at its time between events", async () => {
    const rec = recorder([]);
    // The request of 0 ms takes 20 ms, the one of 10 ms takes 10: both end at 20 ms.
    const latency = (_random: unknown, timeMs: number) => (timeMs === 0 ? 20 : 10);
    await simulate(
      scenario([{ latency }, { latency }], { durationMs: 20, upstream: () => ({ plugins: [rec.plugin] }) }),
    );
    expect(rec.log).toEqual(["begin@0", "begin@10", "end@20:200:20", "end@20:200:10"]);
    // With attemptTimeoutMs 15 the upstream reclaims the 20 ms attempt at 15 ms, before the simulator ends it.
    const reaped = recorder([]);
    await simulate(
      scenario([{ latency }, { latency }], {
        durationMs: 20,
        upstream: () => ({ plugins: [reaped.plugin], attemptTimeoutMs: 15 }),
      }),
    );
    // Reclaimed at 15 (abandoned, no latency); the simulator's end at 20 then finds the token stale.
    expect(reaped.log).toEqual(["begin@0", "begin@10", "end@15:abandoned:-", "end@20:200:10"]);
  });

  it("a failure rate fails that share of requests with the given status or failure kind, as the upstream counts them", async () => {
    const report = await simulate(
      scenario(
        [
          { latency: constantLatency(5), failureRate: 0.25 },
          { latency: constantLatency(5), failureRate: 0.1, failure: { failure: "reset" } },
          { latency: constantLatency(5), failureRate: 1, failure: { status: 429 } }, // not a failure (isFailure)
        ],
        { durationMs: 60_000, ratePerSecond: 300 },
      ),
    );
    const [a, b, c] = [backend(report, 0), backend(report, 1), backend(report, 2)];
    expect([a.requests, b.requests, c.requests]).toEqual([6000, 6000, 6000]);
    // Binomial: sd √(6000 · 0.25 · 0.75) ≈ 33.5 and √(6000 · 0.1 · 0.9) ≈ 23.2.
    expect(Math.abs(a.failures - 1500)).toBeLessThan(4 * 33.5);
    expect(Math.abs(b.failures - 600)).toBeLessThan(4 * 23.2);
    expect(c.failures).toBe(0);
    expect(report.failures).toBe(a.failures + b.failures);
    expect(report.upstream.endpoints.map((e) => e.failures)).toEqual([a.failures, b.failures, 0]);
    // Failed answers take their latency like any other.
    expect(report.latency.max).toBe(5);
  });

  it("a backend that dies and returns: connection refused during the outage; a breaker ejects it and lets it back", async () => {
    const backends = [{ latency: constantLatency(5) }, { latency: constantLatency(5), phases: [outage(1000, 3000)] }];
    const plain = await simulate(scenario(backends, { durationMs: 5000, bucketMs: 250 }));
    // Round robin: every other request (one per 20 ms) goes to it; 100 of them in the 2 s outage.
    expect(backend(plain, 1).failures).toBe(100);
    expect(plain.upstream.endpoints[1]?.failures).toBe(100);
    // Refused at once (0 ms): 100 of its 250 requests at 0 ms, 150 at 5 ms.
    expect(backend(plain, 1).requests).toBe(250);
    expect(backend(plain, 1).latency.mean).toBe(3);
    const guarded = await simulate(
      scenario(backends, {
        durationMs: 5000,
        bucketMs: 250,
        upstream: () => ({ balancer: roundRobin(), plugins: [circuitBreakers({ openMs: 500 })] }),
      }),
    );
    const dead = backend(guarded, 1);
    // 5 refusals in a row open its breaker (ejected); a probe 500 ms later fails and reopens it,
    // 3 times; the probe after 3 s succeeds and closes it: 5 + 3 failures.
    expect(dead.failures).toBe(8);
    expect(dead.series).toEqual([13, 12, 13, 12, 5, 0, 1, 0, 1, 0, 1, 0, 9, 12, 13, 12, 13, 12, 13, 12]);
    expect(guarded.upstream.plugins).toEqual({ "circuit-breaker": { closed: 2, open: 0, halfOpen: 0, trips: 4 } });
    expect(guarded.successRate).toBe((500 - 8) / 500);
  });

  it("phases: a slow phase by request start time; the first phase that sets a field wins; a down phase with a latency is a black hole", async () => {
    const report = await simulate(
      scenario(
        [
          {
            latency: constantLatency(10),
            phases: [
              slowPhase(200, 400, 50),
              { fromMs: 300, toMs: 600, latency: constantLatency(70), failureRate: 1 },
              { fromMs: 800, toMs: Number.POSITIVE_INFINITY, down: true, latency: constantLatency(5000) },
            ],
          },
        ],
        { timeoutMs: 1000, bucketMs: 100 },
      ),
    );
    const b = backend(report, 0);
    // Per 100 ms bucket: 10 requests each. p50 per bucket shows the latency in force.
    expect(report.series.map((s) => s.p50)).toEqual([10, 10, 50, 50, 70, 70, 10, 10, 1000, 1000]);
    // 300..400: the slow phase's 50 ms (first to set latency) with the second phase's failure rate.
    expect(report.series.map((s) => s.successes)).toEqual([10, 10, 10, 0, 0, 0, 10, 10, 0, 0]);
    expect([b.timeouts, report.failures]).toEqual([20, 50]);
  });

  it("requests begin() refuses (nothing eligible) are unavailable: failures without a latency", async () => {
    const report = await simulate(
      scenario([{ endpoint: { host: "10.1.1.1", port: 80, weight: 0 }, latency: constantLatency(5) }]),
    );
    expect([report.requests, report.unavailable, report.failures, report.successRate]).toEqual([100, 100, 100, 0]);
    expect(report.latency.count).toBe(0);
    expect(report.series[0]).toEqual({ startMs: 0, requests: 100, successes: 0, p50: 0, p99: 0 });
    expect(backend(report, 0)).toMatchObject({ id: "10.1.1.1:80", requests: 0 });
  });

  it("the time series: ⌈duration / bucketMs⌉ buckets by arrival time, the last one shorter; counts add up", async () => {
    const report = await simulate(
      scenario([{ latency: normalLatency(20, 3) }, { latency: logNormalLatency(20, 0.3) }], {
        durationMs: 1200,
        bucketMs: 500,
        arrivals: "poisson",
        ratePerSecond: 2000,
      }),
    );
    expect(report.series.map((s) => s.startMs)).toEqual([0, 500, 1000]);
    expect(report.series.reduce((n, s) => n + s.requests, 0)).toBe(report.requests);
    for (const b of report.backends) expect(b.series.reduce((n, k) => n + k, 0)).toBe(b.requests);
    expect(report.backends.reduce((n, b) => n + b.requests, 0)).toBe(report.requests);
    // The last bucket holds 200 ms of arrivals: about 2/5 of a full one.
    const [first, , last] = report.series as [SimulationReport["series"][0], unknown, SimulationReport["series"][0]];
    expect(Math.abs(last.requests / first.requests - 0.4)).toBeLessThan(0.1);
  });

  it("the report is plain data: it survives JSON unchanged", async () => {
    const report = await simulate(
      scenario([{ latency: normalLatency(20, 5) }, { latency: normalLatency(40, 5) }], {
        upstream: () => ({ balancer: leastRequest(), plugins: [circuitBreakers()] }),
      }),
    );
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });
});

describe("simulate(): deterministic", () => {
  const experiment = (seed: number): Scenario => ({
    seed,
    durationMs: 20_000,
    ratePerSecond: 500,
    timeoutMs: 1000,
    backends: Array.from({ length: 5 }, (_, i) => ({
      latency: normalLatency(50, 10),
      failureRate: 0.01,
      phases: i === 0 ? [slowPhase(5000, 10_000, 1500), outage(12_000, 14_000)] : [],
    })),
    upstream: () => ({ balancer: p2cPeakEwma(), plugins: [circuitBreakers()] }),
  });

  it("the same scenario and seed give the same report; another seed another", async () => {
    const a = await simulate(experiment(42));
    const b = await simulate(experiment(42));
    expect(b).toEqual(a);
    const c = await simulate(experiment(43));
    expect(c.latency).not.toEqual(a.latency);
    expect(c.requests).not.toBe(a.requests);
  });

  it("streams are separate: a change to one backend leaves the arrivals and the others' draws alone", async () => {
    const fixed = (extra: number): Scenario => ({
      durationMs: 2000,
      ratePerSecond: 200,
      backends: [{ latency: normalLatency(20 + extra, 2) }, { latency: constantLatency(15) }],
      upstream: { balancer: roundRobin() },
    });
    const a = await simulate(fixed(0));
    const b = await simulate(fixed(100));
    // Poisson arrivals drawn from their own stream: the same count; round robin sends each backend the same.
    expect(b.requests).toBe(a.requests);
    expect(backend(b, 1)).toEqual(backend(a, 1));
    expect(backend(b, 0).latency.p50 - backend(a, 0).latency.p50).toBeCloseTo(100, 9);
  });
});

describe("simulate(): properties", () => {
  it("any small scenario: the same twice; its counts add up; no request ends before it arrives or after its timeout", async () => {
    const backendArb = fc.record({
      latency: fc.oneof(
        fc.double({ min: 0, max: 300, noNaN: true }).map((ms) => constantLatency(ms)),
        fc
          .tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 100 }))
          .map(([m, sd]) => normalLatency(m, sd)),
        fc
          .tuple(fc.integer({ min: 1, max: 200 }), fc.double({ min: 0, max: 1.5, noNaN: true }))
          .map(([m, s]) => logNormalLatency(m, s)),
      ),
      failureRate: fc.constantFrom(0, 0.05, 0.5),
      phases: fc.array(
        fc
          .tuple(fc.integer({ min: 0, max: 1500 }), fc.integer({ min: 1, max: 1500 }), fc.boolean())
          .map(([from, length, down]) => (down ? outage(from, from + length) : slowPhase(from, from + length, 400))),
        { maxLength: 2 },
      ),
    });
    const balancers = [roundRobin, leastRequest, p2cPeakEwma, weightedRoundRobin];
    await fc.assert(
      fc.asyncProperty(
        fc.array(backendArb, { minLength: 1, maxLength: 5 }),
        fc.integer(),
        fc.integer({ min: 1, max: 400 }),
        fc.constantFrom<"poisson" | "fixed">("poisson", "fixed"),
        fc.option(fc.integer({ min: 1, max: 500 }), { nil: undefined }),
        fc.integer({ min: 0, max: 3 }),
        fc.boolean(),
        async (backends, seed, rate, arrivals, timeoutMs, b, breakers) => {
          const s: Scenario = {
            seed,
            durationMs: 2000,
            ratePerSecond: rate,
            arrivals,
            timeoutMs,
            bucketMs: 250,
            backends,
            upstream: () => ({
              balancer: (balancers[b] as () => ReturnType<typeof roundRobin>)(),
              plugins: breakers ? [circuitBreakers({ openMs: 300 })] : [],
            }),
          };
          const a = await simulate(s);
          expect(await simulate(s)).toEqual(a);
          expect(a.successes + a.failures).toBe(a.requests);
          expect(a.backends.reduce((n, x) => n + x.requests, 0) + a.unavailable).toBe(a.requests);
          expect(a.series.reduce((n, x) => n + x.requests, 0)).toBe(a.requests);
          expect(a.series.reduce((n, x) => n + x.successes, 0)).toBe(a.successes);
          expect(a.latency.count).toBe(a.requests - a.unavailable);
          if (timeoutMs !== undefined) expect(a.latency.max).toBeLessThanOrEqual(timeoutMs);
          if (timeoutMs === undefined) expect(a.timeouts).toBe(0);
          expect(a.upstream.attempts.inFlight).toBe(0);
          expect(a.upstream.endpoints.reduce((n, e) => n + e.requests + e.abandoned, 0)).toBe(
            a.requests - a.unavailable,
          );
          const l = a.latency;
          expect(l.p50 <= l.p90 && l.p90 <= l.p95 && l.p95 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max).toBe(true);
        },
      ),
      { numRuns: 60, seed: 2026 },
    );
  });
});

describe("simulate(): bad scenarios", () => {
  async function rejection(s: unknown): Promise<InvalidConfigError> {
    const error = await simulate(s as Scenario).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidConfigError);
    return error as InvalidConfigError;
  }

  it("names the option", async () => {
    const ok = { durationMs: 1000, ratePerSecond: 10, backends: [{ latency: constantLatency(1) }] };
    const rows: [unknown, string][] = [
      [null, "scenario"],
      [{ ...ok, seed: "x" }, "seed"],
      [{ ...ok, durationMs: 0 }, "durationMs"],
      [{ ...ok, durationMs: Number.POSITIVE_INFINITY }, "durationMs"],
      [{ ...ok, ratePerSecond: -1 }, "ratePerSecond"],
      [{ ...ok, ratePerSecond: 1e9 }, "ratePerSecond"], // more than 10^7 requests
      [{ ...ok, arrivals: "uniform" }, "arrivals"],
      [{ ...ok, timeoutMs: 0 }, "timeoutMs"],
      [{ ...ok, bucketMs: Number.NaN }, "bucketMs"],
      [{ ...ok, bucketMs: 0.0001 }, "bucketMs"],
      [{ ...ok, backends: [] }, "backends"],
      [{ ...ok, backends: "a,b" }, "backends"],
      [{ ...ok, backends: [null] }, "backends[0]"],
      [{ ...ok, backends: [{ latency: 5 }] }, "backends[0].latency"],
      [{ ...ok, backends: [{ latency: constantLatency(1), failureRate: 2 }] }, "backends[0].failureRate"],
      [{ ...ok, backends: [{ latency: constantLatency(1), failure: { status: 700 } }] }, "backends[0].failure"],
      [{ ...ok, backends: [{ latency: constantLatency(1), failure: { failure: "timeout" } }] }, "backends[0].failure"],
      [{ ...ok, backends: [{ latency: constantLatency(1), phases: {} }] }, "backends[0].phases"],
      [
        { ...ok, backends: [{ latency: constantLatency(1), phases: [{ fromMs: 5, toMs: 5 }] }] },
        "backends[0].phases[0].toMs",
      ],
      [{ ...ok, backends: [{ latency: constantLatency(1), phases: [{ toMs: 5 }] }] }, "backends[0].phases[0].fromMs"],
      [
        { ...ok, backends: [{ latency: constantLatency(1), phases: [{ fromMs: 0, toMs: 5, down: "yes" }] }] },
        "backends[0].phases[0].down",
      ],
      [
        {
          ...ok,
          backends: [{ latency: constantLatency(1) }, { latency: constantLatency(1), endpoint: "10.0.0.1:8080" }],
        },
        "backends[1].endpoint",
      ],
      [{ ...ok, backends: [{ latency: constantLatency(1), endpoint: "not an endpoint:" }] }, "backends[0].endpoint"],
      [{ ...ok, upstream: 5 }, "upstream"],
      [{ ...ok, upstream: { clock: {} } }, "upstream.clock"],
      [{ ...ok, upstream: { balancer: "round-robin" } }, "upstream.balancer"],
      [{ ...ok, upstream: () => ({ attemptTimeoutMs: -1 }) }, "upstream.attemptTimeoutMs"],
    ];
    for (const [s, option] of rows) expect((await rejection(s)).option, option).toBe(option);
  });

  it("a latency distribution that returns a bad value stops the run, naming the backend", async () => {
    const error = await rejection({
      durationMs: 1000,
      ratePerSecond: 100,
      arrivals: "fixed",
      backends: [{ latency: constantLatency(1) }, { latency: (_r: unknown, t: number) => (t < 500 ? 5 : -1) }],
      upstream: { balancer: weightedRoundRobin() },
    });
    expect(error.option).toBe("backends[1].latency");
    expect(error.message).toMatch(/gave -1 for a request at 5\d0 ms/);
  });
});
