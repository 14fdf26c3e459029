import { describe, expect, it } from "vitest";
import type { Outcome, Upstream } from "../../src/index.js";
import {
  circuitBreakers,
  consecutiveFailures,
  createUpstream,
  outlierDetection,
  passiveHealthChecks,
  roundRobin,
} from "../../src/index.js";
import { ManualClock, ManualResolver, seededRandom } from "../../src/testing/index.js";

function setup(endpoints: string[], plugins: Parameters<typeof createUpstream>[0]["plugins"]) {
  const resolver = new ManualResolver();
  const clock = new ManualClock();
  const upstream = createUpstream({
    name: "api",
    resolver,
    clock,
    random: seededRandom(9),
    balancer: roundRobin(),
    plugins,
    attemptTimeoutMs: Number.POSITIVE_INFINITY,
  });
  resolver.push(endpoints);
  const report = (id: string, outcome: Outcome) =>
    upstream.report(upstream.endpoints.find((e) => e.id === id)!, outcome);
  const view = (id: string) => upstream.snapshot().endpoints.find((e) => e.endpoint.id === id);
  return { clock, upstream, report, view };
}

/** `n` attempts through begin()/end(), all answering 200; attempts per endpoint. */
function run(upstream: Upstream, n: number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const token = upstream.begin();
    const id = upstream.endpointOf(token)?.id as string;
    upstream.end(token, { status: 200 });
    counts[id] = (counts[id] ?? 0) + 1;
  }
  return counts;
}

describe("passive checks, outlier detection and breakers on one upstream", () => {
  it("an endpoint ejected by two plug-ins takes traffic again only when both have let it go", () => {
    const { clock, upstream, report, view } = setup(
      ["a:1", "b:1", "c:1"],
      [
        passiveHealthChecks({ unhealthy: { tcpFailures: 1 }, ejectionMs: 10_000 }),
        outlierDetection({ consecutive5xx: 1, intervalMs: 10_000, baseEjectionTimeMs: 30_000 }),
      ],
    );
    report("a:1", { failure: "connect" }); // a TCP failure to one, a 503 to the other
    expect(view("a:1")).toMatchObject({ health: "UNHEALTHY", ejections: ["passive-health", "outlier-detection"] });
    clock.advance(10_000); // passive: on probation, its reason cleared; outlier detection still holds it
    expect(view("a:1")).toMatchObject({ health: "UNHEALTHY", ejections: ["outlier-detection"] });
    expect(view("a:1")?.plugins["passive-health"]).toMatchObject({ state: "probation" });
    expect(run(upstream, 6)).toEqual({ "b:1": 3, "c:1": 3 });
    clock.advance(20_000); // the sweep at 30 s
    expect(view("a:1")).toMatchObject({ health: "HEALTHY", ejections: [] });
    expect(run(upstream, 6)).toEqual({ "a:1": 2, "b:1": 2, "c:1": 2 });
    expect(view("a:1")?.plugins["passive-health"]).toMatchObject({ state: "healthy" }); // probation passed on traffic
  });

  it("in panic ejected endpoints take traffic; passive checks ignore its outcomes and let them back on time", () => {
    const { clock, upstream, report, view } = setup(
      ["a:1", "b:1"],
      [passiveHealthChecks({ unhealthy: { httpFailures: 1 }, ejectionMs: 5000 })],
    );
    report("a:1", { status: 503 });
    report("b:1", { status: 503 });
    expect(upstream.snapshot().levels[0]).toMatchObject({ healthy: 0, panic: true });
    expect(run(upstream, 4)).toEqual({ "a:1": 2, "b:1": 2 }); // panic: all of the level
    expect(view("a:1")?.plugins["passive-health"]).toMatchObject({ state: "unhealthy", successes: 0, until: 5000 });
    clock.advance(5000);
    expect(upstream.snapshot().levels[0]).toMatchObject({ healthy: 2, panic: false });
  });

  it("an open breaker refuses even in panic; passive checks only eject", () => {
    const { upstream, report } = setup(
      ["a:1", "b:1"],
      [
        passiveHealthChecks({ unhealthy: { httpFailures: 1 } }),
        circuitBreakers({ strategy: () => consecutiveFailures(1), openMs: 60_000 }),
      ],
    );
    report("a:1", { status: 503 }); // ejected by both, a's breaker open
    report("b:1", { status: 429 }); // a passive HTTP failure, not a breaker failure (not 5xx)
    expect(upstream.snapshot().endpoints.map((e) => e.ejections)).toEqual([
      ["passive-health", "circuit-breaker"],
      ["passive-health"],
    ]);
    // Panic: both are picked, a's breaker refuses it at begin(), b is admitted.
    expect(run(upstream, 4)).toEqual({ "b:1": 4 });
  });
});
