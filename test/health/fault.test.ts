/**
 * Fault test with real servers: three HTTP servers on 127.0.0.1, an upstream
 * with passive health checks (then outlier detection), and the real global
 * fetch through begin() / endpointOf() / end(). One server is closed during
 * a run of attempts (connections refused, pooled ones broken): it is ejected
 * after exactly the configured failures, gets no request while ejected (its
 * server counts them), and once it listens again on the same port it comes
 * back by itself when the ejection time is up (the ManualClock advanced),
 * with no restart and no manual call. Bounded loops; everything is closed.
 */
import { once } from "node:events";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { createServer } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import type { Outcome, Upstream, UpstreamPlugin } from "../../src/index.js";
import { createUpstream, outlierDetection, passiveHealthChecks, roundRobin, staticResolver } from "../../src/index.js";
import { ManualClock, seededRandom } from "../../src/testing/index.js";
import { activeHandles, expectNoNewHandles } from "../helpers/dns-server.js";

/** A backend that answers 200 and counts the requests it gets; can be closed and started again on its port. */
class Backend {
  requests = 0;
  port = 0;
  #server: Server | undefined;

  async start(port = 0): Promise<void> {
    const server = createServer((_req: IncomingMessage, res: ServerResponse) => {
      this.requests++;
      res.end("ok");
    });
    server.listen(port, "127.0.0.1");
    await once(server, "listening");
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  /** Stops listening and breaks every open connection, pooled keep-alive ones included. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    const closed = once(server, "close");
    server.close();
    server.closeAllConnections();
    await closed;
  }
}

/** How a failed fetch reads as an outcome: refused is `connect`, a broken connection `reset`. */
function failureOf(error: unknown): Outcome {
  const code = (error as { cause?: { code?: unknown } }).cause?.code;
  if (code === "ECONNREFUSED") return { failure: "connect" };
  if (code === "UND_ERR_CONNECT_TIMEOUT" || (error as Error).name === "TimeoutError") return { failure: "timeout" };
  return { failure: "reset" };
}

/** One attempt with the real fetch: begin, fetch the endpoint, end with what happened. */
async function attempt(upstream: Upstream): Promise<{ port: number; outcome: Outcome }> {
  const token = upstream.begin();
  const target = upstream.endpointOf(token);
  if (target === undefined) throw new Error("no endpoint for a fresh token");
  let outcome: Outcome;
  try {
    const response = await fetch(`http://${target.host}:${target.port}/`, { signal: AbortSignal.timeout(5000) });
    await response.text();
    outcome = { status: response.status };
  } catch (error) {
    outcome = failureOf(error);
  }
  upstream.end(token, outcome);
  return { port: target.port, outcome };
}

const backends = [new Backend(), new Backend(), new Backend()];
let upstream: Upstream | undefined;

afterEach(async () => {
  await upstream?.close();
  upstream = undefined;
  for (const b of backends) await b.stop();
});

async function setup(plugin: UpstreamPlugin) {
  for (const b of backends) {
    b.requests = 0;
    await b.start();
  }
  const clock = new ManualClock();
  upstream = createUpstream({
    name: "api",
    resolver: staticResolver(backends.map((b) => `http://127.0.0.1:${b.port}`)),
    balancer: roundRobin(),
    plugins: [plugin],
    clock,
    random: seededRandom(11),
  });
  await upstream.ready();
  const u = upstream;
  const health = (port: number) => u.snapshot().endpoints.find((e) => e.endpoint.port === port);
  /** `n` attempts one after another; returns the port and outcome kind of each. */
  const runs = async (n: number) => {
    const out: { port: number; kind: string }[] = [];
    for (let i = 0; i < n; i++) {
      const { port, outcome } = await attempt(u);
      out.push({ port, kind: outcome.failure ?? String(outcome.status) });
    }
    return out;
  };
  return { clock, upstream: u, health, runs };
}

/** Attempts per port. */
function perPort(results: readonly { port: number }[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const r of results) counts[r.port] = (counts[r.port] ?? 0) + 1;
  return counts;
}

describe("fault test: three real backends, one goes down and comes back", () => {
  it("passive health checks: ejected after exactly 3 TCP failures, no traffic while out, back by itself after ejectionMs", async () => {
    const handles = await activeHandles();
    const { clock, upstream, health, runs } = await setup(
      passiveHealthChecks({ healthy: { successes: 2 }, unhealthy: { tcpFailures: 3 }, ejectionMs: 30_000 }),
    );
    const [a, b, c] = backends as [Backend, Backend, Backend];
    expect(perPort(await runs(9))).toEqual({ [a.port]: 3, [b.port]: 3, [c.port]: 3 });

    await b.stop();
    // Round robin: b's three turns in the next nine attempts fail; the third, and only it, ejects b.
    const seen: string[] = [];
    for (let i = 0; i < 9; i++) {
      const [r] = await runs(1);
      if (r?.port !== b.port) {
        expect(r?.kind).toBe("200");
        continue;
      }
      expect(["connect", "reset"]).toContain(r.kind);
      const view = health(b.port)?.plugins["passive-health"] as { state: string; tcpFailures: number };
      seen.push(`${view.state}:${view.tcpFailures}`);
    }
    expect(seen).toEqual(["healthy:1", "healthy:2", "unhealthy:0"]);
    expect(health(b.port)).toMatchObject({ health: "UNHEALTHY", ejections: ["passive-health"], failures: 3 });
    expect(health(b.port)?.plugins["passive-health"]).toMatchObject({
      state: "unhealthy",
      ejections: 1,
      until: 30_000,
    });

    const out = await runs(12);
    expect(perPort(out)).toEqual({ [a.port]: 6, [c.port]: 6 });

    await b.start(b.port); // listening again on the same port: still out until the ejection time is up
    const requestsBefore = b.requests;
    expect(perPort(await runs(6))).toEqual({ [a.port]: 3, [c.port]: 3 });
    expect(b.requests).toBe(requestsBefore);

    clock.advance(30_000); // the plug-in's timer: b is let back on probation
    expect(health(b.port)).toMatchObject({ health: "HEALTHY", ejections: [] });
    expect(health(b.port)?.plugins["passive-health"]).toMatchObject({ state: "probation" });
    const back = await runs(9);
    expect(perPort(back)).toEqual({ [a.port]: 3, [b.port]: 3, [c.port]: 3 });
    expect(back.every((r) => r.kind === "200")).toBe(true);
    expect(b.requests).toBe(requestsBefore + 3);
    expect(health(b.port)?.plugins["passive-health"]).toMatchObject({ state: "healthy", ejections: 1 });
    expect(clock.pendingTimers).toBe(1); // the upstream's attempt reaper alone: the plug-in holds none

    await upstream.close();
    expect(clock.pendingTimers).toBe(0);
    for (const x of backends) await x.stop();
    expectNoNewHandles(handles, await activeHandles());
  });

  it("outlier detection: ejected at the 3rd consecutive 5xx (refused counts as 503), back at the first sweep after 30 s", async () => {
    const { clock, upstream, health, runs } = await setup(
      outlierDetection({ consecutive5xx: 3, baseEjectionTimeMs: 30_000, intervalMs: 10_000 }),
    );
    const [a, b, c] = backends as [Backend, Backend, Backend];
    expect(perPort(await runs(9))).toEqual({ [a.port]: 3, [b.port]: 3, [c.port]: 3 });
    await b.stop();
    const seen: string[] = [];
    for (let i = 0; i < 9; i++) {
      const [r] = await runs(1);
      if (r?.port !== b.port) continue;
      const view = health(b.port)?.plugins["outlier-detection"] as { ejected: boolean; consecutive5xx: number };
      seen.push(`${view.ejected}:${view.consecutive5xx}`);
    }
    expect(seen).toEqual(["false:1", "false:2", "true:0"]);
    expect(health(b.port)).toMatchObject({ health: "UNHEALTHY", ejections: ["outlier-detection"] });
    expect(health(b.port)?.plugins["outlier-detection"]).toMatchObject({
      ejected: true,
      ejectedBy: "consecutive-5xx",
      ejectedAt: 0,
      until: 30_000,
      timesEjected: 1,
    });
    expect(perPort(await runs(12))).toEqual({ [a.port]: 6, [c.port]: 6 });

    await b.start(b.port);
    clock.advance(20_000); // two sweeps: the ejection time is not up
    expect(perPort(await runs(6))).toEqual({ [a.port]: 3, [c.port]: 3 });
    clock.advance(10_000); // the sweep at 30 s lets it back
    expect(health(b.port)).toMatchObject({ health: "HEALTHY", ejections: [] });
    const back = await runs(9);
    expect(perPort(back)).toEqual({ [a.port]: 3, [b.port]: 3, [c.port]: 3 });
    expect(back.every((r) => r.kind === "200")).toBe(true);
    expect(health(b.port)?.plugins["outlier-detection"]).toMatchObject({
      ejected: false,
      timesEjected: 1,
      multiplier: 1,
    });
    await upstream.close(); // the sweep timer goes with it
    expect(clock.pendingTimers).toBe(0);
  });
});
