import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Endpoint, Upstream, UpstreamOptions } from "../../src/index.js";
import { createUpstream, roundRobin, SwitchyardError } from "../../src/index.js";
import { ManualClock, ManualResolver, seededRandom } from "../../src/testing/index.js";
import { worksOrTypedError } from "../helpers/errors.js";

/**
 * Every public upstream entry point that takes user input, fed 10,000 random
 * inputs each (fixed seeds): `fc.anything()` and shaped near-misses. Each
 * call either works or throws a `SwitchyardError` with a stable `code`
 * (never a TypeError), and a call that throws changes nothing.
 */
const RUNS = 10_000;

/** A value of any kind, or one of the given near-misses. */
function anyOr(...shaped: fc.Arbitrary<unknown>[]): fc.Arbitrary<unknown> {
  return fc.oneof(fc.anything(), ...shaped);
}

/** One of the given near-misses nine times in ten, else a value of any kind. */
function mostly(...shaped: fc.Arbitrary<unknown>[]): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: fc.oneof(...shaped), weight: 9 }, { arbitrary: fc.anything(), weight: 1 });
}

const number = fc.oneof(fc.integer({ min: -10, max: 100_000 }), fc.double(), fc.constantFrom(Number.NaN, Infinity, -0));

function served(): { upstream: Upstream; resolver: ManualResolver; endpoints: readonly Endpoint[] } {
  const resolver = new ManualResolver();
  const upstream = createUpstream({ name: "api", resolver, clock: new ManualClock(), random: seededRandom(1) });
  resolver.push(["10.0.0.1:80", "10.0.0.2:80", { host: "10.0.0.3", port: 80, priority: 1 }]);
  return { upstream, resolver, endpoints: upstream.endpoints };
}

const outcome = anyOr(
  fc.record(
    {
      status: anyOr(fc.integer({ min: 0, max: 700 }), fc.constant("200")),
      failure: anyOr(fc.constantFrom("connect", "reset", "timeout", "cancelled", "abandoned", "refused")),
      latencyMs: anyOr(number),
    },
    { requiredKeys: [] },
  ),
);

describe(`fuzz: ${RUNS} inputs per entry point work or throw a typed error`, () => {
  it("createUpstream(options)", () => {
    const options = mostly(
      fc.record(
        {
          name: mostly(fc.string()),
          resolver: mostly(fc.constant(0).map(() => new ManualResolver())),
          balancer: mostly(fc.constant(roundRobin()), fc.constant("roundRobin"), fc.record({ name: fc.string() })),
          priority: mostly(
            fc.record({ overprovisioningFactor: mostly(number), panicThreshold: mostly(number) }, { requiredKeys: [] }),
          ),
          filter: mostly(
            fc.record({ tags: mostly(fc.array(fc.string())), metadata: fc.anything(), zone: fc.anything() }),
            fc.constant((e: Endpoint) => e.port === 80),
          ),
          plugins: mostly(fc.array(fc.record({ name: mostly(fc.string()), attach: fc.constant(() => {}) }))),
          attemptTimeoutMs: mostly(fc.nat(), number),
          rebuildDelayMs: mostly(fc.nat(), number),
          readyTimeoutMs: mostly(fc.nat(), number),
          clock: mostly(fc.constant(0).map(() => new ManualClock())),
          random: mostly(fc.constant(0).map(() => seededRandom(2))),
        },
        { requiredKeys: [] },
      ),
    );
    let made = 0;
    fc.assert(
      fc.property(options, (o) => {
        let upstream: Upstream | undefined;
        const ok = worksOrTypedError(() => {
          upstream = createUpstream(o as UpstreamOptions);
        });
        if (ok) {
          made++;
          expect(upstream?.name).toBe((o as { name: string }).name);
          void upstream?.close();
        }
      }),
      { numRuns: RUNS, seed: 71 },
    );
    expect(made).toBeGreaterThan(50); // near-misses do build upstreams (76 with this seed): both sides are exercised
  });

  it("report(endpoint, outcome): a throw counts nothing", () => {
    const { upstream, endpoints } = served();
    const endpoint = anyOr(fc.constantFrom(...endpoints), fc.record({ id: fc.constantFrom("10.0.0.1:80", "x") }));
    fc.assert(
      fc.property(endpoint, outcome, (e, o) => {
        const before = JSON.stringify(upstream.snapshot().endpoints);
        if (!worksOrTypedError(() => upstream.report(e as Endpoint, o as never))) {
          expect(JSON.stringify(upstream.snapshot().endpoints)).toBe(before);
        }
      }),
      { numRuns: RUNS, seed: 72 },
    );
  });

  it("end(token, outcome): a throw leaves the attempt open", () => {
    const { upstream } = served();
    fc.assert(
      fc.property(anyOr(fc.constant("open"), fc.integer()), outcome, (t, o) => {
        const token = t === "open" ? upstream.begin() : t;
        const endpoint = upstream.endpointOf(token as number);
        if (!worksOrTypedError(() => upstream.end(token as number, o as never))) {
          expect(upstream.endpointOf(token as number)).toBe(endpoint);
          if (t === "open") upstream.end(token as number, { status: 200 });
        }
      }),
      { numRuns: RUNS, seed: 73 },
    );
    expect(upstream.snapshot().attempts.inFlight).toBe(0);
  });

  it("override(id, state): a throw changes no endpoint", () => {
    const { upstream } = served();
    const id = anyOr(fc.constantFrom("10.0.0.1:80", "10.0.0.3:80", "nope:1"));
    const state = anyOr(fc.constantFrom("up", "down", undefined, "no", true));
    fc.assert(
      fc.property(id, state, (i, s) => {
        const before = JSON.stringify(upstream.snapshot().endpoints);
        if (!worksOrTypedError(() => upstream.override(i as string, s as never))) {
          expect(JSON.stringify(upstream.snapshot().endpoints)).toBe(before);
        }
      }),
      { numRuns: RUNS, seed: 74 },
    );
  });

  it("pick(context), tryPick(context) and begin(context)", () => {
    const { upstream, endpoints } = served();
    const context = anyOr(
      fc.record(
        { avoid: anyOr(fc.constantFrom(...endpoints)), hashKey: fc.anything(), hash: fc.anything() },
        { requiredKeys: [] },
      ),
    );
    fc.assert(
      fc.property(context, (c) => {
        worksOrTypedError(() => upstream.pick(c as never));
        worksOrTypedError(() => upstream.tryPick(c as never));
        worksOrTypedError(() => upstream.end(upstream.begin(c as never), { status: 200 }));
      }),
      { numRuns: RUNS, seed: 75 },
    );
    expect(upstream.snapshot().attempts.inFlight).toBe(0);
  });

  it("ready(options) never throws: it resolves, or rejects with a typed error", async () => {
    const { upstream } = served();
    const options = anyOr(
      fc.record({ timeoutMs: anyOr(number), signal: anyOr(fc.constant(AbortSignal.abort())) }, { requiredKeys: [] }),
    );
    const outcomes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(options, async (o) => {
        let settled: unknown;
        try {
          await upstream.ready(o as never);
          settled = "resolved";
        } catch (e) {
          settled = e;
        }
        if (settled !== "resolved") {
          expect(settled).toBeInstanceOf(SwitchyardError);
          outcomes.add((settled as SwitchyardError).code);
        } else outcomes.add("resolved");
      }),
      { numRuns: RUNS, seed: 76 },
    );
    expect([...outcomes].sort()).toEqual(["ERR_INVALID_ARGUMENT", "resolved"]);
  });
});

describe("bad arguments, one by one", () => {
  it("report() refuses what is not an endpoint of this upstream, and counts nothing", () => {
    const { upstream, endpoints } = served();
    const [a] = endpoints as [Endpoint];
    const bad: [unknown, unknown, string][] = [
      [undefined, { status: 200 }, "endpoint"],
      [{ id: a.id }, { status: 200 }, "endpoint"], // a made-up { id }
      [{ ...a, port: 81 }, { status: 200 }, "endpoint"],
      [a, { status: "abc" }, "outcome.status"],
      [a, { status: 200.5 }, "outcome.status"],
      [a, { latencyMs: -5 }, "outcome.latencyMs"],
      [a, { latencyMs: Number.NaN }, "outcome.latencyMs"],
      [a, { failure: "refused" }, "outcome.failure"],
      [a, null, "outcome"],
    ];
    for (const [e, o, argument] of bad) {
      expect(() => upstream.report(e as Endpoint, o as never)).toThrow(
        expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", argument }),
      );
    }
    expect(upstream.stats(a.id)).toMatchObject({ requests: 0, failures: 0, lastLatencyMs: undefined });
    expect(upstream.report({ ...a }, { status: 200 })).toBe(true); // an equal copy is the same endpoint
  });

  it("override(id, 'no') is a typed error, not a silent no-op", () => {
    const { upstream } = served();
    expect(() => upstream.override("10.0.0.1:80", "no" as never)).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", argument: "state" }),
    );
    expect(upstream.override("nope:1", "down")).toBe(false);
    expect(upstream.override("10.0.0.1:80", "down")).toBe(true);
  });

  it("createUpstream() names the option that is wrong", () => {
    const resolver = new ManualResolver();
    const bad: [Partial<UpstreamOptions>, string][] = [
      [{ balancer: "roundRobin" as never }, "balancer"],
      [{ clock: {} as never }, "clock"],
      [{ random: { next: 1 } as never }, "random"],
      [{ priority: null as never }, "priority"],
      [{ filter: { tags: "v1" } as never }, "filter.tags"],
      [{ readyTimeoutMs: 2 ** 31 }, "readyTimeoutMs"],
      [{ attemptTimeoutMs: -1 }, "attemptTimeoutMs"],
      [{ rebuildDelayMs: Number.NaN }, "rebuildDelayMs"],
    ];
    for (const [options, option] of bad) {
      expect(() => createUpstream({ name: "api", resolver, ...options })).toThrow(
        expect.objectContaining({ code: "ERR_INVALID_CONFIG", option }),
      );
    }
    expect(() => createUpstream(null as never)).toThrow(expect.objectContaining({ option: "options" }));
  });
});
