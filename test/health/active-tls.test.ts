import { afterEach, describe, expect, it } from "vitest";
import type { ActiveEndpointHealth, ActiveHealthChecksOptions, EndpointInput } from "../../src/index.js";
import { activeHealthChecks, createUpstream } from "../../src/index.js";
import { ManualClock, ManualResolver } from "../../src/testing/index.js";
import { ProbeServer, until } from "../helpers/health-servers.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** One https probe of `endpoint` with `options`; returns the endpoint's view after it. */
async function probeOnce(options: ActiveHealthChecksOptions, endpoint: string | EndpointInput) {
  const resolver = new ManualResolver();
  const clock = new ManualClock();
  const checks = activeHealthChecks({
    type: "https",
    jitter: 0,
    healthy: { intervalMs: 1000 },
    unhealthy: { intervalMs: 1000, tcpFailures: 1 },
    ...options,
  });
  const upstream = createUpstream({ name: "api", resolver, clock, plugins: [checks] });
  cleanups.push(() => upstream.close());
  resolver.push([endpoint]);
  clock.advance(0);
  await until(() => checks.describe().probes === 1, "the probe to end");
  return upstream.snapshot().endpoints[0]?.plugins["active-health"] as ActiveEndpointHealth;
}

async function httpsServer(): Promise<ProbeServer> {
  const s = await ProbeServer.https();
  cleanups.push(() => s.stop());
  return s;
}

describe("activeHealthChecks() over https", () => {
  it("verifies the certificate by default: a self-signed one is a TCP failure (Kong: a TLS failure is a TCP failure)", async () => {
    const s = await httpsServer();
    const view = await probeOnce({}, s.address);
    expect(view).toMatchObject({
      state: "unhealthy",
      tcpFailures: 1,
      lastProbe: { failure: "tcp", error: "DEPTH_ZERO_SELF_SIGNED_CERT", atMs: 0 },
    });
    expect(s.requests).toHaveLength(0);
  });

  it("with httpsVerifyCertificate false the probe goes through; no SNI is sent for a bare IP address", async () => {
    const s = await httpsServer();
    const view = await probeOnce({ httpsVerifyCertificate: false }, s.address);
    expect(view).toMatchObject({ state: "healthy", tcpFailures: 0, lastProbe: { status: 200, atMs: 0 } });
    expect(s.requests).toHaveLength(1);
    expect(s.requests[0]).toMatchObject({ method: "GET", url: "/", servername: false });
    expect(s.requests[0]?.headers.host).toBe(s.address);
  });

  it("sends the endpoint's hostname as SNI and Host, or httpsSni when set", async () => {
    const s = await httpsServer();
    await probeOnce({ httpsVerifyCertificate: false }, { host: "127.0.0.1", port: s.port, hostname: "api.test" });
    await probeOnce(
      { httpsVerifyCertificate: false, httpsSni: "sni.test" },
      { host: "127.0.0.1", port: s.port, hostname: "api.test" },
    );
    expect(s.requests.map((r) => [r.servername, r.headers.host])).toEqual([
      ["api.test", "api.test"],
      ["sni.test", "api.test"],
    ]);
  });

  it("an https probe of a plain HTTP server is a TCP failure", async () => {
    const s = await ProbeServer.http();
    cleanups.push(() => s.stop());
    const view = await probeOnce({ httpsVerifyCertificate: false }, s.address);
    expect(view).toMatchObject({ state: "unhealthy", tcpFailures: 1, lastProbe: { failure: "tcp" } });
  });
});
