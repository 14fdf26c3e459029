import { describe, expect, it } from "vitest";
import { sleep } from "../../src/clock.js";
import { InvalidArgumentError } from "../../src/index.js";
import { ManualClock, SeededRandom, seededRandom } from "../../src/testing/index.js";

describe("ManualClock", () => {
  it("fires timers in due order, then scheduling order, including ones scheduled while advancing", () => {
    const clock = new ManualClock(1000);
    const fired: string[] = [];
    clock.setTimer(() => fired.push(`b@${clock.now()}`), 20);
    clock.setTimer(() => {
      fired.push(`a@${clock.now()}`);
      clock.setTimer(() => fired.push(`c@${clock.now()}`), 5);
    }, 10);
    clock.setTimer(() => fired.push(`b2@${clock.now()}`), 20);
    const cancelled = clock.setTimer(() => fired.push("never"), 15);
    cancelled.cancel();
    clock.advance(19);
    expect(fired).toEqual(["a@1010", "c@1015"]);
    expect(clock.now()).toBe(1019);
    clock.advance(1);
    expect(fired).toEqual(["a@1010", "c@1015", "b@1020", "b2@1020"]);
    expect(clock.pendingTimers).toBe(0);
    expect(clock.runNext()).toBe(false);
  });

  it("advanceTo(time) fires due timers in order and lands exactly on time; never backwards", () => {
    const clock = new ManualClock(0.1);
    const fired: number[] = [];
    clock.setTimer(() => fired.push(clock.now()), 0.1); // due at 0.2
    clock.setTimer(() => fired.push(clock.now()), 5); // due at 5.1
    clock.advanceTo(0.3);
    expect([clock.now(), fired]).toEqual([0.3, [0.2]]); // advance(0.2) would land on 0.30000000000000004
    const other = new ManualClock(0.1);
    other.advance(0.2);
    expect(other.now()).not.toBe(0.3);
    clock.advanceTo(5.1);
    expect(fired).toEqual([0.2, 5.1]);
    clock.advanceTo(5.1); // standing still is allowed
    expect(() => clock.advanceTo(5)).toThrow(InvalidArgumentError);
    expect(() => clock.advanceTo(Number.NaN)).toThrow(/time/);
    expect(clock.now()).toBe(5.1);
  });

  it("advanceAsync lets async work started by a timer finish before the next one", async () => {
    const clock = new ManualClock();
    const log: string[] = [];
    const loop = async () => {
      for (let i = 0; i < 3; i++) {
        await sleep(clock, 100);
        await Promise.resolve();
        log.push(`tick ${i} @${clock.now()}`);
      }
    };
    const done = loop();
    await clock.advanceAsync(250);
    expect(log).toEqual(["tick 0 @100", "tick 1 @200"]);
    await clock.advanceAsync(50);
    await done;
    expect(log).toEqual(["tick 0 @100", "tick 1 @200", "tick 2 @300"]);
  });

  it("sleep() rejects with the abort reason and cancels its timer", async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const slept = sleep(clock, 1000, controller.signal);
    expect(clock.pendingTimers).toBe(1);
    controller.abort(new Error("stop"));
    await expect(slept).rejects.toThrow("stop");
    expect(clock.pendingTimers).toBe(0);
    await expect(sleep(clock, 1, AbortSignal.abort(new Error("early")))).rejects.toThrow("early");
  });
});

describe("seededRandom", () => {
  it("repeats a sequence for a seed and differs between seeds", () => {
    const a = seededRandom(42);
    const b = new SeededRandom(42);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(seededRandom(43).next()).not.toBe(xs[0]);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it("is uniform enough: mean and deciles of 100,000 draws", () => {
    const r = seededRandom(7);
    const deciles = new Array<number>(10).fill(0);
    let sum = 0;
    for (let i = 0; i < 100_000; i++) {
      const x = r.next();
      sum += x;
      deciles[Math.floor(x * 10)]! += 1;
    }
    expect(Math.abs(sum / 100_000 - 0.5)).toBeLessThan(0.005);
    for (const d of deciles) expect(Math.abs(d - 10_000)).toBeLessThan(500);
  });
});
