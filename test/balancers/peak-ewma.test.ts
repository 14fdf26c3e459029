import { describe, expect, it } from "vitest";
import { PickerRandom } from "../../src/balancers/picker-random.js";
import type { Balancer, EndpointTable, Host, LoadMetric } from "../../src/index.js";
import { createUpstream, leastRequest, p2c, p2cPeakEwma, peakEwma, roundRobin } from "../../src/index.js";
import type { BackendReport } from "../../src/testing/index.js";
import {
  constantLatency,
  ManualClock,
  ManualResolver,
  normalLatency,
  outage,
  seededRandom,
  simulate,
  slowPhase,
} from "../../src/testing/index.js";
import { expectConfigErrors } from "../helpers/config-errors.js";
import { lever } from "../helpers/lever.js";
import { context, fixture, pickIndexes, setInFlight } from "../helpers/picks.js";

function setup(balancer: Balancer, ids: readonly string[], options: { attemptTimeoutMs?: number; seed?: number } = {}) {
  const resolver = new ManualResolver();
  const clock = new ManualClock();
  const l = lever();
  const upstream = createUpstream({
    name: "api",
    resolver,
    clock,
    random: seededRandom(options.seed ?? 5),
    balancer,
    plugins: [l.plugin],
    attemptTimeoutMs: options.attemptTimeoutMs,
  });
  resolver.push(ids.map((id) => `${id}:80`));
  return { upstream, clock, ...l };
}

describe("peakEwma()", () => {
  it("validates decayMs (finite, > 0), defaultRttMs (finite, >= 0) and failurePenalty (0, or finite >= 1)", () => {
    expectConfigErrors(
      (options: unknown) => peakEwma(options as object),
      [
        [{ decayMs: 0 }, "decayMs"],
        [{ decayMs: -1 }, "decayMs"],
        [{ decayMs: Number.NaN }, "decayMs"],
        [{ decayMs: Number.POSITIVE_INFINITY }, "decayMs"],
        [{ decayMs: "10s" }, "decayMs"],
        [{ defaultRttMs: -1 }, "defaultRttMs"],
        [{ defaultRttMs: Number.NaN }, "defaultRttMs"],
        [{ defaultRttMs: Number.POSITIVE_INFINITY }, "defaultRttMs"],
        [{ failurePenalty: 0.5 }, "failurePenalty"],
        [{ failurePenalty: -1 }, "failurePenalty"],
        [{ failurePenalty: Number.NaN }, "failurePenalty"],
        [{ failurePenalty: Number.POSITIVE_INFINITY }, "failurePenalty"],
        [{ failurePenalty: "2" }, "failurePenalty"],
        [null, "options"],
        ["fast", "options"],
      ],
    );
    expectConfigErrors(
      (options: unknown) => p2cPeakEwma(options as object),
      [
        [{ decayMs: 0 }, "decayMs"],
        [{ defaultRttMs: -5 }, "defaultRttMs"],
        [{ failurePenalty: 0.99 }, "failurePenalty"],
        [{ choiceCount: 1 }, "choiceCount"],
        [42, "options"],
      ],
    );
    expect(() => peakEwma({ decayMs: 0.5, defaultRttMs: 0 })).not.toThrow();
    for (const failurePenalty of [0, 1, 2.5]) expect(() => p2cPeakEwma({ failurePenalty })).not.toThrow();
  });

  it('p2cPeakEwma() is p2c over it, named "peak-ewma"; the metric is named "peak-ewma" too', () => {
    const balancer = p2cPeakEwma();
    expect(balancer.name).toBe("peak-ewma");
    expect(balancer.metric?.name).toBe("peak-ewma");
    expect(typeof balancer.metric?.update).toBe("function");
    expect(p2c(peakEwma()).name).toBe("p2c:peak-ewma");
  });

  it("load = estimate × (inFlight + 1), with the default RTT before the first latency; no clock is read", () => {
    const f = fixture([1, 1]);
    const slot = (f.hosts[0] as Host).slot;
    const metric = peakEwma();
    expect(f.table.loadEstimate[slot]).toBeNaN();
    expect(metric.load(f.table, slot)).toBe(30);
    setInFlight(f.table, slot, 2);
    expect(metric.load(f.table, slot)).toBe(90);
    expect(peakEwma({ defaultRttMs: 12 }).load(f.table, slot)).toBe(36);
    f.table.loadEstimate[slot] = 7.5;
    expect(metric.load(f.table, slot)).toBe(22.5);
  });
});

/** What an upstream's end() does for a successful attempt: the metric learns `latency`, ended at `endedAt`. */
function learn(table: EndpointTable, slot: number, latency: number, endedAt: number, metric = peakEwma()): void {
  table.lastLatencyMs[slot] = latency;
  table.lastEndedAt[slot] = endedAt;
  metric.update?.(table, slot, false);
}

describe("peakEwma(): the estimate decays with its age at the attempt time", () => {
  it("load() = estimate × e^(-age / decayMs) × (inFlight + 1), age = table.attemptTime − stamp; the default RTT does not decay", () => {
    const f = fixture([1, 1]);
    const [a, b] = f.hosts.map((h) => h.slot) as [number, number];
    const metric = peakEwma({ decayMs: 1000 });
    learn(f.table, a, 200, 5000, metric);
    expect([f.table.loadEstimate[a], f.table.loadStamp[a]]).toEqual([200, 5000]);
    // Cell 0 of attemptTime is the upstream's time of its last attempt: the metric's "now".
    f.table.attemptTime[0] = 5000;
    expect(metric.load(f.table, a)).toBe(200);
    f.table.attemptTime[0] = 4000; // an attempt time before the stamp: no decay, no growth
    expect(metric.load(f.table, a)).toBe(200);
    f.table.attemptTime[0] = 6000;
    expect(metric.load(f.table, a)).toBe(200 * Math.exp(-1));
    setInFlight(f.table, a, 2);
    expect(metric.load(f.table, a)).toBe(200 * Math.exp(-1) * 3);
    f.table.attemptTime[0] = 5000 + 1000 * Math.log(200 / 30); // 200 ms decayed to 30 ms
    expect(metric.load(f.table, a) / 3).toBeCloseTo(30, 10);
    // No estimate: the default RTT, whatever the time.
    f.table.attemptTime[0] = 1e9;
    expect(metric.load(f.table, b)).toBe(30);
  });

  it("update() keeps loadKey = ln(estimate) + stamp / decayMs beside the estimate and its stamp", () => {
    const f = fixture([1]);
    const slot = (f.hosts[0] as Host).slot;
    const metric = peakEwma({ decayMs: 2000 });
    expect(f.table.loadKey[slot]).toBeNaN();
    learn(f.table, slot, 40, 100, metric);
    expect(f.table.loadKey[slot]).toBe(Math.log(40) + 100 / 2000);
    learn(f.table, slot, 10, 1100, metric);
    const w = Math.exp(-1000 / 2000);
    expect(f.table.loadEstimate[slot]).toBe(40 * w + 10 * (1 - w));
    expect(f.table.loadKey[slot]).toBe(Math.log(40 * w + 10 * (1 - w)) + 1100 / 2000);
    // An attempt that ended before the last update moves neither the stamp nor (below the peak) the estimate.
    learn(f.table, slot, 5, 600, metric);
    expect(f.table.loadKey[slot]).toBe(Math.log(40 * w + 10 * (1 - w)) + 1100 / 2000);
    learn(f.table, slot, 0, 1200, metric); // a 0 ms answer: ln(estimate) stays finite below the peak
    expect(Number.isFinite(f.table.loadKey[slot])).toBe(true);
  });

  it("picks compare decayed costs: an estimate 10× higher wins once it is older by more than decayMs × ln 10", () => {
    const f = fixture([1, 1], 3);
    const [a, b] = f.hosts.map((h) => h.slot) as [number, number];
    const metric = peakEwma({ decayMs: 1000 });
    const picker = p2c(metric).build(f.hosts, { ...context(3, f.table), downHosts: new Int32Array(1) });
    learn(f.table, a, 1000, 0, metric); // slow, long ago
    learn(f.table, b, 100, 2000, metric); // fast, recently
    f.table.attemptTime[0] = 2000;
    // At 2,000 ms: a costs 1000 × e^(-2) ≈ 135 > b's 100: every pick takes b (two hosts: both compared).
    expect(new Set(pickIndexes(picker, f.endpoints, 50))).toEqual(new Set([1]));
    // 2 in flight on b: 300 > 135: a.
    setInFlight(f.table, b, 2);
    expect(new Set(pickIndexes(picker, f.endpoints, 50))).toEqual(new Set([0]));
    // The order does not depend on the attempt time once both are learned: the decay is common to both.
    f.table.attemptTime[0] = 1e7;
    expect(new Set(pickIndexes(picker, f.endpoints, 50))).toEqual(new Set([0]));
    setInFlight(f.table, b, 0);
    expect(new Set(pickIndexes(picker, f.endpoints, 50))).toEqual(new Set([1]));
    // Older by more than ln(10) × decayMs than b: a is cheaper with the same load.
    learn(f.table, a, 1000, -400, metric); // ended before its last update: no change
    learn(f.table, b, 100, 2400, metric); // now 2,400 ms fresher than a, > 2,302.6
    expect(f.table.loadEstimate[b]).toBe(100);
    expect(new Set(pickIndexes(picker, f.endpoints, 50))).toEqual(new Set([0]));
  });

  it("an endpoint with no estimate against one with: the estimate decayed to the attempt time, against the default", () => {
    const f = fixture([1, 1], 4);
    const [a, b] = f.hosts.map((h) => h.slot) as [number, number];
    const metric = peakEwma({ decayMs: 1000, defaultRttMs: 50 });
    const picker = p2c(metric).build(f.hosts, { ...context(4, f.table), downHosts: new Int32Array(1) });
    learn(f.table, a, 200, 1000, metric);
    expect(f.table.loadEstimate[b]).toBeNaN();
    f.table.attemptTime[0] = 1000; // 200 against 50: b
    expect(new Set(pickIndexes(picker, f.endpoints, 50))).toEqual(new Set([1]));
    f.table.attemptTime[0] = 1000 + 1000 * Math.log(4) + 1; // 200 decayed just below 50: a
    expect(new Set(pickIndexes(picker, f.endpoints, 50))).toEqual(new Set([0]));
    setInFlight(f.table, a, 1); // ≈ 100 against 50: b
    expect(new Set(pickIndexes(picker, f.endpoints, 50))).toEqual(new Set([1]));
  });
});

describe("peakEwma(): an endpoint that was slow is tried again", () => {
  it("at 20 requests/s it gets no traffic while its timeouts are fresh, then its estimate decays and it is probed", async () => {
    // Four endpoints at 50 ms; the first answers in 2 s (past the 1 s timeout) from 5 s to 15 s.
    // Its timeouts raise its estimate to 2,000 ms and more (failurePenalty 2 × at least the 1 s
    // timeout); the others cost 50 × (in flight + 1). Without decay at pick time it never again
    // costs less than another, and never gets another request.
    const report = await simulate({
      durationMs: 60_000,
      ratePerSecond: 20,
      arrivals: "fixed",
      timeoutMs: 1000,
      backends: [0, 1, 2, 3].map((i) => ({
        latency: constantLatency(50),
        phases: i === 0 ? [slowPhase(5000, 15_000, 2000)] : [],
      })),
      upstream: { balancer: p2cPeakEwma() },
    });
    const slow = report.backends[0] as BackendReport;
    const before = slow.series.slice(0, 5).reduce((a, b) => a + b, 0);
    const after = slow.series.slice(15).reduce((a, b) => a + b, 0);
    expect(before).toBeGreaterThan(20); // its share of 100 requests, give or take
    expect(slow.series.slice(7, 15)).toEqual(new Array(8).fill(0)); // shunned while slow
    expect(after).toBeGreaterThan(0);
    // Its last request was answered in 50 ms: it was tried after it recovered.
    expect(report.upstream.endpoints[0]?.lastLatencyMs).toBe(50);
    expect(report.timeouts).toBe(slow.timeouts);
  });
});

describe("peakEwma() updated by an upstream on a ManualClock", () => {
  it("the first latency sets the estimate; a higher one resets it to the peak; a lower one decays toward it by e^(-Δt/decayMs)", async () => {
    const { upstream, clock, table, host } = setup(p2cPeakEwma(), ["h0.test"]);
    const metric = upstream.balancer.metric as LoadMetric;
    const slot = host("h0.test:80").slot;
    const t = table;
    expect(metric.load(t(), slot)).toBe(30); // no data: Linkerd's default RTT

    const first = upstream.begin();
    expect(metric.load(t(), slot)).toBe(60); // 30 × (1 in flight + 1)
    clock.advance(40);
    upstream.end(first, { status: 200 });
    expect([t().lastLatencyMs[slot], t().loadEstimate[slot], t().loadStamp[slot]]).toEqual([40, 40, 40]);
    expect(metric.load(t(), slot)).toBe(40);

    clock.advance(1000);
    const faster = upstream.begin(); // at 1,040
    clock.advance(10);
    upstream.end(faster, { status: 200 }); // 10 ms, at 1,050
    const w = Math.exp(-(1050 - 40) / 10_000);
    expect(t().loadEstimate[slot]).toBe(40 * w + 10 * (1 - w));
    expect(t().loadEstimate[slot]).toBeCloseTo(37.118, 3);
    expect(t().loadStamp[slot]).toBe(1050);

    const slower = upstream.begin();
    clock.advance(100);
    upstream.end(slower, { status: 200 }); // 100 ms > 37.1, the peak
    expect([t().loadEstimate[slot], t().loadStamp[slot]]).toEqual([100, 1150]);

    // Two attempts overlap; the later one ends first.
    const early = upstream.begin(); // at 1,150
    clock.advance(200);
    const late = upstream.begin(); // at 1,350
    clock.advance(5);
    upstream.end(late, { status: 200 }); // 5 ms, ends at 1,355
    const w2 = Math.exp(-(1355 - 1150) / 10_000);
    expect(t().loadEstimate[slot]).toBe(100 * w2 + 5 * (1 - w2));
    // The early one reports 20 ms: it ended at 1,150 + 20 = 1,170, before the last update,
    // so it decays nothing (w = 1) and leaves the stamp where it was.
    const before = t().loadEstimate[slot];
    upstream.end(early, { status: 200, latencyMs: 20 });
    expect([t().loadEstimate[slot], t().loadStamp[slot]]).toEqual([before, 1355]);

    // report() with a latency is an outcome too (ended now); without one there is nothing to learn.
    const endpoint = upstream.endpoints[0] as (typeof upstream.endpoints)[number];
    upstream.report(endpoint, { status: 200, latencyMs: 500 });
    expect([t().loadEstimate[slot], t().loadStamp[slot]]).toEqual([500, 1355]);
    clock.advance(645);
    upstream.report(endpoint, { status: 200 });
    expect(t().loadEstimate[slot]).toBe(500);
    upstream.report(endpoint, { status: 200, latencyMs: 100 }); // at 2,000
    const w3 = Math.exp(-(2000 - 1355) / 10_000);
    expect(t().loadEstimate[slot]).toBe(500 * w3 + 100 * (1 - w3));
    await upstream.close();
  });

  it("decayMs sets the time constant; abandoned attempts are not outcomes and leave the estimate alone", async () => {
    const { upstream, clock, table, host } = setup(p2cPeakEwma({ decayMs: 1000 }), ["h0.test"], {
      attemptTimeoutMs: 5000,
    });
    const slot = host("h0.test:80").slot;
    const a = upstream.begin();
    clock.advance(80);
    upstream.end(a, { status: 200 });
    clock.advance(920);
    const b = upstream.begin(); // at 1,000
    clock.advance(20);
    upstream.end(b, { status: 200 }); // at 1,020: Δt = 940 ms
    const w = Math.exp(-940 / 1000);
    expect(table().loadEstimate[slot]).toBe(80 * w + 20 * (1 - w));
    const estimate = table().loadEstimate[slot];
    upstream.begin(); // never ended
    clock.advance(5000);
    expect(upstream.snapshot().attempts.abandoned).toBe(1);
    expect(table().loadEstimate[slot]).toBe(estimate);
    await upstream.close();
  });

  it("a slot that leaves and is reused starts again with no data", async () => {
    const resolver = new ManualResolver();
    const clock = new ManualClock();
    const l = lever();
    const upstream = createUpstream({ name: "api", resolver, clock, balancer: p2cPeakEwma(), plugins: [l.plugin] });
    resolver.push(["h0.test:80"]);
    const a = upstream.begin();
    clock.advance(300);
    upstream.end(a, { status: 200 });
    const slot = l.host("h0.test:80").slot;
    expect(l.table().loadEstimate[slot]).toBe(300);
    resolver.push([]);
    resolver.push(["h1.test:80"]);
    expect(l.host("h1.test:80").slot).toBe(slot);
    expect(l.table().loadEstimate[slot]).toBeNaN();
    expect(upstream.balancer.metric?.load(l.table(), slot)).toBe(30);
    await upstream.close();
  });
});

describe("peakEwma(): failures cost more (failurePenalty)", () => {
  it("a failure counts as penalty × max(its latency, the estimate now), at most max(decayMs, penalty × latency), never lower", async () => {
    const { upstream, clock, table, host } = setup(p2cPeakEwma(), ["h0.test"]);
    const slot = host("h0.test:80").slot;
    const t = table;
    // No estimate yet: a connection refused at once counts as 2 × the default RTT (30 ms).
    upstream.end(upstream.begin(), { failure: "connect", latencyMs: 0 });
    expect([t().loadEstimate[slot], t().loadStamp[slot]]).toEqual([60, 0]);
    upstream.end(upstream.begin(), { status: 200, latencyMs: 40 }); // a success ending at 40: 40 < 60, blended
    const w = Math.exp(-40 / 10_000);
    expect([t().loadEstimate[slot], t().loadStamp[slot]]).toEqual([60 * w + 40 * (1 - w), 40]);

    clock.advance(1000);
    const a = upstream.begin();
    clock.advance(10);
    upstream.end(a, { status: 503 }); // 10 ms, ending at 1,010: 2 × max(10, the estimate decayed by 970 ms)
    const known = (60 * w + 40 * (1 - w)) * Math.exp(-(1010 - 40) / 10_000);
    expect([t().loadEstimate[slot], t().loadStamp[slot]]).toEqual([2 * known, 1010]);
    expect(t().loadKey[slot]).toBe(Math.log(2 * known) + 1010 / 10_000);

    // Failures in a row double it each time, up to decayMs (10,000 ms) when that is above 2 × their latency.
    const seen: number[] = [];
    for (let k = 0; k < 9; k++) {
      upstream.end(upstream.begin(), { failure: "reset", latencyMs: 0 });
      seen.push(t().loadEstimate[slot] as number);
    }
    expect(known).toBeCloseTo(54.38, 2); // 2^7 × known = 6,961; 2^8 × known would be 13,921
    expect(seen).toEqual([...[4, 8, 16, 32, 64, 128].map((m) => m * known), 10_000, 10_000, 10_000]);
    // A timeout of 30 s counts as 60 s (2 × its latency is above decayMs).
    upstream.end(upstream.begin(), { failure: "timeout", latencyMs: 30_000 });
    expect(t().loadEstimate[slot]).toBe(60_000);
    // A fast failure never lowers it: 2 × max(0, 60,000) is capped at 10,000, but the estimate stays 60,000.
    upstream.end(upstream.begin(), { status: 500, latencyMs: 0 });
    expect(t().loadEstimate[slot]).toBe(60_000);
    // Neither a cancelled attempt nor a 4xx is a failure: it blends like any latency (w = 1 at the same time).
    upstream.end(upstream.begin(), { failure: "cancelled", latencyMs: 5 });
    upstream.end(upstream.begin(), { status: 429, latencyMs: 5 });
    expect(t().loadEstimate[slot]).toBe(60_000);
    await upstream.close();
  });

  it("failurePenalty 0: a failure's latency counts like any other (Finagle, tower); 1: a failure never lowers the estimate", async () => {
    const off = setup(p2cPeakEwma({ failurePenalty: 0 }), ["h0.test"]);
    const one = setup(p2cPeakEwma({ failurePenalty: 1 }), ["h0.test"]);
    for (const { upstream, clock } of [off, one]) {
      upstream.end(upstream.begin(), { status: 200, latencyMs: 100 });
      clock.advance(1000);
      upstream.end(upstream.begin(), { status: 503, latencyMs: 10 });
    }
    const w = Math.exp(-(1010 - 100) / 10_000); // from the first's end (100) to the second's (1,010)
    expect(off.table().loadEstimate[off.host("h0.test:80").slot]).toBe(100 * w + 10 * (1 - w));
    expect(one.table().loadEstimate[one.host("h0.test:80").slot]).toBe(100 * w); // max(10, 100 decayed) × 1
    await off.upstream.close();
    await one.upstream.close();
  });

  it("a backend that refuses connections at once: without the penalty it takes twice its share; with it, almost none", async () => {
    // 11 backends at normal(167 ms, 5 ms), 1,000 requests/s for 60 s; the first refuses every
    // connection at once from 15 s to 45 s. A refusal takes 0 ms: to a latency-only metric the
    // refusing backend looks like the fastest, the black hole of latency-based balancing.
    const run = (balancer: Balancer) =>
      simulate({
        seed: 1,
        durationMs: 60_000,
        ratePerSecond: 1000,
        arrivals: "fixed",
        timeoutMs: 1000,
        backends: Array.from({ length: 11 }, (_, i) => ({
          latency: normalLatency(167, 5),
          phases: i === 0 ? [outage(15_000, 45_000)] : [],
        })),
        upstream: { balancer },
      });
    const finagle = await run(p2cPeakEwma({ failurePenalty: 0 }));
    const penalized = await run(p2cPeakEwma());
    const rr = await run(roundRobin());
    // Round robin: its 1/11 of 30,000; Peak EWMA without the penalty: about 2/11 (it wins every pair it is in).
    expect([rr.failures, finagle.failures, penalized.failures]).toEqual([2727, 5337, 9]);
    const during = (r: { backends: readonly BackendReport[] }) =>
      (r.backends[0] as BackendReport).series.slice(15, 45).reduce((a, b) => a + b, 0);
    expect([during(rr), during(finagle), during(penalized)]).toEqual([2727, 5337, 9]);
    // After the outage the penalized backend is probed and its share grows back.
    expect((penalized.backends[0] as BackendReport).series.slice(45).reduce((a, b) => a + b, 0)).toBeGreaterThan(50);
  });
});

describe("p2cPeakEwma() picks", () => {
  it("compare estimate × (inFlight + 1): 10 ms with 3 in flight (40) loses to no data and nothing in flight (30)", () => {
    const f = fixture([1, 1], 17);
    const [a, b] = f.hosts.map((h) => h.slot) as [number, number];
    learn(f.table, a, 10, 0); // learned at 0, and the attempt time is 0: no decay
    setInFlight(f.table, a, 3);
    const picker = p2cPeakEwma().build(f.hosts, { ...context(17, f.table), downHosts: new Int32Array(1) });
    // Two hosts: every pick compares both (distinct choices), and 30 < 40.
    expect(pickIndexes(picker, f.endpoints, 100)).toEqual(new Array(100).fill(1));
    // 2 in flight: 30 against 30, a tie: the first drawn, ⌊x·2 / 2^31⌋ of the pick's one draw x.
    setInFlight(f.table, a, 2);
    expect(f.table.loadEstimate[b]).toBeNaN();
    const random = new PickerRandom(seededRandom(17));
    for (let k = 0; k < 100; k++) random.next31();
    const firsts = Array.from({ length: 100 }, () => Math.floor((random.next31() * 2) / 2 ** 31));
    expect(pickIndexes(picker, f.endpoints, 100)).toEqual(firsts);
    expect(new Set(firsts).size).toBe(2);
  });

  it("through an upstream: an endpoint 10× slower gets far fewer attempts than the fast ones", async () => {
    const run = async (balancer: Balancer) => {
      const { upstream, clock } = setup(balancer, ["fast1.test", "fast2.test", "slow.test"], { seed: 9 });
      const latency: Record<string, number> = { "fast1.test:80": 10, "fast2.test:80": 10, "slow.test:80": 100 };
      const counts: Record<string, number> = {};
      // One attempt every 2 ms for 6 s, each ended after its endpoint's latency.
      for (let ms = 0; ms < 6000; ms += 2) {
        const token = upstream.begin();
        const id = upstream.endpointOf(token)?.id as string;
        counts[id] = (counts[id] ?? 0) + 1;
        clock.setTimer(() => upstream.end(token, { status: 200 }), latency[id] as number);
        clock.advance(2);
      }
      clock.advance(100);
      await upstream.close();
      return counts;
    };
    const ewma = await run(p2cPeakEwma());
    const least = await run(leastRequest());
    const rr = await run(roundRobin());
    // Its first 2 attempts go out before any latency is known (default RTT 30 ms); once its
    // 100 ms is known it costs more than a fast endpoint with 9 in flight, and gets nothing
    // (within 6 s its estimate decays only to 100 × e^(-0.6) ≈ 55 ms, still above a fast one's cost).
    expect(ewma).toEqual({ "fast1.test:80": 1484, "fast2.test:80": 1514, "slow.test:80": 2 });
    // Least request sees only its 10× longer queue.
    expect(least).toEqual({ "fast1.test:80": 1380, "fast2.test:80": 1416, "slow.test:80": 204 });
    expect(rr).toEqual({ "fast1.test:80": 1000, "fast2.test:80": 1000, "slow.test:80": 1000 });
  });

  it("a user's own metric plugs in the same way: its update() sees every ended attempt's latency", async () => {
    const seen: number[] = [];
    // Slowest latency ever seen, a metric of one's own (state in loadEstimate).
    const worst: LoadMetric = {
      name: "worst-latency",
      load: (table: EndpointTable, slot) => {
        const w = table.loadEstimate[slot] as number;
        return Number.isNaN(w) ? 0 : w;
      },
      update: (table, slot) => {
        const latency = table.lastLatencyMs[slot] as number;
        seen.push(latency);
        const w = table.loadEstimate[slot] as number;
        if (Number.isNaN(w) || latency > w) table.loadEstimate[slot] = latency;
      },
    };
    const { upstream, clock } = setup(p2c(worst), ["a.test", "b.test"]);
    const one = upstream.begin();
    clock.advance(7);
    upstream.end(one, { status: 200 });
    upstream.end(upstream.begin(), { status: 200, latencyMs: 3 });
    expect(seen).toEqual([7, 3]);
    expect(upstream.snapshot().balancer).toBe("p2c:worst-latency");
    await upstream.close();
  });
});
