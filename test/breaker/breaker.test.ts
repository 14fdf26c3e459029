import { describe, expect, it } from "vitest";
import type { BreakerPermit, BreakerSnapshot, CircuitBreakerOptions } from "../../src/index.js";
import {
  CircuitBreaker,
  CircuitOpenError,
  consecutiveFailures,
  failureRateByCount,
  InvalidArgumentError,
  openBackoff,
  slowCallRate,
} from "../../src/index.js";
import { ManualClock, seededRandom } from "../../src/testing/index.js";
import { expectConfigErrors } from "../helpers/config-errors.js";
import { thrown } from "../helpers/errors.js";

/** A breaker on a manual clock, with its state changes logged as "from>to@time". */
function setup(options: CircuitBreakerOptions = {}) {
  const clock = new ManualClock();
  const breaker = new CircuitBreaker({ clock, random: seededRandom(1), ...options });
  const changes: string[] = [];
  const opens: number[] = [];
  breaker.on("stateChange", (c) => {
    changes.push(`${c.from}>${c.to}@${c.at}`);
    if (c.to === "open") opens.push((c.openUntil as number) - c.at);
  });
  return { clock, breaker, changes, opens };
}

function permit(breaker: CircuitBreaker): BreakerPermit {
  const p = breaker.tryAcquire();
  if (p === undefined) throw new Error(`refused in state ${breaker.state}`);
  return p;
}

function fail(breaker: CircuitBreaker, n: number): void {
  for (let i = 0; i < n; i++) permit(breaker).failure();
}

describe("CircuitBreaker: a probe that never settles", () => {
  it("trips open again once every probe has been out halfOpenTimeoutMs, then lets a new probe through", async () => {
    const { clock, breaker, changes } = setup({
      strategy: consecutiveFailures(1),
      openMs: 1000,
      halfOpenProbes: 2,
      halfOpenTimeoutMs: 5000,
    });
    fail(breaker, 1);
    clock.advance(1000);
    const lost = [permit(breaker), permit(breaker)]; // never settled
    clock.advance(4999);
    expect(breaker.tryAcquire()).toBeUndefined();
    expect(breaker.state).toBe("half-open");
    clock.advance(1);
    expect(breaker.tryAcquire()).toBeUndefined(); // this refusal finds the probes stalled
    expect(breaker.state).toBe("open");
    expect(changes).toEqual(["closed>open@0", "open>half-open@1000", "half-open>open@6000"]);
    await expect(breaker.execute(() => 1)).rejects.toMatchObject({ state: "open", retryAfterMs: 1000 });
    clock.advance(1000);
    const probe = permit(breaker);
    expect(probe.probe).toBe(true);
    for (const p of lost) expect(p.success()).toBe(true); // late: settles, counts for nothing
    expect(breaker.state).toBe("half-open");
    probe.success();
    expect(breaker.state).toBe("closed");
  });

  it("an execute() that never settles cannot hold the breaker half-open (default 60 s)", async () => {
    const { clock, breaker } = setup({ strategy: consecutiveFailures(1), openMs: 1000 });
    fail(breaker, 1);
    clock.advance(1000);
    void breaker.execute(() => new Promise<never>(() => {}));
    clock.advance(59_999);
    await expect(breaker.execute(() => 1)).rejects.toMatchObject({ state: "half-open" });
    clock.advance(1);
    await expect(breaker.execute(() => 1)).rejects.toMatchObject({ state: "open" });
  });

  it("Infinity disables it; a bad value is an InvalidConfigError", () => {
    const { clock, breaker } = setup({ strategy: consecutiveFailures(1), openMs: 1, halfOpenTimeoutMs: Infinity });
    fail(breaker, 1);
    clock.advance(1);
    permit(breaker);
    clock.advance(1e9);
    expect(breaker.tryAcquire()).toBeUndefined();
    expect(breaker.state).toBe("half-open");
    expectConfigErrors(
      (o: CircuitBreakerOptions) => new CircuitBreaker(o),
      [
        [{ halfOpenTimeoutMs: 0 }, "halfOpenTimeoutMs"],
        [{ halfOpenTimeoutMs: -5 }, "halfOpenTimeoutMs"],
        [{ halfOpenTimeoutMs: Number.NaN }, "halfOpenTimeoutMs"],
        [{ halfOpenTimeoutMs: "1" as unknown as number }, "halfOpenTimeoutMs"],
      ],
    );
  });
});

describe("CircuitBreaker: transitions", () => {
  it("closed → open at the strategy's trip, refuses for exactly openMs, then half-open; a probe success closes", () => {
    const { clock, breaker, changes } = setup({ strategy: consecutiveFailures(3), openMs: 1000 });
    expect(breaker.state).toBe("closed");
    fail(breaker, 2);
    expect(breaker.state).toBe("closed");
    const p = permit(breaker);
    expect(p.probe).toBe(false);
    p.failure();
    expect(breaker.state).toBe("open");
    expect(changes).toEqual(["closed>open@0"]);
    expect(breaker.tryAcquire()).toBeUndefined();
    clock.advance(999);
    expect(breaker.tryAcquire()).toBeUndefined();
    clock.advance(1);
    const probe = permit(breaker);
    expect(probe.probe).toBe(true);
    expect(changes).toEqual(["closed>open@0", "open>half-open@1000"]);
    probe.success();
    expect(breaker.state).toBe("closed");
    expect(changes).toEqual(["closed>open@0", "open>half-open@1000", "half-open>closed@1000"]);
    // Counting starts again: two failures do not open it.
    fail(breaker, 2);
    expect(breaker.state).toBe("closed");
  });

  it("half-open admits exactly halfOpenProbes at once; a settled or cancelled probe frees its place", () => {
    const { clock, breaker } = setup({
      strategy: consecutiveFailures(1),
      openMs: 100,
      halfOpenProbes: 3,
      successesToClose: 5,
    });
    fail(breaker, 1);
    clock.advance(100);
    const probes = [permit(breaker), permit(breaker), permit(breaker)];
    expect(probes.map((p) => p.probe)).toEqual([true, true, true]);
    expect(breaker.tryAcquire()).toBeUndefined(); // the 4th
    (probes[0] as BreakerPermit).success();
    const fourth = permit(breaker);
    expect(breaker.tryAcquire()).toBeUndefined();
    (probes[1] as BreakerPermit).cancel(); // neither: frees a place, counts nothing
    const fifth = permit(breaker);
    expect(breaker.tryAcquire()).toBeUndefined();
    // Successes so far: 1. Four more close it, the last one exactly.
    (probes[2] as BreakerPermit).success();
    fourth.success();
    fifth.success();
    expect(breaker.state).toBe("half-open");
    expect(breaker.snapshot().halfOpenSuccesses).toBe(4);
    permit(breaker).success();
    expect(breaker.state).toBe("closed");
  });

  it("a failed probe reopens; the open period grows per the backoff, is capped, and starts again after a close", () => {
    const { clock, breaker, opens } = setup({
      strategy: consecutiveFailures(1),
      openMs: openBackoff({ initialMs: 100, multiplier: 3, maxMs: 1000 }),
    });
    fail(breaker, 1);
    for (let i = 0; i < 4; i++) {
      clock.advance(opens.at(-1) as number);
      permit(breaker).failure();
    }
    expect(opens).toEqual([100, 300, 900, 1000, 1000]);
    expect(breaker.snapshot()).toMatchObject({ state: "open", trips: 5, openForMs: 1000 });
    clock.advance(999);
    expect(breaker.tryAcquire()).toBeUndefined();
    clock.advance(1);
    permit(breaker).success();
    expect(breaker.snapshot()).toMatchObject({ state: "closed", trips: 0 });
    fail(breaker, 1);
    expect(opens).toEqual([100, 300, 900, 1000, 1000, 100]);
  });

  it("jitters the open period with the injected random: uniform in [period × (1 − jitter), period]", () => {
    const { breaker, opens } = setup({
      strategy: consecutiveFailures(1),
      openMs: openBackoff({ initialMs: 1000, jitter: 0.5 }),
      random: seededRandom(7),
    });
    fail(breaker, 1);
    const r = seededRandom(7).next();
    expect(opens).toEqual([1000 * (1 - 0.5 * r)]);
    expect(opens[0]).toBeGreaterThanOrEqual(500);
  });

  it("defaults: 5 consecutive failures, open 5 s doubling to 300 s, one probe, one success", () => {
    const { clock, breaker, opens } = setup();
    fail(breaker, 4);
    expect(breaker.state).toBe("closed");
    fail(breaker, 1);
    expect(breaker.state).toBe("open");
    for (let i = 0; i < 8; i++) {
      clock.advance(opens.at(-1) as number);
      const probe = permit(breaker);
      expect(breaker.tryAcquire()).toBeUndefined();
      probe.failure();
    }
    expect(opens).toEqual([5000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
  });

  it("a permit settles once; permits from an earlier state count for nothing", () => {
    const { clock, breaker } = setup({ strategy: consecutiveFailures(2), openMs: 100 });
    const p = permit(breaker);
    expect(p.failure()).toBe(true);
    expect(p.settled).toBe(true);
    expect(p.failure()).toBe(false);
    expect(p.success()).toBe(false);
    expect(p.cancel()).toBe(false);
    expect(breaker.state).toBe("closed"); // one failure counted, not two
    const early = permit(breaker); // admitted while closed
    const bad = permit(breaker);
    const e = thrown(() => bad.success(-1));
    expect(e).toBeInstanceOf(InvalidArgumentError);
    expect((e as InvalidArgumentError).argument).toBe("latencyMs");
    expect(bad.settled).toBe(false);
    bad.failure(); // the second failure in a row: open
    expect(breaker.state).toBe("open");
    clock.advance(100);
    const probe = permit(breaker);
    expect(early.success()).toBe(true); // settles, but it is not the probe
    expect(breaker.state).toBe("half-open");
    expect(breaker.tryAcquire()).toBeUndefined();
    probe.success();
    expect(breaker.state).toBe("closed");
  });

  it("announces every change, restore's included, and a throwing listener does not break it", async () => {
    const { clock, breaker, changes } = setup({ strategy: consecutiveFailures(1), openMs: 10 });
    const errors: unknown[] = [];
    const onError = (e: unknown) => errors.push(e);
    process.on("uncaughtException", onError);
    try {
      breaker.on("stateChange", () => {
        throw new Error("listener");
      });
      fail(breaker, 1);
      clock.advance(10);
      expect(breaker.state).toBe("half-open"); // reading the state is a use
      breaker.restore({ state: "open", trips: 2, openForMs: 50, halfOpenSuccesses: 0 });
      expect(changes).toEqual(["closed>open@0", "open>half-open@10", "half-open>open@10"]);
      await new Promise((resolve) => setImmediate(resolve));
      expect(errors).toHaveLength(3);
    } finally {
      process.off("uncaughtException", onError);
    }
  });
});

describe("CircuitBreaker.execute", () => {
  it("counts a resolved call as a success and a rejected one as a failure, and returns or rethrows", async () => {
    const { breaker } = setup({ strategy: consecutiveFailures(2), openMs: 1000 });
    await expect(breaker.execute(async () => 42)).resolves.toBe(42);
    await expect(breaker.execute(() => "sync")).resolves.toBe("sync");
    const boom = new Error("boom");
    await expect(
      breaker.execute(() => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(breaker.state).toBe("closed");
    await expect(breaker.execute(async () => Promise.reject(boom))).rejects.toBe(boom);
    expect(breaker.state).toBe("open");
  });

  it("rejects with CircuitOpenError, saying when to retry, without calling fn", async () => {
    const { clock, breaker } = setup({ strategy: consecutiveFailures(1), openMs: 1000 });
    fail(breaker, 1);
    clock.advance(400);
    let calls = 0;
    const fn = async () => {
      calls++;
    };
    const e = await breaker.execute(fn).catch((error: unknown) => error);
    expect(e).toBeInstanceOf(CircuitOpenError);
    expect(e).toMatchObject({ code: "ERR_CIRCUIT_OPEN", state: "open", retryAfterMs: 600 });
    clock.advance(600);
    let release: () => void = () => {};
    const probe = breaker.execute(() => new Promise<void>((resolve) => (release = resolve)));
    const refused = await breaker.execute(fn).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: "ERR_CIRCUIT_OPEN", state: "half-open", retryAfterMs: 0 });
    expect(calls).toBe(0);
    release();
    await probe;
    expect(breaker.state).toBe("closed");
  });

  it("an aborted call counts as neither; a signal aborted before the call rejects with its reason", async () => {
    const { breaker } = setup({ strategy: consecutiveFailures(1), openMs: 1000 });
    const controller = new AbortController();
    const call = breaker.execute(
      (signal) =>
        new Promise((_, reject) => signal?.addEventListener("abort", () => reject(signal.reason), { once: true })),
      controller.signal,
    );
    controller.abort(new Error("caller gave up"));
    await expect(call).rejects.toThrow("caller gave up");
    expect(breaker.state).toBe("closed");
    let called = false;
    const reason = new Error("already");
    await expect(
      breaker.execute(async () => {
        called = true;
      }, AbortSignal.abort(reason)),
    ).rejects.toBe(reason);
    expect(called).toBe(false);
    // A call that resolves although its signal aborted is still a success.
    const late = new AbortController();
    await expect(
      breaker.execute(async () => {
        late.abort();
        return 1;
      }, late.signal),
    ).resolves.toBe(1);
    await expect(breaker.execute(() => Promise.reject(new Error("real")))).rejects.toThrow("real");
    expect(breaker.state).toBe("open");
  });

  it("rejects a non-function or a signal that is not an AbortSignal with InvalidArgumentError", async () => {
    const { breaker } = setup();
    await expect(breaker.execute("x" as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(breaker.execute(async () => 1, {} as AbortSignal)).rejects.toMatchObject({ argument: "signal" });
  });

  it("measures latency on the clock for a timed strategy (slow calls)", async () => {
    const { clock, breaker } = setup({
      strategy: slowCallRate({ slowMs: 100, rate: 0.4, calls: 4 }),
      openMs: 1000,
    });
    const slow = permit(breaker);
    clock.advance(101);
    slow.success();
    const fast = permit(breaker);
    clock.advance(100);
    fast.success(); // exactly 100 ms is not slow
    permit(breaker).success(0); // a latency given is taken as is
    expect(breaker.state).toBe("closed"); // 3 calls: fewer than the minimum (4)
    permit(breaker).success(101); // 2 slow of 4: above 0.4
    expect(breaker.state).toBe("open");
    clock.advance(1000);
    const run = breaker.execute(() => new Promise((resolve) => clock.setTimer(() => resolve(1), 150)));
    clock.advance(150);
    await run; // the probe, slow, but a success: probes are judged by success or failure
    expect(breaker.state).toBe("closed");
  });
});

describe("CircuitBreaker: no timers", () => {
  it("10,000 breakers, open or closed, hold no timer; each turns half-open when next used", () => {
    const clock = new ManualClock();
    const breakers = Array.from(
      { length: 10_000 },
      () => new CircuitBreaker({ clock, strategy: consecutiveFailures(1), openMs: 1000 }),
    );
    expect(clock.pendingTimers).toBe(0);
    for (const b of breakers) fail(b, 1);
    expect(breakers.every((b) => b.state === "open")).toBe(true);
    expect(clock.pendingTimers).toBe(0);
    clock.advance(1000);
    expect(breakers.every((b) => b.tryAcquire()?.probe === true)).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe("CircuitBreaker: snapshot and restore", () => {
  it("round-trips through JSON: open with its trips and time left, then half-open, closed with counts", () => {
    const { clock, breaker } = setup({
      strategy: consecutiveFailures(3),
      openMs: openBackoff({ initialMs: 1000, maxMs: 10_000 }),
    });
    fail(breaker, 3);
    clock.advance(1000);
    permit(breaker).failure(); // second trip: open for 2000
    clock.advance(500);
    const saved = JSON.parse(JSON.stringify(breaker)) as BreakerSnapshot;
    expect(saved).toEqual({
      state: "open",
      trips: 2,
      openForMs: 1500,
      openUntil: 3000,
      halfOpenSuccesses: 0,
      strategy: { name: "consecutive-failures", state: { failures: 3 } },
    });
    const later = new ManualClock(50_000); // another process: another clock origin
    const restored = new CircuitBreaker({
      clock: later,
      strategy: consecutiveFailures(3),
      openMs: openBackoff({ initialMs: 1000, maxMs: 10_000 }),
      restore: saved,
    });
    expect(restored.state).toBe("open");
    later.advance(1499);
    expect(restored.tryAcquire()).toBeUndefined();
    later.advance(1);
    permit(restored).failure();
    expect(restored.snapshot()).toMatchObject({ state: "open", trips: 3, openForMs: 4000 }); // the third trip

    const counts = setup({ strategy: consecutiveFailures(5) });
    fail(counts.breaker, 4);
    const closed = counts.breaker.snapshot();
    const again = setup({ strategy: consecutiveFailures(5), restore: closed });
    expect(again.breaker.state).toBe("closed");
    fail(again.breaker, 1);
    expect(again.breaker.state).toBe("open");
  });

  it("restores half-open with its successes; drops the counts of a strategy of another name", () => {
    const { breaker } = setup({ strategy: consecutiveFailures(2), successesToClose: 3, halfOpenProbes: 2 });
    breaker.restore({ state: "half-open", trips: 1, openForMs: 0, halfOpenSuccesses: 2 });
    expect(breaker.state).toBe("half-open");
    permit(breaker);
    permit(breaker).success();
    expect(breaker.state).toBe("closed");
    breaker.restore({
      state: "closed",
      trips: 0,
      openForMs: 0,
      halfOpenSuccesses: 0,
      strategy: { name: "failure-rate-by-count", state: { outcomes: [1, 1, 1] } },
    });
    fail(breaker, 1);
    expect(breaker.state).toBe("closed");
    const rate = setup({ strategy: failureRateByCount({ calls: 4, minimumCalls: 4 }) });
    rate.breaker.restore({
      state: "closed",
      trips: 0,
      openForMs: 0,
      halfOpenSuccesses: 0,
      strategy: { name: "failure-rate-by-count", state: { outcomes: [0, 1, 1] } },
    });
    fail(rate.breaker, 1); // 3 of 4 failed
    expect(rate.breaker.state).toBe("open");
  });

  it("rejects garbage with InvalidArgumentError naming the field, and changes nothing", () => {
    const { breaker } = setup({ strategy: consecutiveFailures(2) });
    fail(breaker, 1);
    const before = breaker.snapshot();
    const rows: [unknown, string][] = [
      [null, "snapshot"],
      ["open", "snapshot"],
      [[], "snapshot"],
      [{ state: "shut" }, "snapshot.state"],
      [{ state: "open", trips: -1 }, "snapshot.trips"],
      [{ state: "open", trips: 1.5 }, "snapshot.trips"],
      [{ state: "open", openForMs: Number.NaN }, "snapshot.openForMs"],
      [{ state: "open", openForMs: Number.POSITIVE_INFINITY }, "snapshot.openForMs"],
      [{ state: "half-open", halfOpenSuccesses: "2" }, "snapshot.halfOpenSuccesses"],
      [{ state: "closed", strategy: "consecutive" }, "snapshot.strategy"],
      [{ state: "closed", strategy: { name: 1 } }, "snapshot.strategy"],
      [
        { state: "closed", strategy: { name: "consecutive-failures", state: { failures: -1 } } },
        "snapshot.strategy.state.failures",
      ],
      [{ state: "closed", strategy: { name: "consecutive-failures", state: 7 } }, "snapshot.strategy.state"],
    ];
    for (const [value, argument] of rows) {
      const e = thrown(() => breaker.restore(value as BreakerSnapshot));
      expect(e, JSON.stringify(value)).toBeInstanceOf(InvalidArgumentError);
      expect((e as InvalidArgumentError).argument, JSON.stringify(value)).toBe(argument);
    }
    expect(breaker.snapshot()).toEqual(before);
    expectConfigErrors(
      (restore: unknown) =>
        new CircuitBreaker({ strategy: consecutiveFailures(2), restore: restore as BreakerSnapshot }),
      [
        [{ state: "ajar" }, "restore.state"],
        [
          { state: "closed", strategy: { name: "consecutive-failures", state: { failures: "x" } } },
          "restore.strategy.state.failures",
        ],
      ],
    );
  });
});

describe("CircuitBreaker: options", () => {
  it("throws InvalidConfigError naming each bad option", () => {
    expectConfigErrors(
      (options: unknown) => new CircuitBreaker(options as CircuitBreakerOptions),
      [
        ["fast", "options"],
        [{ halfOpenProbes: 0 }, "halfOpenProbes"],
        [{ halfOpenProbes: 1.5 }, "halfOpenProbes"],
        [{ successesToClose: 0 }, "successesToClose"],
        [{ openMs: -1 }, "openMs"],
        [{ openMs: "10s" }, "openMs"],
        [{ openMs: 2 ** 31 }, "openMs"],
        [{ openMs: {} }, "openMs"],
        [{ strategy: {} }, "strategy"],
        [{ strategy: consecutiveFailures }, "strategy"],
        [{ clock: {} }, "clock"],
        [{ random: Math.random }, "random"],
      ],
    );
    expectConfigErrors(
      (options: unknown) => openBackoff(options as never),
      [
        [{ initialMs: -1 }, "initialMs"],
        [{ initialMs: 100, maxMs: 50 }, "maxMs"],
        [{ multiplier: 0.5 }, "multiplier"],
        [{ jitter: 1.5 }, "jitter"],
        [[], "options"],
      ],
    );
  });

  it("openMs 0 lets a probe through at the next use", () => {
    const { breaker } = setup({ strategy: consecutiveFailures(1), openMs: 0 });
    fail(breaker, 1);
    expect(permit(breaker).probe).toBe(true);
  });

  it("a custom backoff's result is clamped: NaN or negative is 0, above 2^31 − 1 is capped", () => {
    const values = [Number.NaN, -5, 2 ** 40];
    const { breaker, opens } = setup({
      strategy: consecutiveFailures(1),
      openMs: { openMs: (trips) => values[trips - 1] as number },
    });
    fail(breaker, 1);
    permit(breaker).failure();
    permit(breaker).failure();
    expect(opens).toEqual([0, 0, 2 ** 31 - 1]);
  });
});
