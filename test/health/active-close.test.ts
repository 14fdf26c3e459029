import { describe, expect, it } from "vitest";
import type { Clock } from "../../src/index.js";
import { activeHealthChecks, createUpstream, systemClock } from "../../src/index.js";
import { ManualClock, ManualResolver } from "../../src/testing/index.js";
import { ProbeServer, until } from "../helpers/health-servers.js";

/** Active resources of this process by kind (`process.getActiveResourcesInfo()`). */
function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

describe("activeHealthChecks(): close()", () => {
  it("with http and https probes in flight leaves no socket and no timer once it resolves", async () => {
    const http = await Promise.all([ProbeServer.http(), ProbeServer.http(), ProbeServer.http()]);
    const https = await ProbeServer.https();
    for (const s of [...http, https]) s.behaviour = "hold";
    const baseline = resources().TCPSocketWrap ?? 0;
    const clock = new ManualClock();
    const made = (["http", "https"] as const).map((type) => {
      const resolver = new ManualResolver();
      const checks = activeHealthChecks({ type, httpsVerifyCertificate: false, healthy: { intervalMs: 1000 } });
      const upstream = createUpstream({ name: type, resolver, clock, plugins: [checks] });
      resolver.push(type === "http" ? http.map((s) => s.address) : [https.address]);
      return { upstream, checks };
    });
    clock.advance(1000);
    await until(() => http.every((s) => s.held === 1) && https.held === 1, "probes held at every server");
    expect(made.map((m) => m.checks.describe().inFlight)).toEqual([3, 1]);
    const open = () => [...http, https].reduce((n, s) => n + s.openSockets, 0);
    expect(resources().TCPSocketWrap ?? 0).toBe(baseline + 4 + open()); // our 4 probes' sockets and the servers' ends
    await Promise.all(made.map((m) => m.upstream.close()));
    // Our probes' sockets are closed; what is left is the servers' ends of them, still closing.
    expect(resources().TCPSocketWrap ?? 0).toBe(baseline + open());
    expect(clock.pendingTimers).toBe(0);
    await until(() => open() === 0, "the servers' ends to close");
    expect(resources().TCPSocketWrap ?? 0).toBe(baseline);
    for (const s of [...http, https]) await s.stop();
  });

  it("on the system clock: the probe's timeout timer and the plug-in's timer are cancelled, and no socket is left", async () => {
    const s = await ProbeServer.http();
    s.behaviour = "hold";
    // The system clock, wrapped to count its timers still scheduled (real timers are
    // unref'd, so process.getActiveResourcesInfo() alone would not show them).
    let live = 0;
    const clock: Clock = {
      now: () => systemClock.now(),
      setTimer(callback, ms) {
        live++;
        let done = false;
        const settle = () => {
          if (!done) live--;
          done = true;
        };
        const timer = systemClock.setTimer(() => {
          settle();
          callback();
        }, ms);
        return {
          cancel: () => {
            settle();
            timer.cancel();
          },
        };
      },
    };
    const sockets = resources().TCPSocketWrap ?? 0;
    const resolver = new ManualResolver();
    const checks = activeHealthChecks({ jitter: 0, healthy: { intervalMs: 60_000 } });
    const upstream = createUpstream({ name: "api", resolver, clock, plugins: [checks] });
    resolver.push([s.address]);
    await until(() => s.held === 1, "the probe at the server");
    expect(live).toBe(1); // the probe's timeout (the plug-in's timer fired and waits for the probe to end)
    await upstream.close();
    expect(live).toBe(0);
    expect(resources().TCPSocketWrap ?? 0).toBe(sockets + s.openSockets);
    await until(() => s.openSockets === 0, "the server's end to close");
    expect(resources().TCPSocketWrap ?? 0).toBe(sockets);
    await s.stop();
  });

  it("right after a probe ended, close() still waits for its socket to close", async () => {
    const s = await ProbeServer.http();
    const sockets = resources().TCPSocketWrap ?? 0;
    const clock = new ManualClock();
    const resolver = new ManualResolver();
    const checks = activeHealthChecks({ jitter: 0, healthy: { intervalMs: 1000 } });
    const upstream = createUpstream({ name: "api", resolver, clock, plugins: [checks] });
    resolver.push([s.address]);
    clock.advance(0);
    await new Promise<void>((resolve) => {
      const tick = () => (checks.describe().probes === 1 ? resolve() : setImmediate(tick));
      tick();
    });
    await upstream.close();
    expect(resources().TCPSocketWrap ?? 0).toBe(sockets + s.openSockets);
    await until(() => s.openSockets === 0, "the server's end to close");
    await s.stop();
  });
});
