import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Outcome, PassiveEndpointState, PassiveHealthChecksOptions, Upstream } from "../../src/index.js";
import { createUpstream, InvalidConfigError, passiveHealthChecks, roundRobin } from "../../src/index.js";
import { ManualClock, ManualResolver, seededRandom } from "../../src/testing/index.js";
import { expectConfigErrors } from "../helpers/config-errors.js";
import { thrown } from "../helpers/errors.js";

/** An upstream over `endpoints` with passive checks; no attempt reaper unless asked, so the clock shows the plug-in's timer alone. */
function setup(
  options: PassiveHealthChecksOptions = {},
  endpoints = ["a:1", "b:1", "c:1"],
  attemptTimeoutMs = Number.POSITIVE_INFINITY,
) {
  const resolver = new ManualResolver();
  const clock = new ManualClock();
  const passive = passiveHealthChecks(options);
  const upstream = createUpstream({
    name: "api",
    resolver,
    clock,
    random: seededRandom(3),
    balancer: roundRobin(),
    plugins: [passive],
    attemptTimeoutMs,
  });
  resolver.push(endpoints);
  /** Reports outcomes on the endpoint with this id, in order. */
  const report = (id: string, ...outcomes: Outcome[]) => {
    const e = upstream.endpoints.find((x) => x.id === id);
    if (e === undefined) throw new Error(`no endpoint ${id}`);
    for (const o of outcomes) upstream.report(e, o);
  };
  const view = (id: string) => upstream.snapshot().endpoints.find((e) => e.endpoint.id === id);
  const state = (id: string) => view(id)?.plugins["passive-health"] as PassiveEndpointState | undefined;
  return { resolver, clock, upstream, passive, report, view, state };
}

/** `n` attempts through begin()/end(): `outcome(id)` says how each ends. Returns the attempts per endpoint. */
function run(upstream: Upstream, n: number, outcome: (id: string) => Outcome): Record<string, number> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const token = upstream.begin();
    const id = upstream.endpointOf(token)?.id as string;
    upstream.end(token, outcome(id));
    counts[id] = (counts[id] ?? 0) + 1;
  }
  return counts;
}

const OK: Outcome = { status: 200 };
const CONNECT: Outcome = { failure: "connect" };
const RESET: Outcome = { failure: "reset" };
const TIMEOUT: Outcome = { failure: "timeout" };

describe("passiveHealthChecks(): Kong's counters", () => {
  it("with Kong's defaults (every threshold 0) nothing is counted and nothing is ejected", () => {
    const { report, state, clock } = setup();
    report("b:1", ...Array<Outcome>(300).fill(CONNECT), ...Array<Outcome>(300).fill({ status: 503 }));
    report("b:1", ...Array<Outcome>(300).fill(TIMEOUT), ...Array<Outcome>(300).fill(OK));
    expect(state("b:1")).toEqual({
      state: "healthy",
      since: 0,
      successes: 0,
      httpFailures: 0,
      tcpFailures: 0,
      timeouts: 0,
      ejections: 0,
    });
    expect(clock.pendingTimers).toBe(0);
  });

  it("ejects at exactly the threshold of each failure kind: connect and reset are TCP failures", () => {
    const { report, state, view } = setup({ unhealthy: { tcpFailures: 3, timeouts: 2, httpFailures: 4 } });
    report("a:1", CONNECT, RESET);
    expect(state("a:1")).toMatchObject({ state: "healthy", tcpFailures: 2 });
    report("a:1", CONNECT);
    expect(state("a:1")).toMatchObject({ state: "unhealthy", tcpFailures: 0, ejections: 1, until: 30_000 });
    expect(view("a:1")).toMatchObject({ health: "UNHEALTHY", ejections: ["passive-health"] });

    report("b:1", TIMEOUT);
    expect(state("b:1")?.state).toBe("healthy");
    report("b:1", TIMEOUT);
    expect(state("b:1")?.state).toBe("unhealthy");

    report("c:1", { status: 500 }, { status: 503 }, { status: 429 });
    expect(state("c:1")).toMatchObject({ state: "healthy", httpFailures: 3 });
    report("c:1", { status: 500 });
    expect(state("c:1")?.state).toBe("unhealthy");
  });

  it("a success clears the three failure counters; a failure clears the success counter; each failure kind counts apart", () => {
    const { report, state } = setup({
      healthy: { successes: 5 },
      unhealthy: { tcpFailures: 3, timeouts: 3, httpFailures: 3 },
    });
    report("a:1", OK, OK, OK);
    expect(state("a:1")).toMatchObject({ successes: 3 });
    report("a:1", CONNECT, CONNECT, TIMEOUT, TIMEOUT, { status: 503 }, { status: 503 });
    expect(state("a:1")).toMatchObject({
      state: "healthy",
      successes: 0,
      tcpFailures: 2,
      timeouts: 2,
      httpFailures: 2,
    });
    report("a:1", OK);
    expect(state("a:1")).toMatchObject({ successes: 1, tcpFailures: 0, timeouts: 0, httpFailures: 0 });
    report("a:1", CONNECT, CONNECT, OK, CONNECT, CONNECT);
    expect(state("a:1")).toMatchObject({ state: "healthy", tcpFailures: 2 }); // never 3 in a row
  });

  it("reads statuses with Kong's default lists: healthy 200–208, 226, 300–308; unhealthy 429, 500, 503; others count for nothing", () => {
    const { report, state } = setup({ healthy: { successes: 255 }, unhealthy: { httpFailures: 255 } });
    const healthy = [200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308];
    for (const status of healthy) report("a:1", { status });
    expect(state("a:1")?.successes).toBe(healthy.length);
    for (const status of [429, 500, 503]) report("a:1", { status });
    expect(state("a:1")).toMatchObject({ successes: 0, httpFailures: 3 });
    // In neither list: nothing, not even a clearing.
    for (const status of [100, 209, 225, 227, 299, 309, 400, 404, 428, 430, 501, 502, 504, 599])
      report("a:1", { status });
    expect(state("a:1")).toMatchObject({ successes: 0, httpFailures: 3 });
    report("a:1", {}); // an answer without a status (not HTTP): a success
    expect(state("a:1")).toMatchObject({ successes: 1, httpFailures: 0 });
  });

  it("custom status lists; a status in both is a success (Kong reads the healthy list first)", () => {
    const { report, state } = setup({
      healthy: { successes: 10, httpStatuses: [200, 404] },
      unhealthy: { httpFailures: 2, httpStatuses: [404, 502] },
    });
    report("a:1", { status: 404 }, { status: 404 });
    expect(state("a:1")).toMatchObject({ state: "healthy", successes: 2 });
    report("a:1", { status: 201 }, { status: 503 }); // in neither custom list
    expect(state("a:1")).toMatchObject({ successes: 2, httpFailures: 0 });
    report("a:1", { status: 502 }, { status: 502 });
    expect(state("a:1")?.state).toBe("unhealthy");
  });

  it("a threshold of 0 turns that counter off: such a failure neither counts nor clears; successes are not counted when healthy.successes is 0", () => {
    const { report, state } = setup({ healthy: { successes: 4 }, unhealthy: { httpFailures: 2 } });
    report("a:1", OK, OK, CONNECT, TIMEOUT, RESET);
    expect(state("a:1")).toMatchObject({ state: "healthy", successes: 2, tcpFailures: 0, timeouts: 0 });
    const other = setup({ unhealthy: { tcpFailures: 2 } });
    other.report("a:1", OK, OK, CONNECT);
    expect(other.state("a:1")).toMatchObject({ successes: 0, tcpFailures: 1 });
    other.report("a:1", OK); // a success still clears the failure counters (Kong would skip it: see docs)
    other.report("a:1", CONNECT);
    expect(other.state("a:1")).toMatchObject({ state: "healthy", tcpFailures: 1 });
  });

  it("counters stop at 255", () => {
    const { report, state } = setup({ healthy: { successes: 1 }, unhealthy: { httpFailures: 255 } });
    report("a:1", ...Array<Outcome>(1000).fill(OK));
    expect(state("a:1")?.successes).toBe(255);
    report("a:1", ...Array<Outcome>(254).fill({ status: 500 }));
    expect(state("a:1")).toMatchObject({ state: "healthy", httpFailures: 254 });
    report("a:1", { status: 500 });
    expect(state("a:1")?.state).toBe("unhealthy");
  });

  it("cancelled and abandoned attempts count for nothing", () => {
    const { upstream, report, state, clock } = setup(
      { healthy: { successes: 3 }, unhealthy: { tcpFailures: 2 } },
      ["a:1"],
      100,
    );
    report("a:1", OK, CONNECT);
    upstream.end(upstream.begin(), { failure: "cancelled" });
    upstream.begin(); // never ended: reclaimed after 100 ms as abandoned
    clock.advance(100);
    expect(upstream.snapshot().attempts.abandoned).toBe(1);
    expect(state("a:1")).toMatchObject({ state: "healthy", successes: 0, tcpFailures: 1 });
  });
});

describe("passiveHealthChecks(): unlike Kong, an ejected endpoint comes back", () => {
  it("after ejectionMs it is on probation and takes traffic; healthy.successes successes make it healthy", () => {
    const { upstream, clock, state, view } = setup({ healthy: { successes: 2 }, unhealthy: { tcpFailures: 3 } });
    expect(run(upstream, 9, (id) => (id === "b:1" ? CONNECT : OK))).toEqual({ "a:1": 3, "b:1": 3, "c:1": 3 });
    expect(state("b:1")).toMatchObject({ state: "unhealthy", since: 0, until: 30_000, ejections: 1 });
    expect(run(upstream, 10, () => OK)).toEqual({ "a:1": 5, "c:1": 5 }); // no traffic while ejected
    clock.advance(29_999);
    expect(state("b:1")?.state).toBe("unhealthy");
    clock.advance(1); // the plug-in's timer: on probation, ejection cleared
    expect(state("b:1")).toMatchObject({ state: "probation", since: 30_000, successes: 0 });
    expect(view("b:1")).toMatchObject({ health: "HEALTHY", ejections: [] });
    expect(run(upstream, 3, () => OK)["b:1"]).toBe(1);
    expect(state("b:1")).toMatchObject({ state: "probation", successes: 1 });
    expect(run(upstream, 3, () => OK)["b:1"]).toBe(1);
    expect(state("b:1")).toEqual({
      state: "healthy",
      since: 30_000,
      successes: 0,
      httpFailures: 0,
      tcpFailures: 0,
      timeouts: 0,
      ejections: 1,
    });
    expect(clock.pendingTimers).toBe(0);
  });

  it("with healthy.successes 0, one success on probation makes it healthy", () => {
    const { report, clock, state } = setup({ unhealthy: { timeouts: 1 } });
    report("a:1", TIMEOUT);
    clock.advance(30_000);
    expect(state("a:1")?.state).toBe("probation");
    report("a:1", OK);
    expect(state("a:1")?.state).toBe("healthy");
  });

  it("on probation the first failure ejects again at once, for longer each time in a row, capped; healthy again starts over", () => {
    const { report, clock, state } = setup({
      healthy: { successes: 3 },
      unhealthy: { httpFailures: 5 },
      ejectionMs: 1000,
      maxEjectionMs: 2500,
    });
    report("a:1", ...Array<Outcome>(5).fill({ status: 500 }));
    expect(state("a:1")).toMatchObject({ state: "unhealthy", until: 1000 });
    const untils: number[] = [];
    for (let k = 0; k < 4; k++) {
      clock.advance((state("a:1")?.until as number) - clock.now());
      expect(state("a:1")?.state).toBe("probation");
      report("a:1", OK, OK, { status: 503 }); // two successes, then one failure: ejected again at once
      untils.push((state("a:1")?.until as number) - clock.now());
    }
    expect(untils).toEqual([2000, 2500, 2500, 2500]);
    expect(state("a:1")?.ejections).toBe(5);
    clock.advance(2500);
    report("a:1", OK, OK, OK);
    expect(state("a:1")?.state).toBe("healthy");
    report("a:1", ...Array<Outcome>(5).fill({ status: 500 }));
    expect(state("a:1")).toMatchObject({ state: "unhealthy", until: clock.now() + 1000, ejections: 6 });
  });

  it("a failure of a kind that is off does not end probation", () => {
    const { report, clock, state } = setup({ healthy: { successes: 2 }, unhealthy: { httpFailures: 1 } });
    report("a:1", { status: 503 });
    clock.advance(30_000);
    report("a:1", CONNECT, TIMEOUT, { status: 404 }, OK);
    expect(state("a:1")).toMatchObject({ state: "probation", successes: 1 });
    report("a:1", OK);
    expect(state("a:1")?.state).toBe("healthy");
  });

  it("outcomes that end while ejected count for nothing (attempts begun before the ejection)", () => {
    const { upstream, report, clock, state } = setup({ unhealthy: { tcpFailures: 1 } }, ["a:1", "b:1"]);
    const held = Array.from({ length: 4 }, () => upstream.begin());
    const onA = held.filter((t) => upstream.endpointOf(t)?.id === "a:1");
    expect(onA).toHaveLength(2);
    report("a:1", CONNECT);
    expect(state("a:1")?.state).toBe("unhealthy");
    upstream.end(onA[0] as number, OK);
    upstream.end(onA[1] as number, CONNECT);
    expect(state("a:1")).toMatchObject({ state: "unhealthy", until: 30_000, ejections: 1, successes: 0 });
    clock.advance(30_000);
    expect(state("a:1")?.state).toBe("probation");
  });

  it("one timer at most, set for the earliest end of an ejection; none once nothing is ejected; none after close()", async () => {
    const { report, clock, state, upstream } = setup({ unhealthy: { tcpFailures: 1 }, ejectionMs: 1000 });
    expect(clock.pendingTimers).toBe(0);
    report("b:1", CONNECT);
    clock.advance(300);
    report("a:1", CONNECT);
    report("c:1", CONNECT); // all three out: the level is in panic, outcomes still ignored
    expect(clock.pendingTimers).toBe(1);
    clock.advance(700);
    expect([state("a:1")?.state, state("b:1")?.state, state("c:1")?.state]).toEqual([
      "unhealthy",
      "probation",
      "unhealthy",
    ]);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(300);
    expect([state("a:1")?.state, state("c:1")?.state]).toEqual(["probation", "probation"]);
    expect(clock.pendingTimers).toBe(0);
    report("a:1", CONNECT);
    expect(clock.pendingTimers).toBe(1);
    await upstream.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it("describe() counts endpoints per state and ejections", () => {
    const { report, clock, passive, upstream } = setup({ unhealthy: { tcpFailures: 1 } });
    report("a:1", CONNECT);
    report("b:1", CONNECT);
    clock.advance(30_000);
    report("b:1", CONNECT);
    expect(passive.describe()).toEqual({ healthy: 1, unhealthy: 1, probation: 1, ejections: 3 });
    expect(upstream.snapshot().plugins["passive-health"]).toEqual(passive.describe());
  });
});

describe("passiveHealthChecks() and the endpoint set", () => {
  it("state survives resolver updates for endpoints that stay; an endpoint that leaves and comes back starts fresh", () => {
    const { resolver, report, clock, state } = setup({ healthy: { successes: 2 }, unhealthy: { tcpFailures: 2 } });
    report("a:1", CONNECT);
    report("b:1", CONNECT, CONNECT);
    clock.advance(100);
    resolver.push([{ host: "a", port: 1, weight: 50 }, "b:1", "c:1", "d:1"]); // a re-weighted, d joins
    expect(state("a:1")).toMatchObject({ state: "healthy", tcpFailures: 1 });
    expect(state("b:1")).toMatchObject({ state: "unhealthy", since: 0, until: 30_000 });
    expect(state("d:1")).toMatchObject({ state: "healthy", since: 100, ejections: 0 });
    report("a:1", CONNECT);
    expect(state("a:1")?.state).toBe("unhealthy");

    resolver.push(["c:1", "d:1"]); // a and b leave while ejected
    expect(state("b:1")).toBeUndefined();
    clock.advance(100);
    resolver.push(["a:1", "b:1", "c:1", "d:1"]);
    expect(state("b:1")).toEqual({
      state: "healthy",
      since: 200,
      successes: 0,
      httpFailures: 0,
      tcpFailures: 0,
      timeouts: 0,
      ejections: 0,
    });
    expect(state("a:1")).toMatchObject({ state: "healthy", ejections: 0 });
    clock.advance(30_000); // the old ejections' timer finds nothing to restore
    expect(state("b:1")).toMatchObject({ state: "healthy", since: 200 });
  });

  it("a plug-in serves one upstream", () => {
    const passive = passiveHealthChecks();
    createUpstream({ name: "one", resolver: new ManualResolver(), plugins: [passive] });
    const e = thrown(() => createUpstream({ name: "two", resolver: new ManualResolver(), plugins: [passive] }));
    expect(e).toBeInstanceOf(InvalidConfigError);
    expect((e as InvalidConfigError).option).toBe("plugins");
  });

  it("bad options throw InvalidConfigError naming the option", () => {
    expectConfigErrors(passiveHealthChecks as (o: unknown) => unknown, [
      [1, "options"],
      [{ name: "" }, "name"],
      [{ healthy: 3 }, "healthy"],
      [{ unhealthy: [] }, "unhealthy"],
      [{ healthy: { successes: 256 } }, "healthy.successes"],
      [{ healthy: { successes: -1 } }, "healthy.successes"],
      [{ healthy: { httpStatuses: [200, 1000] } }, "healthy.httpStatuses"],
      [{ healthy: { httpStatuses: "200" } }, "healthy.httpStatuses"],
      [{ unhealthy: { httpFailures: 1.5 } }, "unhealthy.httpFailures"],
      [{ unhealthy: { tcpFailures: "3" } }, "unhealthy.tcpFailures"],
      [{ unhealthy: { timeouts: Number.NaN } }, "unhealthy.timeouts"],
      [{ unhealthy: { httpStatuses: [99] } }, "unhealthy.httpStatuses"],
      [{ ejectionMs: -1 }, "ejectionMs"],
      [{ ejectionMs: 2 ** 31 }, "ejectionMs"],
      [{ maxEjectionMs: "1" }, "maxEjectionMs"],
      [{ ejectionMs: 5000, maxEjectionMs: 4000 }, "maxEjectionMs"],
      // Kong's field names and unknown keys are not ignored in silence.
      [{ unhealthy: { tcp_failures: 3 } }, "unhealthy.tcp_failures"],
      [{ healthy: { http_statuses: [200] } }, "healthy.http_statuses"],
      [{ ejectionTime: 1000 }, "ejectionTime"],
    ]);
    expect(() => passiveHealthChecks({ ejectionMs: 500_000 })).not.toThrow(); // the cap follows a larger ejectionMs
  });

  it("names Kong's field and the switchyard option in the message", () => {
    const e = thrown(() => passiveHealthChecks({ unhealthy: { http_failures: 3 } } as never));
    expect(e).toBeInstanceOf(InvalidConfigError);
    expect(e.message).toBe(
      "unhealthy.http_failures: is not an option of passiveHealthChecks(): did you mean unhealthy.httpFailures?",
    );
    expect(thrown(() => passiveHealthChecks({ ejection: 5 } as never)).message).toBe(
      "ejection: is not an option of passiveHealthChecks(): did you mean ejectionMs (milliseconds)?",
    );
  });
});

/** The rules in a few lines: the reference the plug-in is checked against. */
class Model {
  state: "healthy" | "unhealthy" | "probation" = "healthy";
  since = 0;
  until = Number.NaN;
  c = { successes: 0, httpFailures: 0, tcpFailures: 0, timeouts: 0 };
  ejections = 0;
  streak = 0;

  constructor(private readonly t: { successes: number; http: number; tcp: number; timeouts: number }) {}

  outcome(kind: "ok" | "http" | "tcp" | "timeout" | "other" | "cancelled", now: number): void {
    if (this.state === "unhealthy" || kind === "other" || kind === "cancelled") return;
    if (kind === "ok") {
      this.c.httpFailures = this.c.tcpFailures = this.c.timeouts = 0;
      if (this.state === "probation") {
        if (this.c.successes + 1 >= Math.max(1, this.t.successes)) {
          this.flip("healthy", now);
          this.streak = 0;
        } else this.c.successes++;
      } else if (this.t.successes > 0) this.c.successes = Math.min(255, this.c.successes + 1);
      return;
    }
    const key = kind === "http" ? "httpFailures" : kind === "tcp" ? "tcpFailures" : "timeouts";
    const limit = kind === "http" ? this.t.http : kind === "tcp" ? this.t.tcp : this.t.timeouts;
    if (limit === 0) return;
    this.c.successes = 0;
    this.c[key] = Math.min(255, this.c[key] + 1);
    if (this.state === "probation" || this.c[key] >= limit) {
      this.flip("unhealthy", now);
      this.ejections++;
      this.streak++;
      this.until = now + Math.min(5000, 1000 * this.streak);
    }
  }

  tick(now: number): void {
    // The plug-in's timer fires when the ejection is up, whatever span the clock was advanced by.
    if (this.state === "unhealthy" && this.until <= now) this.flip("probation", this.until);
  }

  flip(state: Model["state"], now: number): void {
    this.state = state;
    this.since = now;
    this.c = { successes: 0, httpFailures: 0, tcpFailures: 0, timeouts: 0 };
  }

  view(): PassiveEndpointState {
    return {
      state: this.state,
      since: this.since,
      ...(this.state === "unhealthy" ? { until: this.until } : {}),
      ...this.c,
      ejections: this.ejections,
    };
  }
}

describe("passiveHealthChecks(): property", () => {
  it("counters, states and ejection times match a tiny reference model", () => {
    const kinds = ["ok", "http", "tcp", "timeout", "other", "cancelled"] as const;
    const outcomes: Record<(typeof kinds)[number], Outcome> = {
      ok: OK,
      http: { status: 503 },
      tcp: CONNECT,
      timeout: TIMEOUT,
      other: { status: 404 },
      cancelled: { failure: "cancelled" },
    };
    const threshold = fc.integer({ min: 0, max: 4 });
    fc.assert(
      fc.property(
        fc.record({ successes: threshold, http: threshold, tcp: threshold, timeouts: threshold }),
        fc.array(fc.oneof(fc.constantFrom(...kinds), fc.integer({ min: 1, max: 3000 })), { maxLength: 200 }),
        (t, steps) => {
          const { report, clock, state } = setup(
            {
              healthy: { successes: t.successes },
              unhealthy: { httpFailures: t.http, tcpFailures: t.tcp, timeouts: t.timeouts },
              ejectionMs: 1000,
              maxEjectionMs: 5000,
            },
            ["a:1"],
          );
          const model = new Model(t);
          for (const step of steps) {
            if (typeof step === "number") {
              clock.advance(step);
              model.tick(clock.now());
            } else {
              report("a:1", outcomes[step]);
              model.outcome(step, clock.now());
            }
            expect(state("a:1")).toEqual(model.view());
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
