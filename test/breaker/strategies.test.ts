import { describe, expect, it } from "vitest";
import type { BreakerStrategy } from "../../src/index.js";
import {
  anyStrategy,
  consecutiveFailures,
  failureRateByCount,
  failureRateByTime,
  InvalidArgumentError,
  slowCallRate,
} from "../../src/index.js";
import { expectConfigErrors } from "../helpers/config-errors.js";
import { thrown } from "../helpers/errors.js";

/** Feeds `calls` ("F" failure, "S" success) to `s` at time `now`; returns what each answered ("1" = open). */
function feed(s: BreakerStrategy, calls: string, now = 0, latencyMs = Number.NaN): string {
  return [...calls]
    .map((c) => ((c === "F" ? s.failure(latencyMs, now) : s.success(latencyMs, now)) ? "1" : "0"))
    .join("");
}

describe("consecutiveFailures", () => {
  it("4 failures do not open a 5-failure strategy, the 5th does; a success starts the count again", () => {
    const s = consecutiveFailures(5);
    expect(s.name).toBe("consecutive-failures");
    expect(s.timed).toBeUndefined();
    expect(feed(s, "FFFF")).toBe("0000");
    expect(feed(s, "S")).toBe("0");
    expect(feed(s, "FFFFF")).toBe("00001");
    s.reset();
    expect(feed(s, "FFFF")).toBe("0000");
    expect(s.snapshot?.(0)).toEqual({ failures: 4 });
    expect(feed(consecutiveFailures(), "FFFFF")).toBe("00001"); // default 5
    expect(feed(consecutiveFailures(1), "F")).toBe("1");
  });
});

describe("failureRateByCount", () => {
  it("opens on a failure when more than `rate` of the last `calls` failed, once `minimumCalls` were seen", () => {
    const s = failureRateByCount({ rate: 0.5, calls: 10, minimumCalls: 10 });
    // 5 of 10 is not above half; the next failure pushes the oldest success out: 6 of 10.
    expect(feed(s, "SSSSSFFFFF")).toBe("0000000000");
    expect(feed(s, "F")).toBe("1");
    expect(s.snapshot?.(0)).toEqual({ outcomes: [0, 0, 0, 0, 1, 1, 1, 1, 1, 1] });
  });

  it("waits for the minimum volume, and a success never opens it", () => {
    const s = failureRateByCount({ rate: 0.2, calls: 10, minimumCalls: 4 });
    expect(feed(s, "FFF")).toBe("000");
    expect(feed(s, "F")).toBe("1");
    s.reset();
    expect(feed(s, "FFFSSSSSSS")).toBe("0000000000"); // 3 of 10 > 0.2, but successes do not open
    expect(feed(s, "F")).toBe("1"); // the oldest failure drops out: still 3 of the last 10
  });

  it("the window slides: failures older than `calls` calls no longer count", () => {
    const s = failureRateByCount({ rate: 0.5, calls: 4, minimumCalls: 2 });
    expect(feed(s, "SFSS")).toBe("0000");
    expect(feed(s, "SSSF")).toBe("0000"); // 1 of 4
    expect(feed(s, "F")).toBe("0"); // 2 of 4: not above
    expect(feed(s, "F")).toBe("1"); // 3 of 4
  });

  it("defaults: rate 0.5 over 100 calls, all 100 needed", () => {
    const s = failureRateByCount();
    expect(feed(s, "F".repeat(99))).toBe("0".repeat(99));
    expect(feed(s, "F")).toBe("1");
  });

  it("restores the newest outcomes that fit, and rejects bad data with a typed error", () => {
    const s = failureRateByCount({ rate: 0.5, calls: 3 });
    s.restore?.({ outcomes: [1, 1, 0, 0, 1] }, 0);
    expect(s.snapshot?.(0)).toEqual({ outcomes: [0, 0, 1] });
    for (const [state, argument] of [
      [{ outcomes: [2] }, "state.outcomes[0]"],
      [{ outcomes: "101" }, "state.outcomes"],
      [null, "state"],
    ] as const) {
      const e = thrown(() => s.restore?.(state, 0));
      expect(e).toBeInstanceOf(InvalidArgumentError);
      expect((e as InvalidArgumentError).argument).toBe(argument);
    }
    expect(s.snapshot?.(0)).toEqual({ outcomes: [0, 0, 1] });
  });
});

describe("failureRateByTime", () => {
  it("slides on the clock: a call counts while the clock is below (its bucket + buckets) × width", () => {
    // 10 buckets of 100 ms; at least 4 calls; open above half.
    const s = failureRateByTime({ rate: 0.5, windowMs: 1000, buckets: 10, minimumCalls: 4 });
    expect(s.timed).toBe(true);
    expect(feed(s, "FFF", 0)).toBe("000"); // 3 calls: under the minimum
    expect(feed(s, "F", 999)).toBe("1"); // bucket 9: bucket 0 is still in the window
    s.reset();
    expect(feed(s, "FFF", 0)).toBe("000");
    expect(feed(s, "F", 1000)).toBe("0"); // bucket 10: bucket 0 left the window, 1 call
    expect(feed(s, "FFF", 1099)).toBe("001"); // 4 calls in buckets 1..10
  });

  it("opens only above the rate, with the minimum volume", () => {
    const s = failureRateByTime({ rate: 0.5, windowMs: 10_000, minimumCalls: 4 });
    expect(feed(s, "SS", 0)).toBe("00");
    expect(feed(s, "FF", 5000)).toBe("00"); // 2 of 4
    expect(feed(s, "F", 9999)).toBe("1"); // 3 of 5
  });

  it("works on a clock below 0, and snapshots buckets newest first", () => {
    const s = failureRateByTime({ rate: 0.5, windowMs: 1000, buckets: 4, minimumCalls: 3 });
    expect(feed(s, "SF", -600)).toBe("00"); // bucket -3
    expect(feed(s, "F", -10)).toBe("1"); // bucket -1: 2 of 3
    expect(s.snapshot?.(-10)).toEqual({ bucketMs: 250, calls: [1, 0, 2, 0], failures: [1, 0, 1, 0] });
    const restored = failureRateByTime({ rate: 0.5, windowMs: 1000, buckets: 4, minimumCalls: 3 });
    restored.restore?.(s.snapshot?.(-10), 5000);
    expect(restored.snapshot?.(5000)).toEqual({ bucketMs: 250, calls: [1, 0, 2, 0], failures: [1, 0, 1, 0] });
    expect(feed(restored, "F", 5000)).toBe("1");
    // Another bucket width: the counts are dropped.
    const other = failureRateByTime({ windowMs: 2000, buckets: 4 });
    other.restore?.(s.snapshot?.(-10), 0);
    expect(other.snapshot?.(0)).toEqual({ bucketMs: 500, calls: [0, 0, 0, 0], failures: [0, 0, 0, 0] });
    const e = thrown(() => restored.restore?.({ bucketMs: 250, calls: [1], failures: [2] }, 0));
    expect((e as InvalidArgumentError).argument).toBe("state.failures[0]");
    expect(
      (thrown(() => restored.restore?.({ bucketMs: 250, calls: [1], failures: [] }, 0)) as InvalidArgumentError)
        .argument,
    ).toBe("state.failures");
    expect((thrown(() => restored.restore?.({ bucketMs: 0 }, 0)) as InvalidArgumentError).argument).toBe(
      "state.bucketMs",
    );
  });

  it("defaults: rate 0.5 over 30 s in 10 buckets, 100 calls needed", () => {
    const s = failureRateByTime();
    expect(feed(s, "F".repeat(99), 0)).toBe("0".repeat(99));
    expect(feed(s, "F", 29_999)).toBe("1");
    s.reset();
    expect(feed(s, "F".repeat(99), 0)).toBe("0".repeat(99));
    expect(feed(s, "F", 30_000)).toBe("0");
  });
});

describe("slowCallRate", () => {
  it("counts calls slower than slowMs, successes and failures alike, and opens above the rate", () => {
    const s = slowCallRate({ slowMs: 100, rate: 0.5, calls: 4, minimumCalls: 4 });
    expect(s.timed).toBe(true);
    expect(s.success(100, 0)).toBe(false); // exactly slowMs is not slow
    expect(s.failure(101, 0)).toBe(false);
    expect(s.success(Number.NaN, 0)).toBe(false); // no latency known: not slow
    expect(s.success(500, 0)).toBe(false); // 2 of 4
    expect(s.success(500, 0)).toBe(true); // 3 of 4
    expect(s.snapshot?.(0)).toEqual({ outcomes: [1, 0, 1, 1] });
  });
});

describe("anyStrategy", () => {
  it("opens when any strategy says so; every strategy sees every call", () => {
    const s = anyStrategy(consecutiveFailures(3), slowCallRate({ slowMs: 100, calls: 2 }));
    expect(s.timed).toBe(true);
    expect(s.failure(10, 0)).toBe(false);
    expect(s.failure(10, 0)).toBe(false);
    expect(s.failure(10, 0)).toBe(true); // third failure in a row
    s.reset();
    expect(s.success(200, 0)).toBe(false);
    expect(s.success(200, 0)).toBe(true); // both slow
    expect(s.snapshot?.(0)).toEqual({
      strategies: [
        { name: "consecutive-failures", state: { failures: 0 } },
        { name: "slow-call-rate", state: { outcomes: [1, 1] } },
      ],
    });
  });

  it("restores by index and name, all or nothing", () => {
    const s = anyStrategy(consecutiveFailures(3), failureRateByCount({ calls: 2 }));
    s.failure(Number.NaN, 0);
    const saved = s.snapshot?.(0);
    const e = thrown(() =>
      s.restore?.(
        {
          strategies: [
            { name: "consecutive-failures", state: { failures: 2 } },
            { name: "failure-rate-by-count", state: { outcomes: [3] } },
          ],
        },
        0,
      ),
    );
    expect((e as InvalidArgumentError).argument).toBe("state.strategies[1].state.outcomes[0]");
    expect(s.snapshot?.(0)).toEqual(saved);
    s.restore?.({ strategies: [{ name: "consecutive-failures", state: { failures: 2 } }, { name: "other" }] }, 0);
    expect(s.snapshot?.(0)).toEqual({
      strategies: [
        { name: "consecutive-failures", state: { failures: 2 } },
        { name: "failure-rate-by-count", state: { outcomes: [] } },
      ],
    });
    expect((thrown(() => s.restore?.({ strategies: [1] }, 0)) as InvalidArgumentError).argument).toBe(
      "state.strategies[0]",
    );
    expect((thrown(() => s.restore?.({ strategies: {} }, 0)) as InvalidArgumentError).argument).toBe(
      "state.strategies",
    );
  });
});

describe("strategy options", () => {
  it("throw InvalidConfigError naming each bad option", () => {
    expectConfigErrors(consecutiveFailures, [
      [0, "threshold"],
      [2.5, "threshold"],
    ]);
    expectConfigErrors(
      (o: unknown) => failureRateByCount(o as never),
      [
        [{ rate: 1 }, "rate"],
        [{ rate: -0.1 }, "rate"],
        [{ rate: "half" }, "rate"],
        [{ calls: 0 }, "calls"],
        [{ calls: 10, minimumCalls: 11 }, "minimumCalls"],
        ["x", "options"],
      ],
    );
    expectConfigErrors(
      (o: unknown) => failureRateByTime(o as never),
      [
        [{ windowMs: 0 }, "windowMs"],
        [{ windowMs: Number.POSITIVE_INFINITY }, "windowMs"],
        [{ buckets: 0 }, "buckets"],
        [{ buckets: 1001 }, "buckets"],
        [{ minimumCalls: 0 }, "minimumCalls"],
      ],
    );
    expectConfigErrors(
      (o: unknown) => slowCallRate(o as never),
      [
        [{}, "slowMs"],
        [{ slowMs: -1 }, "slowMs"],
        [{ slowMs: 10, rate: 1 }, "rate"],
        [undefined, "slowMs"],
      ],
    );
    expectConfigErrors(
      (...s: unknown[]) => anyStrategy(...(s as BreakerStrategy[])),
      [["strategies"], [{}, "strategies[0]"]],
    );
  });
});
