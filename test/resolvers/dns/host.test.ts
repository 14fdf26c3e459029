import { describe, expect, it } from "vitest";
import type { DnsError, DnsHostResolverOptions } from "../../../src/index.js";
import { createUpstream, dnsHostResolver } from "../../../src/index.js";
import { ManualClock, seededRandom } from "../../../src/testing/index.js";
import { expectConfigErrors } from "../../helpers/config-errors.js";
import type { DnsZone } from "../../helpers/dns-server.js";
import { activeHandles, expectNoNewHandles, startDnsServer } from "../../helpers/dns-server.js";

const ZONE: DnsZone = {
  a: { "api.host.test": ["10.0.0.2", "10.0.0.1"], "v4.host.test": ["10.0.1.1"] },
  aaaa: { "api.host.test": ["fd00::2"], "v6.host.test": ["fd00::6"] },
  ttl: 12,
};

/** Runs `body` with a fresh server and closes everything after, checking that no handle is left. */
async function withServer(
  body: (ctx: {
    address: string;
    clock: ManualClock;
    zone: (z: DnsZone) => void;
    queries: () => number;
  }) => Promise<void>,
) {
  const before = await activeHandles();
  const server = await startDnsServer(ZONE);
  const clock = new ManualClock();
  try {
    await body({ address: server.address, clock, zone: (z) => (server.zone = z), queries: () => server.queries.udp });
  } finally {
    await server.close();
  }
  expectNoNewHandles(before, await activeHandles());
}

describe("dnsHostResolver()", () => {
  it("every A and AAAA address is an endpoint on the given port, with hostname for SNI", async () => {
    await withServer(async ({ address, clock }) => {
      const resolver = dnsHostResolver("API.host.test.", { port: 8443, scheme: "https", servers: address, clock });
      resolver.start();
      await resolver.whenIdle();
      expect(resolver.endpoints?.map((e) => [e.id, e.scheme, e.weight, e.priority, e.hostname])).toEqual([
        ["10.0.0.1:8443", "https", 100, 0, "api.host.test"],
        ["10.0.0.2:8443", "https", 100, 0, "api.host.test"],
        ["[fd00::2]:8443", "https", 100, 0, "api.host.test"],
      ]);
      expect(resolver.name).toBe("dns-host:api.host.test");
      await resolver.close();
    });
  });

  it("family 4 and 6 ask for one record type; family 0 accepts a name with only one of them", async () => {
    await withServer(async ({ address, clock }) => {
      const ids = async (name: string, family: 0 | 4 | 6) => {
        const r = dnsHostResolver(name, { port: 80, family, servers: address, clock, retries: 0 });
        const errors: string[] = [];
        r.on("error", (e) => errors.push((e as DnsError).code));
        r.start();
        await r.whenIdle();
        await r.close();
        return r.endpoints?.map((e) => e.id) ?? errors;
      };
      expect(await ids("api.host.test", 4)).toEqual(["10.0.0.1:80", "10.0.0.2:80"]);
      expect(await ids("api.host.test", 6)).toEqual(["[fd00::2]:80"]);
      expect(await ids("v4.host.test", 0)).toEqual(["10.0.1.1:80"]);
      expect(await ids("v6.host.test", 0)).toEqual(["[fd00::6]:80"]);
      expect(await ids("v6.host.test", 4)).toEqual(["ERR_DNS_NOT_FOUND"]);
      expect(await ids("missing.host.test", 0)).toEqual(["ERR_DNS_NOT_FOUND"]);
    });
  });

  it("plugs into an upstream: weights and picks as a static list would", async () => {
    await withServer(async ({ address, clock }) => {
      const resolver = dnsHostResolver("api.host.test", { port: 80, family: 4, weight: 7, servers: address, clock });
      const upstream = createUpstream({ name: "api", resolver, clock, random: seededRandom(5) });
      await upstream.ready();
      const picks = Array.from({ length: 4 }, () => upstream.pick().id).sort();
      expect(picks).toEqual(["10.0.0.1:80", "10.0.0.1:80", "10.0.0.2:80", "10.0.0.2:80"]); // equal weights: round robin
      expect(upstream.endpoints.map((e) => e.weight)).toEqual([7, 7]);
      await upstream.close();
    });
  });

  it("first lookup failing rejects ready() with the record and server named", async () => {
    await withServer(async ({ address, clock }) => {
      const resolver = dnsHostResolver("missing.host.test", { port: 80, servers: address, clock });
      const upstream = createUpstream({ name: "api", resolver, clock });
      const error = (await upstream.ready().catch((e: unknown) => e)) as DnsError;
      expect(error.code).toBe("ERR_DNS_NOT_FOUND");
      expect(error.message).toContain('lookup of "missing.host.test" via ');
      expect(error.message).toContain(address);
      await upstream.close();
    });
  });

  it("TTL mode follows the A/AAAA TTL; a SERVFAIL keeps the last good set and the TTL cadence", async () => {
    await withServer(async ({ address, clock, zone, queries }) => {
      const resolver = dnsHostResolver("api.host.test", {
        port: 80,
        servers: address,
        clock,
        refresh: "ttl",
        jitter: 0,
        retries: 0,
      });
      const errors: string[] = [];
      resolver.on("error", (e) => errors.push((e as DnsError).code));
      resolver.start();
      await resolver.whenIdle();
      zone({ ...ZONE, a: { "api.host.test": ["10.0.0.3"] }, aaaa: {} });
      clock.advance(11_999);
      await resolver.whenIdle();
      expect(resolver.endpoints).toHaveLength(3);
      clock.advance(1);
      await resolver.whenIdle();
      expect(resolver.endpoints?.map((e) => e.id)).toEqual(["10.0.0.3:80"]);
      zone({ ...ZONE, rcode: { "api.host.test": 2 } });
      await resolver.refresh();
      expect(errors).toEqual(["ERR_DNS_SERVFAIL"]);
      expect(resolver.endpoints?.map((e) => e.id)).toEqual(["10.0.0.3:80"]);
      // After a failure, TTL mode retries at the last known TTL (12 s), not the 30 s interval.
      const before = queries();
      clock.advance(11_999);
      await resolver.whenIdle();
      expect(queries()).toBe(before);
      clock.advance(1);
      await resolver.whenIdle();
      expect(queries()).toBe(before + 2);
      expect(errors).toEqual(["ERR_DNS_SERVFAIL", "ERR_DNS_SERVFAIL"]);
      await resolver.close();
    });
  });

  it("rejects invalid options synchronously with InvalidConfigError", () => {
    const bad: [string, DnsHostResolverOptions, string][] = [
      ["api.test", undefined as unknown as DnsHostResolverOptions, "port"],
      ["api.test", {} as DnsHostResolverOptions, "port"],
      ["api.test", { port: 0 }, "port"],
      ["api.test", { port: 70_000 }, "port"],
      ["api.test", { port: 80.5 }, "port"],
      ["api test", { port: 80 }, "name"],
      ["api.test", { port: 80, weight: -1 }, "weight"],
      ["api.test", { port: 80, family: 5 as never }, "family"],
      ["api.test", { port: 80, servers: "localhost:53" }, "servers"],
      ["api.test", { port: 80, intervalMs: 0 }, "intervalMs"],
      // Each of these threw a plain TypeError or RangeError, or was accepted, before.
      ["api.test", 8080 as never, "options"],
      ["api.test", { port: 80, scheme: Object.create(null) }, "scheme"],
      ["api.test", { port: 80, timeoutMs: 2 ** 31 }, "timeoutMs"],
      ["api.test", { port: 80, clock: { now: () => 0 } as never }, "clock"],
      ["api.test", { port: 80, random: { next: 0.5 } as never }, "random"],
      ["api.test", { port: 80, name: [] as never }, "name"],
      ["api.test", { port: 80, family: Object.create(null) }, "family"],
      ["api.test", { port: 80, familyWaitMs: "500" as never }, "familyWaitMs"],
      [Object.create(null), { port: 80 }, "name"],
    ];
    expectConfigErrors((name: string, options: DnsHostResolverOptions) => dnsHostResolver(name, options), bad);
  });
});
