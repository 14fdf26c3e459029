import { afterEach, describe, expect, it } from "vitest";
import type {
  ActiveEndpointHealth,
  ActiveHealthChecksOptions,
  ActiveHealthChecksPlugin,
  ActiveProbeResult,
  EndpointInput,
} from "../../src/index.js";
import { activeHealthChecks, createUpstream, roundRobin } from "../../src/index.js";
import { ManualClock, ManualResolver, seededRandom } from "../../src/testing/index.js";
import { closedPort, Gauge, ProbeServer, TcpServer, until } from "../helpers/health-servers.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Starts a server and stops it after the test. */
async function server(kind: "http" | "https" = "http", gauge?: Gauge): Promise<ProbeServer> {
  const s = kind === "http" ? await ProbeServer.http(gauge) : await ProbeServer.https(gauge);
  cleanups.push(() => s.stop());
  return s;
}

/** An upstream over real endpoints with active checks on a ManualClock (jitter 0 unless asked). */
function setup(options: ActiveHealthChecksOptions, endpoints: readonly (string | EndpointInput)[]) {
  const resolver = new ManualResolver();
  const clock = new ManualClock();
  const results: string[] = [];
  const changes: string[] = [];
  const checks = activeHealthChecks({
    jitter: 0,
    onProbe: (e, r) => results.push(`${e.id} ${r.status ?? r.failure ?? "connected"}@${r.atMs}`),
    onHealthChange: (e, c) => changes.push(`${e.id} ${c.from}>${c.to}@${c.at}`),
    ...options,
  });
  const upstream = createUpstream({
    name: "api",
    resolver,
    clock,
    random: seededRandom(1),
    balancer: roundRobin(),
    plugins: [checks],
    attemptTimeoutMs: Number.POSITIVE_INFINITY,
  });
  cleanups.push(() => upstream.close());
  resolver.push(endpoints);
  const view = (id: string) => {
    const e = upstream.snapshot().endpoints.find((x) => x.endpoint.id === id);
    return e?.plugins["active-health"] as ActiveEndpointHealth | undefined;
  };
  /** Advances the clock by `ms`, then waits until every probe it started has ended. */
  const step = async (ms: number) => {
    clock.advance(ms);
    await idle(checks);
  };
  return { resolver, clock, checks, upstream, results, changes, view, step };
}

function idle(checks: ActiveHealthChecksPlugin): Promise<void> {
  return until(() => {
    const d = checks.describe();
    return d.inFlight === 0 && d.queued === 0;
  }, "probes to end");
}

describe("activeHealthChecks() against real servers", () => {
  it("http: a server that turns 500 is ejected after exactly httpFailures probes, and let back after successes", async () => {
    const s = await server();
    const id = s.address;
    const { step, view, changes, upstream, results } = setup(
      { healthy: { intervalMs: 1000, successes: 2 }, unhealthy: { intervalMs: 500, httpFailures: 3 } },
      [id],
    );
    await step(0);
    expect(view(id)).toEqual({
      state: "healthy",
      since: 0,
      successes: 0,
      httpFailures: 0,
      tcpFailures: 0,
      timeouts: 0,
      lastProbe: { status: 200, atMs: 0 },
    });
    s.status = 500;
    await step(1000);
    await step(1000);
    expect(view(id)).toMatchObject({ state: "healthy", httpFailures: 2 });
    expect(upstream.snapshot().endpoints[0]?.ejections).toEqual([]);
    await step(1000);
    expect(view(id)).toMatchObject({ state: "unhealthy", since: 3000, httpFailures: 3 });
    expect(upstream.snapshot().endpoints[0]).toMatchObject({ health: "UNHEALTHY", ejections: ["active-health"] });
    // Now every unhealthy.intervalMs.
    await step(499);
    expect(s.requests).toHaveLength(4);
    await step(1);
    expect(s.requests).toHaveLength(5);
    s.status = 418; // in neither list: ignored
    await step(500);
    expect(view(id)).toMatchObject({ state: "unhealthy", successes: 0, httpFailures: 3, lastProbe: { status: 418 } });
    s.status = 200;
    await step(500);
    expect(view(id)).toMatchObject({ state: "unhealthy", successes: 1, httpFailures: 0 });
    await step(500);
    expect(view(id)).toMatchObject({ state: "healthy", since: 5000, successes: 2 });
    expect(upstream.snapshot().endpoints[0]).toMatchObject({ health: "HEALTHY", ejections: [] });
    expect(changes).toEqual([`${id} healthy>unhealthy@3000`, `${id} unhealthy>healthy@5000`]);
    expect(results).toEqual([
      `${id} 200@0`,
      `${id} 500@1000`,
      `${id} 500@2000`,
      `${id} 500@3000`,
      `${id} 500@3500`,
      `${id} 418@4000`,
      `${id} 200@4500`,
      `${id} 200@5000`,
    ]);
    expect(s.requests).toHaveLength(8);
  });

  it("sends an HTTP/1.1 GET of httpPath with Host, Connection: close and the configured headers", async () => {
    const a = await server();
    const b = await server();
    const { step } = setup(
      {
        httpPath: "/status?probe=1",
        headers: { "X-Probe": ["one", "two"], "user-agent": "switchyard-probe" },
        healthy: { intervalMs: 1000 },
        unhealthy: { intervalMs: 1000, httpFailures: 1 },
      },
      [a.address, { host: "127.0.0.1", port: b.port, hostname: "api.test" }],
    );
    await step(0);
    expect(a.requests).toHaveLength(1);
    const seen = a.requests[0];
    expect(seen).toMatchObject({ method: "GET", url: "/status?probe=1", httpVersion: "1.1" });
    expect(seen?.headers).toMatchObject({
      host: a.address,
      connection: "close",
      "x-probe": "one, two",
      "user-agent": "switchyard-probe",
    });
    const raw = seen?.rawHeaders ?? [];
    expect(raw.filter((_, i) => i % 2 === 0 && raw[i]?.toLowerCase() === "x-probe").length).toBe(2);
    expect(b.requests[0]?.headers.host).toBe("api.test"); // the endpoint's hostname, as Kong
  });

  it("a host header replaces the default Host", async () => {
    const a = await server();
    const { step } = setup({ headers: { Host: "virtual.test" }, healthy: { intervalMs: 1000 } }, [a.address]);
    await step(0);
    expect(a.requests[0]?.headers.host).toBe("virtual.test");
  });

  it("a slow server: timeouts count when no status line comes within timeoutMs (a Clock timer), and the socket is closed", async () => {
    const s = await server();
    s.behaviour = "hold";
    const id = s.address;
    const { clock, checks, view, step, changes } = setup(
      {
        timeoutMs: 300,
        healthy: { intervalMs: 1000, successes: 1 },
        unhealthy: { intervalMs: 1000, timeouts: 2 },
      },
      [id],
    );
    clock.advance(0);
    await until(() => s.held === 1, "the probe to reach the server");
    clock.advance(299);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(checks.describe().inFlight).toBe(1); // real time does not time it out: the clock does
    await step(1);
    expect(view(id)).toMatchObject({ state: "healthy", timeouts: 1, lastProbe: { failure: "timeout", atMs: 300 } });
    await until(() => s.held === 0, "the server to see the probe's socket close");
    clock.advance(1000);
    await until(() => s.held === 1, "the second probe");
    await step(300);
    expect(view(id)).toMatchObject({ state: "unhealthy", since: 1600, timeouts: 2 });
    s.behaviour = "answer";
    await step(1000);
    expect(view(id)).toMatchObject({ state: "healthy", since: 2600, successes: 1, timeouts: 0 });
    expect(changes).toEqual([`${id} healthy>unhealthy@1600`, `${id} unhealthy>healthy@2600`]);
  });

  it("a server that hangs up is a TCP failure; one that answers garbage is an HTTP failure (Kong's status 0)", async () => {
    const s = await server();
    const id = s.address;
    const { view, step } = setup(
      { healthy: { intervalMs: 1000 }, unhealthy: { intervalMs: 1000, httpFailures: 5, tcpFailures: 5 } },
      [id],
    );
    s.behaviour = "hang-up";
    await step(0);
    expect(view(id)?.lastProbe).toEqual({ failure: "tcp", error: "ECONNRESET", atMs: 0 });
    expect(view(id)).toMatchObject({ tcpFailures: 1, httpFailures: 0 });
    s.behaviour = "garbage";
    await step(1000);
    expect(view(id)?.lastProbe).toMatchObject({ failure: "http", atMs: 1000 });
    expect(view(id)?.lastProbe?.error).toMatch(/^HPE_/);
    expect(view(id)).toMatchObject({ tcpFailures: 1, httpFailures: 1 });
  });

  it("tcp: a stopped server is a TCP failure, and it comes back once it listens again", async () => {
    const t = await TcpServer.start();
    cleanups.push(() => t.stop());
    const id = t.address;
    const { view, step, upstream } = setup(
      { type: "tcp", healthy: { intervalMs: 1000, successes: 1 }, unhealthy: { intervalMs: 200, tcpFailures: 2 } },
      [id],
    );
    await step(0);
    expect(t.connections).toBe(1);
    expect(view(id)?.lastProbe).toEqual({ atMs: 0 });
    await t.stop();
    await step(1000);
    expect(view(id)).toMatchObject({
      state: "healthy",
      tcpFailures: 1,
      lastProbe: { failure: "tcp", error: "ECONNREFUSED" },
    });
    await step(1000);
    expect(view(id)).toMatchObject({ state: "unhealthy", since: 2000, tcpFailures: 2 });
    expect(upstream.snapshot().endpoints[0]?.ejections).toEqual(["active-health"]);
    await t.start();
    await step(200);
    expect(view(id)).toMatchObject({ state: "healthy", since: 2200, successes: 1, tcpFailures: 0 });
    expect(t.connections).toBe(2);
  });

  it("a port nobody listens on is a TCP failure for an http probe too", async () => {
    const port = await closedPort();
    const id = `127.0.0.1:${port}`;
    const { view, step } = setup({ healthy: { intervalMs: 1000 }, unhealthy: { intervalMs: 1000, tcpFailures: 1 } }, [
      id,
    ]);
    await step(0);
    expect(view(id)).toMatchObject({
      state: "unhealthy",
      tcpFailures: 1,
      lastProbe: { failure: "tcp", error: "ECONNREFUSED" },
    });
  });

  it("concurrency: at most `concurrency` probes reach the servers at once, the rest wait their turn", async () => {
    const gauge = new Gauge();
    const servers = await Promise.all(Array.from({ length: 8 }, () => server("http", gauge)));
    for (const s of servers) s.behaviour = "hold";
    const { clock, checks } = setup(
      { concurrency: 3, healthy: { intervalMs: 10_000 } },
      servers.map((s) => s.address),
    );
    clock.advance(0);
    await until(() => gauge.open === 3, "three probes at the servers");
    expect(checks.describe()).toMatchObject({ inFlight: 3, queued: 5 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(gauge.open).toBe(3);
    for (let round = 0; round < 3; round++) {
      const before = servers.reduce((n, s) => n + s.requests.length, 0);
      for (const s of servers) s.release();
      await until(
        () =>
          servers.reduce((n, s) => n + s.requests.length, 0) === Math.min(8, before + 3) &&
          gauge.open === Math.min(3, 8 - before),
        "the next probes in line",
      );
    }
    await idle(checks);
    expect(servers.map((s) => s.requests.length)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expect(gauge.max).toBe(3);
  });

  it("a drained endpoint (weight 0) is never probed", async () => {
    const live = await server();
    const drained = await server();
    const { step, checks } = setup({ healthy: { intervalMs: 1000 } }, [
      live.address,
      { host: "127.0.0.1", port: drained.port, weight: 0 },
    ]);
    for (let i = 0; i < 5; i++) await step(i === 0 ? 0 : 1000);
    expect(live.requests).toHaveLength(5);
    expect(drained.requests).toHaveLength(0);
    expect(checks.describe()).toEqual({ healthy: 2, unhealthy: 0, inFlight: 0, queued: 0, probes: 5 });
  });

  it("an endpoint that leaves has its probe in flight aborted (the server sees the socket close)", async () => {
    const s = await server();
    s.behaviour = "hold";
    const other = await server();
    other.behaviour = "hold";
    const { clock, resolver, checks } = setup({ healthy: { intervalMs: 1000 } }, [s.address, other.address]);
    clock.advance(0);
    await until(() => s.held === 1 && other.held === 1, "both probes at their servers");
    resolver.push([other.address]);
    expect(checks.describe()).toMatchObject({ inFlight: 1 });
    await until(() => s.held === 0, "the aborted probe's socket to close");
    expect(checks.state(s.address)).toBeUndefined();
  });

  it("snapshot() sections are plain JSON-safe data", async () => {
    const s = await server();
    const { step, upstream } = setup({ healthy: { intervalMs: 1000 } }, [s.address]);
    await step(0);
    const snap = upstream.snapshot();
    expect(JSON.parse(JSON.stringify(snap.plugins))).toEqual(snap.plugins);
    expect(JSON.parse(JSON.stringify(snap.endpoints[0]?.plugins))).toEqual(snap.endpoints[0]?.plugins);
    expect(snap.plugins["active-health"]).toEqual({ healthy: 1, unhealthy: 0, inFlight: 0, queued: 0, probes: 1 });
    const view = snap.endpoints[0]?.plugins["active-health"] as ActiveEndpointHealth;
    const last: ActiveProbeResult | undefined = view.lastProbe;
    expect(last).toEqual({ status: 200, atMs: 0 });
  });
});
