import { describe, expect, it, vi } from "vitest";
import type { Clock, Timer } from "../../src/index.js";
import { ManualClock } from "../../src/testing/index.js";
import type { PriorityPlanner } from "../../src/upstream/planner.js";
import { RebuildRequests } from "../../src/upstream/rebuild-requests.js";

/** A planner stand-in that records which levels were touched and when it flushed. */
function fakePlanner(levels: readonly number[], clock: Clock) {
  const log: string[] = [];
  const planner = {
    touchLevel: vi.fn((priority: number) => {
      log.push(`touch ${priority} at ${clock.now()}`);
      return levels.includes(priority);
    }),
    flush: vi.fn(() => {
      log.push(`flush at ${clock.now()}`);
      return true;
    }),
  };
  return { planner: planner as unknown as PriorityPlanner, log, flush: planner.flush };
}

describe("RebuildRequests", () => {
  it("rebuilds each level when its request is due, with one timer at a time; a repeated request keeps the earlier time", () => {
    const clock = new ManualClock();
    const { planner, log } = fakePlanner([0, 1], clock);
    const rebuilt = vi.fn();
    const requests = new RebuildRequests(clock, planner, rebuilt);
    requests.request(1, 500);
    requests.request(0, 200);
    requests.request(1, 900); // later than the one waiting: ignored
    expect([requests.pending, clock.pendingTimers]).toEqual([2, 1]);
    clock.advance(1000);
    expect(log).toEqual(["touch 0 at 200", "flush at 200", "touch 1 at 500", "flush at 500"]);
    expect(rebuilt).toHaveBeenCalledTimes(2);
    expect([requests.pending, clock.pendingTimers]).toEqual([0, 0]);
  });

  it("a level gone by then is skipped: nothing is rebuilt", () => {
    const clock = new ManualClock();
    const { planner, flush } = fakePlanner([0], clock);
    const rebuilt = vi.fn();
    new RebuildRequests(clock, planner, rebuilt).request(3, 100);
    clock.advance(100);
    expect(flush).not.toHaveBeenCalled();
    expect(rebuilt).not.toHaveBeenCalled();
  });

  it("a timer that fires before the time due (a real timer can, by a fraction of a ms) touches nothing and waits again", () => {
    let time = 0;
    const fired: { callback: () => void; ms: number }[] = [];
    const clock: Clock = {
      now: () => time,
      setTimer(callback, ms): Timer {
        fired.push({ callback, ms });
        return { cancel: () => {} };
      },
    };
    const { planner, log } = fakePlanner([0], clock);
    const requests = new RebuildRequests(clock, planner, () => {});
    requests.request(0, 100);
    time = 99.6;
    fired[0]?.callback();
    expect(log).toEqual([]);
    expect(fired.map((f) => Number(f.ms.toFixed(1)))).toEqual([100, 0.4]);
    time = 100;
    fired[1]?.callback();
    expect(log).toEqual(["touch 0 at 100", "flush at 100"]);
  });

  it("close() cancels the timer and ignores later requests", () => {
    const clock = new ManualClock();
    const { planner, flush } = fakePlanner([0], clock);
    const requests = new RebuildRequests(clock, planner, () => {});
    requests.request(0, 100);
    requests.close();
    expect([requests.pending, clock.pendingTimers]).toEqual([0, 0]);
    requests.request(0, 100);
    expect(clock.pendingTimers).toBe(0);
    clock.advance(1000);
    expect(flush).not.toHaveBeenCalled();
  });
});
