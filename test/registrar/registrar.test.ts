import { describe, expect, it } from "vitest";
import { ClosedError, InvalidConfigError } from "../../src/index.js";
import { ManualClock, seededRandom } from "../../src/testing/index.js";
import { FakeRegistrar } from "./fake-registrar.js";

function setup(heartbeatIntervalMs: number | null = 10_000) {
  const clock = new ManualClock();
  const r = new FakeRegistrar({
    clock,
    random: seededRandom(1),
    retry: { initialMs: 1000, maxMs: 8000, jitter: 0 },
    now: () => clock.now(),
    ...(heartbeatIntervalMs === null ? {} : { heartbeatIntervalMs }),
  });
  const events: string[] = [];
  for (const e of ["registered", "lost", "deregistered"] as const) r.on(e, () => events.push(`${e}@${clock.now()}`));
  r.on("error", (e) => events.push(`error@${clock.now()}:${e.message}`));
  return { clock, r, events };
}

describe("Registrar", () => {
  it("registers, heartbeats on the interval, and deregisters on close(), leaving no timer", async () => {
    const { clock, r, events } = setup();
    expect(r.state).toBe("idle");
    await r.start();
    expect(r.registered).toBe(true);
    await clock.advanceAsync(30_000);
    await r.close();
    expect(r.state).toBe("closed");
    expect(r.log).toEqual(["register@0", "heartbeat@10000", "heartbeat@20000", "heartbeat@30000", "deregister@30000"]);
    expect(events).toEqual(["registered@0", "deregistered@30000"]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("retries a failed registration with backoff (1 s, 2 s, 4 s, capped at 8 s) and resolves start() once registered", async () => {
    const { clock, r, events } = setup();
    r.script.register = ["fail", "fail", "fail", "fail", "fail"];
    let started = false;
    void r.start().then(() => {
      started = true;
    });
    await clock.advanceAsync(1000 + 2000 + 4000 + 8000);
    expect(started).toBe(false);
    await clock.advanceAsync(8000);
    expect(started).toBe(true);
    expect(r.log).toEqual([
      "register@0:fail",
      "register@1000:fail",
      "register@3000:fail",
      "register@7000:fail",
      "register@15000:fail",
      "register@23000",
    ]);
    expect(events.filter((e) => e.startsWith("error"))).toHaveLength(5);
    expect(r.lastError).toBeUndefined();
    await r.close();
  });

  it("a heartbeat that finds the registration lost registers again at once; a failed one is retried sooner", async () => {
    const { clock, r, events } = setup();
    r.script.heartbeat = ["fail", "ok", "lost"];
    await r.start();
    await clock.advanceAsync(10_000); // heartbeat fails
    expect(r.lastError?.message).toBe("heartbeat failed");
    await clock.advanceAsync(1000); // retried after 1 s
    await clock.advanceAsync(10_000); // lost: register again
    expect(r.log).toEqual([
      "register@0",
      "heartbeat@10000:fail",
      "heartbeat@11000",
      "heartbeat@21000:lost",
      "register@21000",
    ]);
    expect(events).toEqual(["registered@0", "error@10000:heartbeat failed", "lost@21000", "registered@21000"]);
    await r.close();
  });

  it("without a heartbeat interval (Kong), holds no timer while registered", async () => {
    const { clock, r } = setup(null);
    await r.start();
    expect(clock.pendingTimers).toBe(0);
    await clock.advanceAsync(1e6);
    await r.close();
    expect(r.log).toEqual(["register@0", "deregister@1000000"]);
  });

  it("close() during a registration in flight aborts it, deregisters anyway, and rejects start()", async () => {
    const { clock, r } = setup();
    r.script.register = ["hang"];
    const started = r.start();
    await r.close();
    await expect(started).rejects.toBeInstanceOf(ClosedError);
    expect(r.log).toEqual(["register@0:hang", "deregister@0"]);
    expect(clock.pendingTimers).toBe(0);
    await expect(r.start()).rejects.toBeInstanceOf(ClosedError);
  });

  it("close() gives a deregistration up after timeoutMs, with an error event, and still resolves", async () => {
    const { clock, r, events } = setup();
    r.script.deregister = ["hang"];
    await r.start();
    const closed = r.close({ timeoutMs: 2000 });
    await clock.advanceAsync(2000);
    await closed;
    expect(events).toEqual(["registered@0", "error@2000:deregistration took over 2000 ms"]);
    expect(r.state).toBe("closed");
    expect(clock.pendingTimers).toBe(0);
  });

  it("close() before start() does nothing with the registry; close() twice is one close", async () => {
    const { r } = setup();
    await Promise.all([r.close(), r.close()]);
    expect(r.log).toEqual([]);
  });

  it("start() with a signal rejects when it aborts first; the registrar keeps trying until close()", async () => {
    const { clock, r } = setup();
    r.script.register = ["fail", "fail"];
    const controller = new AbortController();
    const started = r.start({ signal: controller.signal });
    controller.abort(new Error("gave up"));
    await expect(started).rejects.toThrow("gave up");
    await clock.advanceAsync(3000);
    expect(r.registered).toBe(true);
    await r.close();
  });

  it("rejects bad retry options with InvalidConfigError naming the option", () => {
    const clock = new ManualClock();
    for (const [retry, option] of [
      [{ initialMs: 0 }, "retry.initialMs"],
      [{ initialMs: 5000, maxMs: 1000 }, "retry.maxMs"],
      [{ factor: 0.5 }, "retry.factor"],
      [{ jitter: 2 }, "retry.jitter"],
      [[], "retry"],
    ] as const) {
      let caught: unknown;
      try {
        new FakeRegistrar({ clock, now: () => 0, retry: retry as never });
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(InvalidConfigError);
      expect((caught as InvalidConfigError).option).toBe(option);
    }
  });
});
