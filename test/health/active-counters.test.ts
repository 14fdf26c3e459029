import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ActiveHealthChecks } from "../../src/health/active/checker.js";
import { activeConfig } from "../../src/health/active/options.js";
import type { ProbeOutcome } from "../../src/health/active/probe.js";
import type { ActiveEndpointHealth, ActiveHealthChecksOptions } from "../../src/index.js";
import { createUpstream } from "../../src/index.js";
import { ManualClock, ManualResolver, seededRandom } from "../../src/testing/index.js";
import { FakeProber } from "../helpers/fake-prober.js";

type Kind = "success" | "http" | "tcp" | "timeout";
type Limits = Record<Kind, number>;

/**
 * Kong's counter rules, written from lua-resty-healthcheck's `incr_counter`
 * (four internal states; a report whose limit is 0 does nothing; a success
 * while fully healthy or a failure while fully unhealthy does nothing; a
 * success clears the failure counters, a failure the success counter;
 * reaching the limit sets the state).
 */
function kongModel(limits: Limits) {
  let health = "healthy";
  const ctr: Record<Kind, number> = { success: 0, http: 0, tcp: 0, timeout: 0 };
  return {
    report(kind: Kind | undefined): void {
      if (kind === undefined || limits[kind] === 0) return;
      if (kind === "success" ? health === "healthy" : health === "unhealthy") return;
      ctr[kind] = Math.min(255, ctr[kind] + 1);
      if (kind === "success") ctr.http = ctr.tcp = ctr.timeout = 0;
      else ctr.success = 0;
      if (ctr[kind] >= limits[kind]) health = kind === "success" ? "healthy" : "unhealthy";
      else if (health === "healthy" && ctr.http + ctr.tcp + ctr.timeout > 0) health = "mostly_healthy";
      else if (health === "unhealthy" && ctr.success > 0) health = "mostly_unhealthy";
    },
    view(): Omit<ActiveEndpointHealth, "since" | "lastProbe"> {
      return {
        state: health === "healthy" || health === "mostly_healthy" ? "healthy" : "unhealthy",
        successes: ctr.success,
        httpFailures: ctr.http,
        tcpFailures: ctr.tcp,
        timeouts: ctr.timeout,
      };
    },
  };
}

/** Probe results a sequence draws from, with the counter Kong sends each to (default status lists). */
const RESULTS: readonly [ProbeOutcome, Kind | undefined][] = [
  [{ status: 200 }, "success"],
  [{ status: 302 }, "success"],
  [{ status: 500 }, "http"],
  [{ status: 429 }, "http"],
  [{ status: 418 }, undefined], // in neither list: ignored
  [{ status: 201 }, undefined],
  [{ failure: "http", error: "HPE_INVALID_CONSTANT" }, "http"],
  [{ failure: "tcp", error: "ECONNREFUSED" }, "tcp"],
  [{ failure: "timeout", error: "no answer" }, "timeout"],
];

function run(limits: Limits, sequence: readonly number[]) {
  const resolver = new ManualResolver();
  const clock = new ManualClock();
  const fake = new FakeProber();
  const changes: string[] = [];
  const options: ActiveHealthChecksOptions = {
    jitter: 0,
    healthy: { intervalMs: 100, successes: limits.success },
    unhealthy: { intervalMs: 100, httpFailures: limits.http, tcpFailures: limits.tcp, timeouts: limits.timeout },
    onHealthChange: (_e, c) => changes.push(`${c.from}>${c.to}`),
  };
  const checks = new ActiveHealthChecks(activeConfig(options), fake.prober);
  const upstream = createUpstream({ name: "api", resolver, clock, random: seededRandom(1), plugins: [checks] });
  resolver.push(["a:1"]);
  const model = kongModel(limits);
  let flips = 0;
  let last = "healthy";
  for (const [i, pick] of sequence.entries()) {
    clock.advance(i === 0 ? 0 : 100);
    const [outcome, kind] = RESULTS[pick] as [ProbeOutcome, Kind | undefined];
    fake.answer("a:1", outcome);
    model.report(kind);
    const expected = model.view();
    const seen = upstream.snapshot().endpoints[0];
    const view = seen?.plugins["active-health"] as ActiveEndpointHealth;
    expect({ ...view, since: undefined, lastProbe: undefined }).toEqual({
      ...expected,
      since: undefined,
      lastProbe: undefined,
    });
    expect(view.lastProbe).toEqual({ ...outcome, atMs: clock.now() });
    expect(seen?.ejections).toEqual(expected.state === "unhealthy" ? ["active-health"] : []);
    if (expected.state !== last) {
      flips++;
      last = expected.state;
      expect(view.since).toBe(clock.now());
    }
    // Counters never pass their thresholds (so never 255): counting stops once the state is reached.
    expect(view.successes).toBeLessThanOrEqual(Math.max(limits.success, 0));
    expect(view.httpFailures).toBeLessThanOrEqual(limits.http);
    expect(view.tcpFailures).toBeLessThanOrEqual(limits.tcp);
    expect(view.timeouts).toBeLessThanOrEqual(limits.timeout);
  }
  expect(changes).toHaveLength(flips);
  expect(changes).toEqual(changes.map((_, i) => (i % 2 === 0 ? "healthy>unhealthy" : "unhealthy>healthy")));
}

describe("activeHealthChecks(): Kong's counter rules", () => {
  it("property: any sequence of probe results gives Kong's counters, states and ejections", () => {
    const limit = fc.integer({ min: 0, max: 4 });
    fc.assert(
      fc.property(
        fc.record({ success: limit, http: limit, tcp: limit, timeout: limit }),
        fc.array(fc.integer({ min: 0, max: RESULTS.length - 1 }), { minLength: 1, maxLength: 60 }),
        (limits, sequence) => run(limits, sequence),
      ),
      { numRuns: 300 },
    );
  });

  it("exact sequence: 3 HTTP failures eject; a success clears them; a failure clears the successes; 2 successes let it back", () => {
    const resolver = new ManualResolver();
    const clock = new ManualClock();
    const fake = new FakeProber();
    const checks = new ActiveHealthChecks(
      activeConfig({
        jitter: 0,
        healthy: { intervalMs: 100, successes: 2 },
        unhealthy: { intervalMs: 100, httpFailures: 3 },
      }),
      fake.prober,
    );
    const upstream = createUpstream({ name: "api", resolver, clock, plugins: [checks] });
    resolver.push(["a:1"]);
    // status → [state, successes, httpFailures] after it
    const steps: [number, string, number, number][] = [
      [200, "healthy", 0, 0], // fully healthy: a success is not counted
      [500, "healthy", 0, 1],
      [500, "healthy", 0, 2],
      [200, "healthy", 1, 0], // a success clears the failures
      [500, "healthy", 0, 1], // a failure clears the successes
      [500, "healthy", 0, 2],
      [500, "unhealthy", 0, 3], // the third in a row: ejected
      [500, "unhealthy", 0, 3], // fully unhealthy: a failure is not counted
      [200, "unhealthy", 1, 0],
      [500, "unhealthy", 0, 1],
      [200, "unhealthy", 1, 0],
      [200, "healthy", 2, 0], // the second in a row: back
    ];
    const seen = steps.map(([status], i) => {
      clock.advance(i === 0 ? 0 : 100);
      fake.answer("a:1", { status });
      const view = upstream.snapshot().endpoints[0]?.plugins["active-health"] as ActiveEndpointHealth;
      return [status, view.state, view.successes, view.httpFailures];
    });
    expect(seen).toEqual(steps);
    expect(upstream.snapshot().endpoints[0]?.plugins["active-health"]).toMatchObject({ since: 1100 });
  });

  it("a counter whose threshold is 0 is off: its results change nothing, not even the other counters", () => {
    // successes 0 (Kong's default): failures are never cleared, so F S F S F ejects, and nothing lets it back.
    const resolver = new ManualResolver();
    const clock = new ManualClock();
    const fake = new FakeProber();
    const checks = new ActiveHealthChecks(
      activeConfig({ jitter: 0, healthy: { intervalMs: 100 }, unhealthy: { intervalMs: 100, httpFailures: 3 } }),
      fake.prober,
    );
    createUpstream({ name: "api", resolver, clock, plugins: [checks] });
    resolver.push(["a:1"]);
    const statuses = [500, 200, 500, 200, 500];
    statuses.forEach((status, i) => {
      clock.advance(i === 0 ? 0 : 100);
      fake.answer("a:1", { status });
    });
    expect(checks.state("a:1")).toBe("unhealthy");
    for (let i = 0; i < 5; i++) {
      clock.advance(100);
      fake.answer("a:1", { status: 200 });
    }
    expect(checks.state("a:1")).toBe("unhealthy");
  });

  it("a status in both lists is a success (Kong reads the healthy list first); a TCP probe's connect is a success", () => {
    const resolver = new ManualResolver();
    const clock = new ManualClock();
    const fake = new FakeProber();
    const checks = new ActiveHealthChecks(
      activeConfig({
        jitter: 0,
        healthy: { intervalMs: 100, successes: 1, httpStatuses: [200, 503] },
        unhealthy: { intervalMs: 100, httpFailures: 1 },
      }),
      fake.prober,
    );
    createUpstream({ name: "api", resolver, clock, plugins: [checks] });
    resolver.push(["a:1"]);
    clock.advance(0);
    fake.answer("a:1", { status: 503 });
    expect(checks.state("a:1")).toBe("healthy");
    clock.advance(100);
    fake.answer("a:1", { status: 500 });
    expect(checks.state("a:1")).toBe("unhealthy");
    clock.advance(100);
    fake.answer("a:1", { status: 503 });
    expect(checks.state("a:1")).toBe("healthy");

    const tcp = new ActiveHealthChecks(
      activeConfig({
        type: "tcp",
        jitter: 0,
        healthy: { intervalMs: 100, successes: 1 },
        unhealthy: { intervalMs: 100, tcpFailures: 1 },
      }),
      fake.prober,
    );
    const r2 = new ManualResolver();
    createUpstream({ name: "tcp", resolver: r2, clock, plugins: [tcp] });
    r2.push(["b:1"]);
    clock.advance(0);
    fake.answer("b:1", { failure: "tcp", error: "ECONNREFUSED" });
    expect(tcp.state("b:1")).toBe("unhealthy");
    clock.advance(100);
    fake.answer("b:1", {});
    expect(tcp.state("b:1")).toBe("healthy");
  });
});
