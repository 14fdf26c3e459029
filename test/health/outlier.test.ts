import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type {
  Outcome,
  OutlierDetectionOptions,
  OutlierDetectionState,
  OutlierEndpointState,
  Random,
} from "../../src/index.js";
import { createUpstream, InvalidConfigError, outlierDetection, roundRobin } from "../../src/index.js";
import { ManualClock, ManualResolver, seededRandom } from "../../src/testing/index.js";
import { expectConfigErrors } from "../helpers/config-errors.js";
import { thrown } from "../helpers/errors.js";

const FIVE = ["a:1", "b:1", "c:1", "d:1", "e:1"];

/**
 * An upstream with outlier detection over `endpoints`, a manual clock and a
 * scripted random: `draws` holds the values the next draws return (then a
 * seeded stream), and `drawn` counts the draws made while a script is set.
 */
function setup(options: OutlierDetectionOptions = {}, endpoints = FIVE) {
  const resolver = new ManualResolver();
  const clock = new ManualClock();
  const seeded = seededRandom(5);
  const draws: number[] = [];
  let drawn = 0;
  const random: Random = {
    next: () => {
      const v = draws.shift();
      if (v === undefined) return seeded.next();
      drawn++;
      return v;
    },
  };
  const outlier = outlierDetection(options);
  const upstream = createUpstream({
    name: "api",
    resolver,
    clock,
    random,
    balancer: roundRobin(),
    plugins: [outlier],
    attemptTimeoutMs: Number.POSITIVE_INFINITY,
  });
  resolver.push(endpoints);
  const report = (id: string, outcome: Outcome, times = 1) => {
    const e = upstream.endpoints.find((x) => x.id === id);
    if (e === undefined) throw new Error(`no endpoint ${id}`);
    for (let i = 0; i < times; i++) upstream.report(e, outcome);
  };
  const view = (id: string) => upstream.snapshot().endpoints.find((e) => e.endpoint.id === id);
  const state = (id: string) => view(id)?.plugins["outlier-detection"] as OutlierEndpointState | undefined;
  const ejected = () =>
    upstream
      .snapshot()
      .endpoints.filter((e) => e.ejections.includes("outlier-detection"))
      .map((e) => e.endpoint.id);
  return { resolver, clock, upstream, outlier, report, view, state, ejected, draws, drawn: () => drawn };
}

const OK: Outcome = { status: 200 };
const E500: Outcome = { status: 500 };

describe("outlierDetection(): consecutive detectors", () => {
  it("consecutive 5xx (default 5): four do not eject, the fifth does; any other answer starts the count again", () => {
    const { report, state, view, outlier } = setup();
    report("a:1", E500, 4);
    expect(state("a:1")).toMatchObject({ ejected: false, consecutive5xx: 4 });
    report("a:1", { status: 404 });
    report("a:1", E500, 4);
    report("a:1", {}); // an answer without a status
    report("a:1", { status: 599 }, 4);
    expect(state("a:1")).toMatchObject({ ejected: false, consecutive5xx: 4 });
    report("a:1", { status: 501 });
    expect(state("a:1")).toEqual({
      ejected: true,
      ejectedBy: "consecutive-5xx",
      ejectedAt: 0,
      until: 30_000,
      timesEjected: 1,
      multiplier: 1,
      consecutive5xx: 0,
      consecutiveGatewayFailure: 0,
      consecutiveLocalOriginFailure: 0,
    });
    expect(view("a:1")).toMatchObject({ health: "UNHEALTHY", ejections: ["outlier-detection"] });
    expect(outlier.describe()).toMatchObject({
      hosts: 5,
      ejected: 1,
      detected: { "consecutive-5xx": 1 },
      enforced: { "consecutive-5xx": 1 },
    });
  });

  it("unless split, connect and reset count as 503 and timeout as 504: 5xx and gateway failures both", () => {
    const { report, state } = setup({ enforcingConsecutiveGatewayFailure: 100 });
    report("a:1", { failure: "connect" });
    report("a:1", { failure: "reset" });
    report("a:1", { failure: "timeout" });
    report("a:1", { failure: "cancelled" }); // nothing
    report("a:1", { failure: "abandoned" }); // nothing
    expect(state("a:1")).toMatchObject({
      consecutive5xx: 3,
      consecutiveGatewayFailure: 3,
      consecutiveLocalOriginFailure: 0,
    });
    report("a:1", { status: 502 });
    report("a:1", { status: 504 });
    // Both reach 5 on the same outcome: Envoy reports the gateway failure first, and it ejects.
    expect(state("a:1")).toMatchObject({ ejected: true, ejectedBy: "consecutive-gateway-failure" });
  });

  it("consecutive gateway failure: 502, 503, 504 count; another 5xx clears it; enforcing 0% by default (detected, not ejected)", () => {
    const { report, state, outlier } = setup({ consecutive5xx: 0 });
    report("a:1", { status: 503 }, 4);
    report("a:1", E500);
    expect(state("a:1")).toMatchObject({ consecutiveGatewayFailure: 0, consecutive5xx: 5 }); // 5xx is off (0)
    report("a:1", { status: 502 }, 5);
    expect(state("a:1")).toMatchObject({ ejected: false, consecutiveGatewayFailure: 0 }); // detected, count restarted
    expect(outlier.describe()).toMatchObject({
      ejected: 0,
      detected: { "consecutive-gateway-failure": 1, "consecutive-5xx": 0 },
      enforced: { "consecutive-gateway-failure": 0 },
    });
  });

  it("split: connect, reset, timeout are local-origin failures only; any answer clears them and counts by its status", () => {
    const { report, state, outlier } = setup({
      splitExternalLocalOriginErrors: true,
      consecutiveLocalOriginFailure: 3,
    });
    report("a:1", { failure: "connect" });
    report("a:1", { failure: "timeout" });
    expect(state("a:1")).toMatchObject({
      consecutive5xx: 0,
      consecutiveGatewayFailure: 0,
      consecutiveLocalOriginFailure: 2,
    });
    report("a:1", { status: 503 });
    expect(state("a:1")).toMatchObject({
      consecutive5xx: 1,
      consecutiveGatewayFailure: 1,
      consecutiveLocalOriginFailure: 0,
    });
    report("a:1", { failure: "reset" }, 3);
    expect(state("a:1")).toMatchObject({ ejected: true, ejectedBy: "consecutive-local-origin-failure" });
    expect(outlier.describe().enforced["consecutive-local-origin-failure"]).toBe(1);
    // Not split: the local-origin detector never counts.
    const plain = setup({ consecutiveLocalOriginFailure: 1 });
    plain.report("a:1", { failure: "connect" }, 3);
    expect(plain.state("a:1")).toMatchObject({ ejected: false, consecutiveLocalOriginFailure: 0, consecutive5xx: 3 });
  });

  it("a count goes on while ejected without ejecting again, and starts from 0 when the endpoint returns", () => {
    const { report, state, clock, outlier } = setup({ consecutive5xx: 2, baseEjectionTimeMs: 10_000 });
    report("a:1", E500, 2);
    report("a:1", E500, 5); // attempts still ending, or picks in panic
    expect(state("a:1")).toMatchObject({ ejected: true, consecutive5xx: 5 });
    expect(outlier.describe().detected["consecutive-5xx"]).toBe(1);
    clock.advance(10_000);
    expect(state("a:1")).toMatchObject({ ejected: false, consecutive5xx: 0 });
    report("a:1", E500);
    expect(state("a:1")?.ejected).toBe(false);
    report("a:1", E500);
    expect(state("a:1")?.ejected).toBe(true);
  });
});

describe("outlierDetection(): ejection time", () => {
  it("returns at the first sweep once base × multiplier is up; the multiplier grows per ejection, is capped, and decays one per healthy sweep", () => {
    const { report, state, clock } = setup({
      consecutive5xx: 1,
      intervalMs: 1000,
      baseEjectionTimeMs: 1000,
      maxEjectionTimeMs: 3000,
    });
    const returns: number[] = [];
    const multipliers: number[] = [];
    for (let k = 0; k < 5; k++) {
      report("a:1", E500); // ejected at once on return
      multipliers.push(state("a:1")?.multiplier as number);
      while (state("a:1")?.ejected) clock.advance(1000);
      returns.push(clock.now());
    }
    // Ejected at 0 for 1 s, then at 1 s for 2 s, at 3 s for 3 s, at 6 s and at 9 s for 3 s (the cap).
    expect(returns).toEqual([1000, 3000, 6000, 9000, 12_000]);
    // Envoy's bound: the multiplier stops once base × multiplier reaches max + base.
    expect(multipliers).toEqual([1, 2, 3, 4, 4]);
    const decay: number[] = [];
    for (let k = 0; k < 5; k++) {
      clock.advance(1000);
      decay.push(state("a:1")?.multiplier as number);
    }
    expect(decay).toEqual([3, 2, 1, 0, 0]);
    report("a:1", E500);
    expect(state("a:1")).toMatchObject({ multiplier: 1, until: 17_000 + 1000, timesEjected: 6 });
  });

  it("an ejection mid-interval lasts until the first sweep after its time is up", () => {
    const { report, state, clock } = setup({ consecutive5xx: 1, intervalMs: 1000, baseEjectionTimeMs: 1000 });
    clock.advance(3500);
    report("a:1", E500);
    expect(state("a:1")).toMatchObject({ ejectedAt: 3500, until: 4500 });
    clock.advance(500);
    expect(state("a:1")?.ejected).toBe(true); // the sweep at 4000: 500 ms in
    clock.advance(999);
    expect(state("a:1")?.ejected).toBe(true);
    clock.advance(1); // the sweep at 5000
    expect(state("a:1")?.ejected).toBe(false);
  });

  it("jitter: a draw of 0..maxEjectionTimeJitterMs ms is added to each ejection", () => {
    const { report, state, draws, drawn } = setup({ consecutive5xx: 1, maxEjectionTimeJitterMs: 500 });
    draws.push(0.5);
    report("a:1", E500);
    expect(drawn()).toBe(1);
    expect(state("a:1")?.until).toBe(30_000 + 250); // floor(0.5 × 501)
  });
});

describe("outlierDetection(): max ejection percent and enforcement", () => {
  it("never more than maxEjectionPercent ejected: the next outlier is an overflow, and its count restarts", () => {
    const ids = Array.from({ length: 20 }, (_, i) => `h${i}:1`);
    const { report, state, outlier, ejected } = setup({ consecutive5xx: 1 }, ids);
    report("h3:1", E500);
    report("h7:1", E500);
    report("h9:1", E500); // 3 of 20 is over 10%
    expect(ejected()).toEqual(["h3:1", "h7:1"]);
    expect(state("h9:1")).toMatchObject({ ejected: false, consecutive5xx: 0, timesEjected: 0 });
    expect(outlier.describe()).toMatchObject({ ejected: 2, overflow: 1, detected: { "consecutive-5xx": 3 } });
  });

  it("one endpoint is always ejectable (alwaysEjectOneHost, default true); false follows the percentage alone", () => {
    const on = setup({ consecutive5xx: 1 }, ["a:1", "b:1", "c:1"]);
    on.report("a:1", E500);
    on.report("b:1", E500);
    expect(on.ejected()).toEqual(["a:1"]); // 1 of 3 is over 10%, but none was ejected
    expect(on.outlier.describe()).toMatchObject({ ejected: 1, overflow: 1 });
    const zero = setup({ consecutive5xx: 1, maxEjectionPercent: 0 }, ["a:1", "b:1"]);
    zero.report("b:1", E500);
    expect(zero.ejected()).toEqual(["b:1"]);
    const off = setup({ consecutive5xx: 1, alwaysEjectOneHost: false }, ["a:1", "b:1", "c:1"]);
    off.report("a:1", E500);
    expect(off.ejected()).toEqual([]);
    expect(off.outlier.describe()).toMatchObject({ ejected: 0, overflow: 1 });
  });

  it("enforcing percentages are drawn with the upstream's Random (ejected when draw × 100 < percent); 0 and 100 draw nothing", () => {
    const { report, draws, drawn, outlier, ejected, clock } = setup(
      { consecutive5xx: 1, enforcingConsecutive5xx: 40, maxEjectionPercent: 100, baseEjectionTimeMs: 1000 },
      ["a:1", "b:1", "c:1"],
    );
    draws.push(0.4, 0.399, 0.9);
    report("a:1", E500); // 40 < 40: no
    report("b:1", E500); // 39.9 < 40: ejected
    report("c:1", E500); // no
    expect(drawn()).toBe(3);
    expect(ejected()).toEqual(["b:1"]);
    expect(outlier.describe()).toMatchObject({
      detected: { "consecutive-5xx": 3 },
      enforced: { "consecutive-5xx": 1 },
    });
    clock.advance(10_000);
    const always = setup({ consecutive5xx: 1, enforcingSuccessRate: 0 });
    always.draws.push(0.99);
    always.report("a:1", E500); // enforcing 100: no draw
    expect(always.drawn()).toBe(0);
    expect(always.ejected()).toEqual(["a:1"]);
  });

  it("over many outliers, the share ejected follows the enforcing percentage (seeded)", () => {
    const { report, outlier, clock } = setup({
      consecutive5xx: 1,
      enforcingConsecutive5xx: 30,
      intervalMs: 1000,
      baseEjectionTimeMs: 1000,
      maxEjectionPercent: 100,
    });
    for (let k = 0; k < 2000; k++) {
      report(FIVE[k % 5] as string, E500);
      if (k % 5 === 4) clock.advance(2000); // every ejected one returns
    }
    const { detected, enforced } = outlier.describe();
    expect(detected["consecutive-5xx"]).toBe(2000);
    // Binomial(2000, 0.3): mean 600, sd ~20.5; 4 sd either side.
    expect(enforced["consecutive-5xx"]).toBeGreaterThan(518);
    expect(enforced["consecutive-5xx"]).toBeLessThan(682);
  });
});

/** Reports `requests` outcomes on `id` in one interval, `failures` of them 500s. */
function traffic(report: (id: string, o: Outcome, n?: number) => void, id: string, requests: number, failures: number) {
  report(id, E500, failures); // never 5 in a row matters: consecutive 5xx is off in these tests
  report(id, OK, requests - failures);
}

describe("outlierDetection(): success rate and failure percentage", () => {
  it("success rate: Envoy's example, rates 50, 100, 100, 100, 100: mean 90, stdev 20, threshold 52; the 50% endpoint is ejected at the sweep", () => {
    const { report, state, outlier, clock } = setup({ consecutive5xx: 0 });
    traffic(report, "a:1", 100, 50);
    for (const id of ["b:1", "c:1", "d:1", "e:1"]) traffic(report, id, 100, 0);
    expect(state("a:1")?.ejected).toBe(false); // nothing until the sweep
    clock.advance(10_000);
    expect(state("a:1")).toMatchObject({
      ejected: true,
      ejectedBy: "success-rate",
      ejectedAt: 10_000,
      successRate: 50,
    });
    expect(state("b:1")).toMatchObject({ ejected: false, successRate: 100 });
    const d: OutlierDetectionState = outlier.describe();
    expect(d.successRate?.mean).toBeCloseTo(90, 12);
    expect(d.successRate?.threshold).toBeCloseTo(52, 12);
    expect(d.enforced["success-rate"]).toBe(1);
  });

  it("success rate needs successRateMinimumHosts endpoints with successRateRequestVolume requests each, in one interval", () => {
    const few = setup({ consecutive5xx: 0 });
    traffic(few.report, "a:1", 100, 50);
    for (const id of ["b:1", "c:1", "d:1"]) traffic(few.report, id, 100, 0);
    traffic(few.report, "e:1", 99, 0); // one short
    few.clock.advance(10_000);
    expect(few.ejected()).toEqual([]);
    expect(few.outlier.describe().successRate).toBeUndefined();
    expect(few.state("e:1")?.successRate).toBe(100); // enough for failure percentage's 50: shown
    // Counts start again each interval: half the volume in each of two intervals is not enough.
    const split = setup({ consecutive5xx: 0 });
    traffic(split.report, "a:1", 50, 25);
    for (const id of ["b:1", "c:1", "d:1", "e:1"]) traffic(split.report, id, 50, 0);
    split.clock.advance(10_000);
    traffic(split.report, "a:1", 50, 25);
    for (const id of ["b:1", "c:1", "d:1", "e:1"]) traffic(split.report, id, 50, 0);
    split.clock.advance(10_000);
    expect(split.ejected()).toEqual([]);
    // Fewer minimum hosts and volume: it runs. (With 3 endpoints no rate is more than √2 stdevs below the mean: factor 1.)
    const low = setup(
      { consecutive5xx: 0, successRateMinimumHosts: 3, successRateRequestVolume: 10, successRateStdevFactor: 1 },
      ["a:1", "b:1", "c:1"],
    );
    traffic(low.report, "a:1", 10, 9);
    traffic(low.report, "b:1", 10, 0);
    traffic(low.report, "c:1", 10, 0);
    low.clock.advance(10_000);
    expect(low.ejected()).toEqual(["a:1"]);
  });

  it("success rate: equal rates eject nothing; when the cap binds, the worst outlier goes first", () => {
    const ids = Array.from({ length: 10 }, (_, i) => `h${i}:1`);
    const { report, clock, ejected, outlier } = setup({ consecutive5xx: 0, successRateStdevFactor: 0.5 }, ids);
    for (const id of ids) traffic(report, id, 100, 10);
    clock.advance(10_000);
    expect(ejected()).toEqual([]);
    traffic(report, "h2:1", 100, 40);
    traffic(report, "h5:1", 100, 60);
    for (const id of ids.filter((x) => x !== "h2:1" && x !== "h5:1")) traffic(report, id, 100, 0);
    clock.advance(10_000);
    expect(ejected()).toEqual(["h5:1"]); // 10% of 10: one; h5 (40%) is worse than h2 (60%)
    expect(outlier.describe()).toMatchObject({ overflow: 1, detected: { "success-rate": 2 } });
  });

  it("failure percentage (enforcing 0 by default): at or above the threshold, with its own minimums", () => {
    const off = setup({ consecutive5xx: 0 });
    for (const id of FIVE) traffic(off.report, id, 60, id === "a:1" ? 60 : 0);
    off.clock.advance(10_000);
    expect(off.ejected()).toEqual([]);
    expect(off.outlier.describe().detected["failure-percentage"]).toBe(1);

    const on = setup({ consecutive5xx: 0, enforcingFailurePercentage: 100, maxEjectionPercent: 100 });
    traffic(on.report, "a:1", 60, 51); // 85%: at the threshold, out
    traffic(on.report, "b:1", 60, 50); // 83.3%: in
    traffic(on.report, "c:1", 50, 50); // 100% with exactly the volume: out
    traffic(on.report, "d:1", 49, 49); // too few requests
    traffic(on.report, "e:1", 60, 0);
    on.clock.advance(10_000);
    expect(on.ejected()).toEqual([]); // only 4 endpoints had the volume: minimum hosts 5
    for (const id of FIVE) traffic(on.report, id, 60, id === "a:1" ? 51 : id === "b:1" ? 50 : id === "c:1" ? 60 : 0);
    on.clock.advance(10_000);
    expect(on.ejected()).toEqual(["a:1", "c:1"]);
    expect(on.state("c:1")).toMatchObject({ ejectedBy: "failure-percentage", successRate: 0 });
  });

  it("an ejected endpoint is left out of the sweeps", () => {
    const { report, clock, state, outlier } = setup({ consecutive5xx: 3, successRateMinimumHosts: 4 });
    report("a:1", E500, 3);
    traffic(report, "a:1", 100, 100); // while ejected: not in the sweep
    for (const id of ["b:1", "c:1", "d:1", "e:1"]) traffic(report, id, 100, 0);
    clock.advance(10_000);
    expect(outlier.describe().successRate).toEqual({ mean: 100, threshold: 100 });
    expect(state("a:1")).toMatchObject({ ejectedBy: "consecutive-5xx" });
    expect(state("a:1")?.successRate).toBeUndefined();
  });

  it("split: success rate and failure percentage run on the connections' record too (local origin)", () => {
    const { report, clock, ejected, state, outlier } = setup({
      consecutive5xx: 0,
      splitExternalLocalOriginErrors: true,
      consecutiveLocalOriginFailure: 0,
      enforcingFailurePercentageLocalOrigin: 100,
    });
    report("a:1", { failure: "connect" }, 60);
    for (const id of ["b:1", "c:1", "d:1", "e:1"]) report(id, { status: 503 }, 60); // answers: local successes
    clock.advance(10_000);
    expect(ejected()).toEqual(["a:1"]);
    expect(state("a:1")).toMatchObject({ ejectedBy: "failure-percentage-local-origin", localOriginSuccessRate: 0 });
    expect(state("b:1")).toMatchObject({ successRate: 0, localOriginSuccessRate: 100 });
    // Split, a's refusals are not answers: only four endpoints answered, below failure percentage's minimum of 5.
    expect(outlier.describe()).toMatchObject({
      detected: { "failure-percentage": 0, "failure-percentage-local-origin": 1 },
    });
    expect(outlier.describe().localOriginSuccessRate).toBeUndefined(); // 60 requests: below success rate's 100
  });
});

describe("outlierDetection() and the endpoint set", () => {
  it("state survives resolver updates for endpoints that stay; one that leaves and comes back starts fresh; the ejected count follows", () => {
    const { resolver, report, clock, state, outlier } = setup({ consecutive5xx: 2, maxEjectionPercent: 100 });
    report("a:1", E500, 2);
    report("b:1", E500);
    resolver.push([{ host: "a", port: 1, weight: 7 }, "b:1", "c:1", "d:1", "e:1", "f:1"]);
    expect(state("a:1")).toMatchObject({ ejected: true, ejectedAt: 0, timesEjected: 1 });
    expect(state("b:1")).toMatchObject({ consecutive5xx: 1 });
    expect(outlier.describe()).toMatchObject({ hosts: 6, ejected: 1 });
    resolver.push(["b:1", "c:1", "d:1", "e:1", "f:1"]);
    expect(outlier.describe()).toMatchObject({ hosts: 5, ejected: 0 });
    clock.advance(1000);
    resolver.push(FIVE);
    expect(state("a:1")).toEqual({
      ejected: false,
      timesEjected: 0,
      multiplier: 0,
      consecutive5xx: 0,
      consecutiveGatewayFailure: 0,
      consecutiveLocalOriginFailure: 0,
    });
    expect(outlier.describe()).toMatchObject({ hosts: 5, ejected: 0 });
  });

  it("one timer, the sweep, from attach to close(); none after", async () => {
    const { clock, upstream, report } = setup({ consecutive5xx: 1 });
    expect(clock.pendingTimers).toBe(1);
    report("a:1", E500);
    clock.advance(45_000);
    expect(clock.pendingTimers).toBe(1);
    await upstream.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it("describe() is plain data with every detector counted", () => {
    const { outlier, upstream } = setup();
    const expected: OutlierDetectionState = {
      hosts: 5,
      ejected: 0,
      detected: {
        "consecutive-5xx": 0,
        "consecutive-gateway-failure": 0,
        "consecutive-local-origin-failure": 0,
        "success-rate": 0,
        "success-rate-local-origin": 0,
        "failure-percentage": 0,
        "failure-percentage-local-origin": 0,
      },
      enforced: {
        "consecutive-5xx": 0,
        "consecutive-gateway-failure": 0,
        "consecutive-local-origin-failure": 0,
        "success-rate": 0,
        "success-rate-local-origin": 0,
        "failure-percentage": 0,
        "failure-percentage-local-origin": 0,
      },
      overflow: 0,
    };
    expect(outlier.describe()).toEqual(expected);
    expect(JSON.parse(JSON.stringify(upstream.snapshot().plugins["outlier-detection"]))).toEqual(expected);
  });

  it("a plug-in serves one upstream", () => {
    const outlier = outlierDetection();
    createUpstream({ name: "one", resolver: new ManualResolver(), plugins: [outlier], clock: new ManualClock() });
    const e = thrown(() => createUpstream({ name: "two", resolver: new ManualResolver(), plugins: [outlier] }));
    expect(e).toBeInstanceOf(InvalidConfigError);
  });

  it("bad options throw InvalidConfigError naming the option", () => {
    expectConfigErrors(outlierDetection as (o: unknown) => unknown, [
      ["x", "options"],
      [{ name: 3 }, "name"],
      [{ intervalMs: 0 }, "intervalMs"],
      [{ intervalMs: -5 }, "intervalMs"],
      [{ baseEjectionTimeMs: 0 }, "baseEjectionTimeMs"],
      [{ baseEjectionTimeMs: 60_000, maxEjectionTimeMs: 30_000 }, "maxEjectionTimeMs"],
      [{ maxEjectionTimeJitterMs: Number.POSITIVE_INFINITY }, "maxEjectionTimeJitterMs"],
      [{ maxEjectionPercent: 101 }, "maxEjectionPercent"],
      [{ alwaysEjectOneHost: 1 }, "alwaysEjectOneHost"],
      [{ consecutive5xx: 2.5 }, "consecutive5xx"],
      [{ consecutiveGatewayFailure: -1 }, "consecutiveGatewayFailure"],
      [{ consecutiveLocalOriginFailure: "5" }, "consecutiveLocalOriginFailure"],
      [{ splitExternalLocalOriginErrors: "yes" }, "splitExternalLocalOriginErrors"],
      [{ enforcingConsecutive5xx: -1 }, "enforcingConsecutive5xx"],
      [{ enforcingConsecutiveGatewayFailure: Number.NaN }, "enforcingConsecutiveGatewayFailure"],
      [{ enforcingConsecutiveLocalOriginFailure: 200 }, "enforcingConsecutiveLocalOriginFailure"],
      [{ enforcingSuccessRate: "100" }, "enforcingSuccessRate"],
      [{ enforcingLocalOriginSuccessRate: 100.5 }, "enforcingLocalOriginSuccessRate"],
      [{ enforcingFailurePercentage: null }, "enforcingFailurePercentage"],
      [{ enforcingFailurePercentageLocalOrigin: -0.1 }, "enforcingFailurePercentageLocalOrigin"],
      [{ successRateMinimumHosts: -1 }, "successRateMinimumHosts"],
      [{ successRateRequestVolume: 1.5 }, "successRateRequestVolume"],
      [{ successRateStdevFactor: -1 }, "successRateStdevFactor"],
      [{ successRateStdevFactor: Number.POSITIVE_INFINITY }, "successRateStdevFactor"],
      // Envoy's field names and unknown keys are not ignored in silence.
      [{ base_ejection_time: 30_000 }, "base_ejection_time"],
      [{ consecutive_5xx: 5 }, "consecutive_5xx"],
      [{ interval: 10_000 }, "interval"],
      [{ failurePercentageThreshold: 120 }, "failurePercentageThreshold"],
      [{ failurePercentageMinimumHosts: "5" }, "failurePercentageMinimumHosts"],
      [{ failurePercentageRequestVolume: -50 }, "failurePercentageRequestVolume"],
    ]);
    expect(thrown(() => outlierDetection({ base_ejection_time: 30_000 } as never)).message).toBe(
      "base_ejection_time: is not an option of outlierDetection(): did you mean baseEjectionTimeMs (milliseconds)?",
    );
    expect(thrown(() => outlierDetection({ consecutive_5xx: 5 } as never)).message).toBe(
      "consecutive_5xx: is not an option of outlierDetection(): did you mean consecutive5xx?",
    );
  });
});

describe("outlierDetection(): properties", () => {
  it("maxEjectionPercent is never exceeded, and with alwaysEjectOneHost an outlier is ejected when none is", () => {
    const step = fc.oneof(
      fc.record({ host: fc.nat(39), kind: fc.constantFrom("500", "503", "connect", "200", "404") }),
      fc.integer({ min: 1, max: 15_000 }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 100 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 3 }),
        fc.array(step, { maxLength: 300 }),
        (n, percent, alwaysOne, threshold, steps) => {
          const ids = Array.from({ length: n }, (_, i) => `h${i}:1`);
          const { report, clock, outlier, ejected } = setup(
            {
              consecutive5xx: threshold,
              consecutiveGatewayFailure: threshold,
              enforcingConsecutiveGatewayFailure: 100,
              maxEjectionPercent: percent,
              alwaysEjectOneHost: alwaysOne,
              successRateMinimumHosts: 2,
              successRateRequestVolume: 3,
              enforcingFailurePercentage: 100,
              failurePercentageMinimumHosts: 2,
              failurePercentageRequestVolume: 3,
              intervalMs: 5000,
              baseEjectionTimeMs: 7000,
            },
            ids,
          );
          const bound = Math.max(Math.floor((percent * n) / 100), alwaysOne ? 1 : 0);
          for (const s of steps) {
            const before = outlier.describe();
            if (typeof s === "number") clock.advance(s);
            else {
              const outcome: Outcome = s.kind === "connect" ? { failure: "connect" } : { status: Number(s.kind) };
              report(ids[s.host % n] as string, outcome);
            }
            const after = outlier.describe();
            const out = ejected();
            expect(out.length).toBe(after.ejected);
            expect(after.ejected).toBeLessThanOrEqual(bound);
            const detectedNow =
              after.detected["consecutive-5xx"] + after.detected["consecutive-gateway-failure"] >
              before.detected["consecutive-5xx"] + before.detected["consecutive-gateway-failure"];
            if (alwaysOne && before.ejected === 0 && detectedNow) expect(after.ejected).toBeGreaterThanOrEqual(1);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
