import { describe, expect, it } from "vitest";
import type { UpstreamPlugin } from "../../src/index.js";
import {
  ConcurrencyLimitError,
  circuitBreakers,
  concurrencyLimits,
  consecutiveFailures,
  createUpstream,
  InvalidConfigError,
  NoEndpointsError,
  roundRobin,
} from "../../src/index.js";
import { ManualClock, ManualResolver, seededRandom } from "../../src/testing/index.js";
import { expectConfigErrors } from "../helpers/config-errors.js";
import { thrown } from "../helpers/errors.js";

function setup(plugins: UpstreamPlugin[], ids = ["a:1", "b:1", "c:1"]) {
  const resolver = new ManualResolver();
  const clock = new ManualClock();
  const upstream = createUpstream({
    name: "api",
    resolver,
    clock,
    random: seededRandom(3),
    balancer: roundRobin(),
    plugins,
  });
  resolver.push(ids);
  return { resolver, clock, upstream };
}

describe("concurrencyLimits()", () => {
  it("refuses the attempt over maxRequests with ConcurrencyLimitError('upstream'), and admits again once one ends", () => {
    const limits = concurrencyLimits({ maxRequests: 4 });
    const { upstream } = setup([limits]);
    const tokens = [upstream.begin(), upstream.begin(), upstream.begin(), upstream.begin()];
    const e = thrown(() => upstream.begin());
    expect(e).toBeInstanceOf(ConcurrencyLimitError);
    expect(e).toMatchObject({ code: "ERR_CONCURRENCY_LIMIT", upstream: "api", limit: "upstream", max: 4 });
    expect((e as Error).message).toBe('upstream "api": 4 attempts in flight, its limit (maxRequests)');
    expect(upstream.snapshot().attempts.inFlight).toBe(4); // the refused attempt was not counted
    upstream.end(tokens[0] as number, { status: 200 });
    expect(typeof upstream.begin()).toBe("number");
    expect(limits.describe()).toEqual({
      maxRequests: 4,
      maxRequestsPerEndpoint: null,
      inFlight: 4,
      rejected: { upstream: 1, endpoint: 0 },
    });
  });

  it("an endpoint at maxRequestsPerEndpoint sends the attempt to another; all full is ConcurrencyLimitError('endpoint')", () => {
    const { upstream } = setup([concurrencyLimits({ maxRequestsPerEndpoint: 2 })]);
    const ids = Array.from({ length: 6 }, () => upstream.endpointOf(upstream.begin())?.id);
    // Round robin, and every endpoint takes exactly two.
    expect(ids.filter((id) => id === "a:1")).toHaveLength(2);
    expect(ids.filter((id) => id === "b:1")).toHaveLength(2);
    expect(ids.filter((id) => id === "c:1")).toHaveLength(2);
    const e = thrown(() => upstream.begin());
    expect(e).toMatchObject({ limit: "endpoint", max: 2 });
    expect((e as Error).message).toContain("maxRequestsPerEndpoint");
  });

  it("skips a full endpoint: with a:1 full, attempts go to b:1 and c:1 only", () => {
    const { upstream } = setup([concurrencyLimits({ maxRequestsPerEndpoint: 1 })]);
    const first = upstream.begin();
    const full = upstream.endpointOf(first)?.id;
    const next = [upstream.begin(), upstream.begin()].map((t) => upstream.endpointOf(t)?.id);
    expect(next).not.toContain(full);
    expect(new Set(next).size).toBe(2);
  });

  it("counts attempts on endpoints that left the set against maxRequests until they end", () => {
    const { upstream, resolver } = setup([concurrencyLimits({ maxRequests: 2 })], ["a:1"]);
    const t1 = upstream.begin();
    upstream.begin();
    resolver.push(["b:1"]);
    expect(thrown(() => upstream.begin())).toMatchObject({ limit: "upstream" });
    upstream.end(t1, { status: 200 });
    expect(upstream.endpointOf(upstream.begin())?.id).toBe("b:1");
  });

  it("pick() and report() are not limited: only begin() counts attempts", () => {
    const { upstream } = setup([concurrencyLimits({ maxRequests: 1 })]);
    upstream.begin();
    for (let i = 0; i < 5; i++) upstream.report(upstream.pick(), { status: 200 });
    expect(upstream.snapshot().endpoints.map((e) => e.requests)).toEqual([2, 1, 2]);
  });

  it("with limits listed before breakers, an endpoint that is full is refused by the limits: ConcurrencyLimitError", () => {
    const { upstream } = setup(
      [concurrencyLimits({ maxRequestsPerEndpoint: 1 }), circuitBreakers({ strategy: () => consecutiveFailures(1) })],
      ["a:1"],
    );
    upstream.begin();
    expect(thrown(() => upstream.begin())).toMatchObject({ code: "ERR_CONCURRENCY_LIMIT", limit: "endpoint" });
  });

  it("a refusal() that throws or returns a non-error falls back to NoEndpointsError('overloaded')", () => {
    const refuses = (refusal: () => Error): UpstreamPlugin => ({
      name: "no",
      attach() {},
      admit: () => false,
      refusal,
    });
    for (const refusal of [
      () => {
        throw "not an error";
      },
      () => 42 as unknown as Error,
    ]) {
      const { upstream } = setup([refuses(refusal)]);
      const e = thrown(() => upstream.begin());
      expect(e).toBeInstanceOf(NoEndpointsError);
      expect((e as NoEndpointsError).reason).toBe("overloaded");
    }
  });

  it("defaults: maxRequests 1024 (Envoy), no per-endpoint limit", () => {
    const limits = concurrencyLimits();
    expect(limits.name).toBe("concurrency-limits");
    const { upstream } = setup([limits], ["a:1"]);
    for (let i = 0; i < 1024; i++) upstream.begin();
    expect(thrown(() => upstream.begin())).toMatchObject({ limit: "upstream", max: 1024 });
    expect(upstream.snapshot().plugins["concurrency-limits"]).toMatchObject({ maxRequests: 1024, inFlight: 1024 });
  });

  it("serves one upstream: attaching it to a second is an InvalidConfigError", () => {
    const limits = concurrencyLimits();
    setup([limits]);
    expect(() => setup([limits])).toThrow(expect.objectContaining({ option: "plugins" }));
  });

  it("Infinity disables a limit", () => {
    const { upstream } = setup([concurrencyLimits({ maxRequests: Number.POSITIVE_INFINITY })], ["a:1"]);
    for (let i = 0; i < 2000; i++) upstream.begin();
    expect(upstream.snapshot().attempts.inFlight).toBe(2000);
  });

  it("rejects invalid options with InvalidConfigError naming the option", () => {
    expectConfigErrors(concurrencyLimits as (o: unknown) => unknown, [
      [null, "options"],
      [[], "options"],
      [{ maxRequests: 0 }, "maxRequests"],
      [{ maxRequests: 1.5 }, "maxRequests"],
      [{ maxRequests: "10" }, "maxRequests"],
      [{ maxRequestsPerEndpoint: -1 }, "maxRequestsPerEndpoint"],
      [{ maxRequestsPerEndpoint: Number.NaN }, "maxRequestsPerEndpoint"],
      [{ name: "" }, "name"],
      [{ max_requests: 10 }, "max_requests"], // Envoy's name is not ignored in silence
      [{ maxPendingRequests: 10 }, "maxPendingRequests"],
    ]);
    expect(() => concurrencyLimits({ maxRequests: 0 })).toThrow(InvalidConfigError);
    expect(thrown(() => concurrencyLimits({ max_requests: 10 } as never)).message).toBe(
      "max_requests: is not an option of concurrencyLimits(): did you mean maxRequests?",
    );
  });
});
