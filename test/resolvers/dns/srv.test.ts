import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { DnsError, DnsSrvResolverOptions, Endpoint } from "../../../src/index.js";
import { createUpstream, DnsSrvResolver, dnsSrvResolver } from "../../../src/index.js";
import { ManualClock, seededRandom } from "../../../src/testing/index.js";
import { expectConfigErrors } from "../../helpers/config-errors.js";
import type { SrvAnswer, TestDnsServer } from "../../helpers/dns-server.js";
import { activeHandles, expectNoNewHandles, startDnsServer, until } from "../../helpers/dns-server.js";
import { pickCounts } from "../../helpers/picks.js";

const KRAKEND: SrvAnswer[] = [
  { target: "a.krakend.test", port: 8001, priority: 10, weight: 1 },
  { target: "b.krakend.test", port: 8002, priority: 10, weight: 2 },
  { target: "c.krakend.test", port: 8003, priority: 20, weight: 1 },
];
const NAME = "_api._tcp.krakend.test";

let server: TestDnsServer;
let clock: ManualClock;
const open: DnsSrvResolver[] = [];

beforeEach(async () => {
  server = await startDnsServer({ srv: { [NAME]: KRAKEND } });
  clock = new ManualClock();
});

afterEach(async () => {
  for (const r of open.splice(0)) await r.close();
  await server.close();
});

/** A resolver at the test server, driven by the manual clock, without jitter. */
function resolver(options: DnsSrvResolverOptions = {}, name = NAME): DnsSrvResolver {
  const r = dnsSrvResolver(name, {
    servers: server.address,
    clock,
    jitter: 0,
    timeoutMs: 200,
    tries: 1,
    random: seededRandom(7),
    ...options,
  });
  open.push(r);
  return r;
}

function record(r: DnsSrvResolver) {
  const endpoints: (readonly Endpoint[])[] = [];
  const errors: DnsError[] = [];
  r.on("endpoints", (e) => endpoints.push(e));
  r.on("error", (e) => errors.push(e as DnsError));
  return { endpoints, errors };
}

const summary = (endpoints: readonly Endpoint[] | undefined) =>
  endpoints?.map((e) => `${e.scheme}://${e.id} w${e.weight} p${e.priority}`);

describe("dnsSrvResolver()", () => {
  it("maps KrakenD's documented example to endpoints with target, port, weight, priority and sd_scheme", async () => {
    const r = resolver({ scheme: "https" });
    const seen = record(r);
    r.start();
    await r.whenIdle();
    expect(summary(r.endpoints)).toEqual([
      "https://a.krakend.test:8001 w1 p10",
      "https://b.krakend.test:8002 w2 p10",
      "https://c.krakend.test:8003 w1 p20",
    ]);
    expect(seen.endpoints).toHaveLength(1);
    expect(seen.errors).toEqual([]);
    expect(r.name).toBe("dns-srv:_api._tcp.krakend.test");
    expect(r.servers).toEqual([server.address]);
  });

  it("plugs into an upstream like the static resolver: 10/1, 10/2, 20/1 gives exactly 1:2:0", async () => {
    const r = resolver();
    const upstream = createUpstream({ name: "api", resolver: r, clock, random: seededRandom(42) });
    await upstream.ready();
    expect(pickCounts(upstream, 300, (e) => e.host)).toEqual({ "a.krakend.test": 100, "b.krakend.test": 200 });
    await upstream.close();
    expect(r.closed).toBe(true);
  });

  it("weight 0 beside weight 9 gets exactly 1/10 of the picks through an upstream (RFC 2782 'very small chance')", async () => {
    server.zone = {
      srv: {
        [NAME]: [
          { target: "zero.test", port: 80, priority: 0, weight: 0 },
          { target: "nine.test", port: 80, priority: 0, weight: 9 },
        ],
      },
    };
    const upstream = createUpstream({ name: "api", resolver: resolver(), clock, random: seededRandom(3) });
    await upstream.ready();
    expect(pickCounts(upstream, 100, (e) => e.host)).toEqual({ "zero.test": 10, "nine.test": 90 });
    await upstream.close();
  });

  it("a listener that throws does not stop the refresh loop; its exception surfaces as uncaught", async () => {
    // The test runner's own handlers are set aside while the listener's exceptions are caught here.
    const runner = process.listeners("uncaughtException");
    const uncaught: string[] = [];
    const catcher = (error: Error) => uncaught.push(error.message);
    process.removeAllListeners("uncaughtException");
    process.on("uncaughtException", catcher);
    try {
      const r = resolver();
      let calls = 0;
      r.on("endpoints", () => {
        calls++;
        throw new Error("listener bug");
      });
      r.start();
      await r.whenIdle();
      server.zone = { srv: { [NAME]: KRAKEND.slice(0, 2) } };
      clock.advance(30_000);
      await r.whenIdle();
      await new Promise((resolve) => setImmediate(resolve));
      expect(calls).toBe(2);
      expect(r.endpoints).toHaveLength(2);
      expect(clock.pendingTimers).toBe(1);
    } finally {
      process.off("uncaughtException", catcher);
      for (const listener of runner) process.on("uncaughtException", listener);
    }
    expect(uncaught).toEqual(["listener bug", "listener bug"]);
  });

  it("builds _service._proto.name from service and protocol", async () => {
    const r = resolver({ service: "api" }, "krakend.test.");
    expect(r.record).toBe(NAME);
    r.start();
    await r.whenIdle();
    expect(r.endpoints).toHaveLength(3);
    expect(resolver({ service: "_ldap", protocol: "udp" }, "x.test").record).toBe("_ldap._udp.x.test");
  });

  it("rejects invalid options synchronously with InvalidConfigError", () => {
    const bad: [string, DnsSrvResolverOptions, string][] = [
      ["", {}, "name"],
      ["a..b", {}, "name"],
      ["bad name.test", {}, "name"],
      [`${"a".repeat(64)}.test`, {}, "name"],
      ["x.test", { servers: "dns.google" }, "servers"],
      ["x.test", { servers: "127.0.0.1:0" }, "servers"],
      ["x.test", { servers: "127.0.0.1:70000" }, "servers"],
      ["x.test", { servers: [] }, "servers"],
      ["x.test", { intervalMs: 0 }, "intervalMs"],
      ["x.test", { intervalMs: -5 }, "intervalMs"],
      ["x.test", { refresh: "ttl", minTtlMs: 10_000, maxTtlMs: 5_000 }, "minTtlMs"],
      ["x.test", { confirmEmptyDelayMs: 0 }, "confirmEmptyDelayMs"],
      ["x.test", { jitter: 1 }, "jitter"],
      ["x.test", { retries: 1.5 }, "retries"],
      ["x.test", { scheme: "ht tp" }, "scheme"],
      ["x.test", { zeroWeight: 70_000 }, "zeroWeight"],
      ["x.test", { family: 5 as never }, "family"],
      ["x.test", { protocol: "tcp" }, "protocol"],
      ["x.test", { service: "a.b" }, "service"],
      ["x.test", { refresh: "sometimes" as never }, "refresh"],
      // Each of these threw a plain TypeError or RangeError, or was accepted, before.
      ["x.test", 5 as never, "options"],
      ["x.test", "_http._tcp" as never, "options"],
      ["x.test", { refresh: Object.create(null) }, "refresh"],
      ["x.test", { service: Object.create(null) }, "service"],
      ["x.test", { scheme: Object.create(null) }, "scheme"],
      ["x.test", { servers: [Object.create(null)] }, "servers"],
      ["x.test", { resolveTargets: "yes" as never }, "resolveTargets"],
      ["x.test", { timeoutMs: 3e9 }, "timeoutMs"],
      ["x.test", { name: 5 as never }, "name"],
      ["x.test", { name: " " }, "name"],
      ["x.test", { clock: {} as never }, "clock"],
      ["x.test", { random: 5 as never }, "random"],
      ["x.test", { familyWaitMs: -1 }, "familyWaitMs"],
      ["x.test", { familyWaitMs: Number.NaN }, "familyWaitMs"],
      [5 as never, {}, "name"],
    ];
    expectConfigErrors((name: string, options: DnsSrvResolverOptions) => dnsSrvResolver(name, options), bad);
    expect(dnsSrvResolver("x.test", { servers: ["10.0.0.1", "[::1]:5353", "::2"] }).servers).toEqual([
      "10.0.0.1",
      "[::1]:5353",
      "::2",
    ]);
  });

  it("refreshes every intervalMs (default 30 s) on the injected clock, and publishes only changes", async () => {
    const r = resolver({ jitter: undefined, intervalMs: undefined, random: { next: () => 0 } });
    const seen = record(r);
    r.start();
    await r.whenIdle();
    expect(server.queries.udp).toBe(1);
    clock.advance(29_999);
    await r.whenIdle();
    expect(server.queries.udp).toBe(1);
    clock.advance(1);
    await r.whenIdle();
    expect(server.queries.udp).toBe(2);
    expect(seen.endpoints).toHaveLength(1);
    server.zone = { srv: { [NAME]: [...KRAKEND, { target: "d.krakend.test", port: 8004, priority: 10, weight: 3 }] } };
    clock.advance(30_000);
    await r.whenIdle();
    expect(seen.endpoints).toHaveLength(2);
    expect(summary(seen.endpoints[1])).toContain("http://d.krakend.test:8004 w3 p10");
  });

  it("jitters each delay down by up to `jitter`, from the injected random", async () => {
    const r = resolver({ jitter: 0.5, random: { next: () => 0.5 } });
    r.start();
    await r.whenIdle();
    clock.advance(22_499);
    await r.whenIdle();
    expect(server.queries.udp).toBe(1);
    clock.advance(1);
    await r.whenIdle();
    expect(server.queries.udp).toBe(2);
  });

  it("normalizes answers: the same records in shuffled order cause no event and no picker rebuild", async () => {
    server.shuffle = seededRandom(3);
    const r = resolver();
    const seen = record(r);
    const upstream = createUpstream({ name: "api", resolver: r, clock, random: seededRandom(1) });
    let pickers = 0;
    upstream.on("picker", () => pickers++);
    await upstream.ready();
    await r.whenIdle();
    pickers = 0;
    for (let i = 0; i < 20; i++) await r.refresh();
    expect(server.queries.udp).toBe(21);
    expect(seen.endpoints).toHaveLength(1);
    expect(pickers).toBe(0);
    await upstream.close();
  });

  it("serves 1,000 SRV records: truncated over UDP, retried over TCP, all kept", async () => {
    const many = Array.from({ length: 1000 }, (_, i) => ({
      target: `host${i}.many.test`,
      port: 10_000 + i,
      priority: i % 3,
      weight: 1 + (i % 7),
    }));
    server.zone = { srv: { "_big._tcp.many.test": many } };
    const r = resolver({}, "_big._tcp.many.test");
    r.start();
    await r.whenIdle();
    expect(r.endpoints).toHaveLength(1000);
    expect(server.queries).toEqual({ udp: 1, tcp: 1, truncated: 1 });
    const e = r.endpoints?.find((x) => x.host === "host999.many.test");
    expect([e?.port, e?.priority, e?.weight]).toEqual([10_999, 0, 6]);
  });

  it("drops records with port 0, maps weight 0 per RFC 2782, and skips target '.'", async () => {
    server.zone = {
      srv: {
        [NAME]: [
          { target: "a.test", port: 80, priority: 0, weight: 0 },
          { target: "b.test", port: 80, priority: 0, weight: 10 },
          { target: "c.test", port: 80, priority: 1, weight: 0 },
          { target: "d.test", port: 80, priority: 1, weight: 0 },
          { target: "e.test", port: 0, priority: 0, weight: 5 },
          { target: ".", port: 80, priority: 0, weight: 5 },
        ],
      },
    };
    const r = resolver();
    const seen = record(r);
    r.start();
    await r.whenIdle();
    expect(summary(r.endpoints)).toEqual([
      "http://a.test:80 w1 p0",
      "http://b.test:80 w10 p0",
      "http://c.test:80 w1 p1",
      "http://d.test:80 w1 p1",
    ]);
    expect(r.droppedRecords).toEqual([{ record: "SRV 0 5 0 e.test", reason: "port 0" }]);
    expect(seen.errors.map((e) => e.code)).toEqual(["ERR_DNS_INVALID_RECORD"]);
    expect(seen.errors[0]?.message).toContain("SRV 0 5 0 e.test (port 0)");
    await r.refresh();
    expect(seen.errors).toHaveLength(1); // reported once, not on every refresh
    const drained = resolver({ zeroWeight: 0 });
    drained.start();
    await drained.whenIdle();
    expect(summary(drained.endpoints)?.slice(0, 2)).toEqual(["http://a.test:80 w0 p0", "http://b.test:80 w10 p0"]);
  });

  it("an answer whose every record is invalid is an error and keeps the last good set", async () => {
    const r = resolver();
    const seen = record(r);
    r.start();
    await r.whenIdle();
    server.zone = { srv: { [NAME]: [{ target: "a.test", port: 0, priority: 0, weight: 1 }] } };
    await r.refresh();
    expect(seen.errors.map((e) => e.code)).toEqual(["ERR_DNS_INVALID_RECORD"]);
    expect(r.droppedRecords).toEqual([{ record: "SRV 0 1 0 a.test", reason: "port 0" }]);
    expect(r.endpoints).toHaveLength(3);
    expect(seen.endpoints).toHaveLength(1);
    await r.refresh(); // a failed refresh each time: reported each time
    expect(seen.errors.map((e) => e.code)).toEqual(["ERR_DNS_INVALID_RECORD", "ERR_DNS_INVALID_RECORD"]);
  });

  it("keeps the last good set on timeout, SERVFAIL and REFUSED, with typed errors naming record and server", async () => {
    const r = resolver({ retries: 0 });
    const seen = record(r);
    r.start();
    await r.whenIdle();
    server.silent = true;
    await r.refresh();
    server.silent = false;
    server.zone = { srv: { [NAME]: KRAKEND }, rcode: { [NAME]: 2 } };
    await r.refresh();
    server.zone = { srv: { [NAME]: KRAKEND }, rcode: { [NAME]: 5 } };
    await r.refresh();
    expect(seen.errors.map((e) => e.code)).toEqual(["ERR_DNS_TIMEOUT", "ERR_DNS_SERVFAIL", "ERR_DNS_REFUSED"]);
    for (const e of seen.errors) {
      expect(e.message).toContain(`"${NAME}"`);
      expect(e.message).toContain(server.address);
      expect(e.retryable).toBe(true);
    }
    expect(r.endpoints).toHaveLength(3);
    expect(seen.endpoints).toHaveLength(1);
  });

  it("an upstream shows a failed refresh as lastResolverError until the next good answer, even an unchanged one", async () => {
    const r = resolver({ retries: 0 });
    const upstream = createUpstream({ name: "api", resolver: r, clock, random: seededRandom(1) });
    await upstream.ready();
    let rebuilds = 0;
    upstream.on("picker", () => rebuilds++);
    server.zone = { srv: { [NAME]: KRAKEND }, rcode: { [NAME]: 2 } };
    await r.refresh();
    expect((upstream.snapshot().lastResolverError as DnsError).code).toBe("ERR_DNS_SERVFAIL");
    expect(upstream.snapshot().endpoints).toHaveLength(3);
    server.zone = { srv: { [NAME]: KRAKEND } };
    await r.refresh();
    expect(upstream.snapshot().lastResolverError).toBeUndefined();
    expect(rebuilds).toBe(0);
    await expect(upstream.ready()).resolves.toBeUndefined();
    await upstream.close();
  });

  it("retries a failed lookup with exponential backoff slept on the injected clock", async () => {
    const r = resolver({ retries: 2, retryDelayMs: 1_000 });
    const seen = record(r);
    server.zone = { srv: { [NAME]: KRAKEND }, rcode: { [NAME]: 2 } };
    r.start();
    await until(() => clock.pendingTimers === 1);
    expect(server.queries.udp).toBe(1);
    clock.advance(999);
    expect(clock.pendingTimers).toBe(1); // the first backoff is 1 s...
    clock.advance(1);
    expect(clock.pendingTimers).toBe(0); // ...to the millisecond
    await until(() => server.queries.udp === 2 && clock.pendingTimers === 1);
    clock.advance(1_999);
    expect(clock.pendingTimers).toBe(1); // the second doubles: 2 s
    expect(server.queries.udp).toBe(2);
    server.zone = { srv: { [NAME]: KRAKEND } };
    clock.advance(1);
    expect(clock.pendingTimers).toBe(0);
    await r.whenIdle();
    expect(server.queries.udp).toBe(3);
    expect(seen.errors).toEqual([]);
    expect(r.endpoints).toHaveLength(3);
  });

  it("an empty answer after a good one is applied only once confirmed; a glitch changes nothing", async () => {
    const r = resolver({ confirmEmpty: 2, confirmEmptyDelayMs: 5_000 });
    const seen = record(r);
    r.start();
    await r.whenIdle();
    server.zone = { srv: {} }; // NXDOMAIN
    clock.advance(30_000);
    await r.whenIdle();
    expect(seen.errors.map((e) => [e.code, e.dnsCode])).toEqual([["ERR_DNS_NOT_FOUND", "ENOTFOUND"]]);
    expect(seen.errors[0]?.message).toContain("keeping the last good set of 3 endpoint(s) until 2 more lookup(s)");
    server.zone = { srv: { [NAME]: KRAKEND } }; // the glitch is over
    clock.advance(5_000);
    await r.whenIdle();
    expect(seen.endpoints).toHaveLength(1);
    expect(r.endpoints).toHaveLength(3);

    server.zone = { srv: { [NAME]: [{ target: ".", port: 0, priority: 0, weight: 0 }] } }; // "not available"
    clock.advance(30_000);
    await r.whenIdle();
    clock.advance(5_000);
    await r.whenIdle();
    expect(r.endpoints).toHaveLength(3);
    expect(seen.endpoints).toHaveLength(1);
    clock.advance(5_000);
    await r.whenIdle();
    expect(seen.errors.map((e) => e.code)).toEqual(Array(3).fill("ERR_DNS_NOT_FOUND"));
    expect(seen.endpoints).toHaveLength(2);
    expect(r.endpoints).toEqual([]);
    clock.advance(30_000);
    await r.whenIdle();
    expect(seen.errors).toHaveLength(3); // an empty set staying empty is no error
  });

  it("confirmEmpty 0 applies an empty answer at once", async () => {
    const r = resolver({ confirmEmpty: 0 });
    r.start();
    await r.whenIdle();
    server.zone = { srv: { [NAME]: [] } }; // NODATA
    await r.refresh();
    expect(r.endpoints).toEqual([]);
    const resolved: [number, boolean][] = [];
    r.on("resolved", (set, changed) => resolved.push([set.length, changed]));
    await r.refresh(); // still empty: a success that changes nothing
    expect(resolved).toEqual([[0, false]]);
  });

  it("first resolution failing makes ready() reject with an error naming the record and the server", async () => {
    const r = resolver({}, "_missing._tcp.krakend.test");
    const upstream = createUpstream({ name: "api", resolver: r, clock });
    const error = (await upstream.ready().catch((e: unknown) => e)) as DnsError;
    expect(error.code).toBe("ERR_DNS_NOT_FOUND");
    expect(error.message).toBe(
      `dns-srv:_missing._tcp.krakend.test: SRV lookup of "_missing._tcp.krakend.test" via ${server.address}: not found (NXDOMAIN), ENOTFOUND`,
    );
    expect([error.record, error.rrtype, error.servers]).toEqual([
      "_missing._tcp.krakend.test",
      "SRV",
      [server.address],
    ]);
    server.zone = { srv: { "_missing._tcp.krakend.test": KRAKEND } };
    clock.advance(30_000);
    await r.whenIdle();
    expect(upstream.endpoints).toHaveLength(3);
    await upstream.close();
  });

  it("an unreachable server is ERR_DNS_LOOKUP, a silent one ERR_DNS_TIMEOUT; ready() rejects, nothing leaks", async () => {
    const before = await activeHandles();
    const refused = dnsSrvResolver(NAME, { servers: "127.0.0.1:1", clock, retries: 0, timeoutMs: 200, tries: 1 });
    const a = createUpstream({ name: "a", resolver: refused, clock });
    expect(((await a.ready().catch((e: unknown) => e)) as DnsError).code).toBe("ERR_DNS_LOOKUP");
    server.silent = true;
    const b = createUpstream({ name: "b", resolver: resolver({ retries: 0 }), clock });
    const timeout = (await b.ready().catch((e: unknown) => e)) as DnsError;
    expect([timeout.code, timeout.dnsCode]).toEqual(["ERR_DNS_TIMEOUT", "ETIMEOUT"]);
    await a.close();
    await b.close();
    expectNoNewHandles(before, await activeHandles());
  });

  it("close() during a lookup and during a retry sleep aborts it and leaves no handle or timer", async () => {
    const before = await activeHandles();
    server.silent = true;
    const inLookup = resolver({ timeoutMs: 5_000 });
    inLookup.start();
    await until(() => server.queries.udp === 1);
    const started = performance.now();
    await inLookup.close();
    expect(performance.now() - started).toBeLessThan(2_500); // cancelled: well under the 5 s query timeout
    server.silent = false;
    server.zone = { srv: {}, rcode: { [NAME]: 2 } };
    const inSleep = resolver({ retries: 3 });
    inSleep.start();
    await until(() => clock.pendingTimers === 1);
    await inSleep.close();
    expect(clock.pendingTimers).toBe(0);
    server.zone = { srv: { [NAME]: KRAKEND } };
    const idle = resolver();
    idle.start();
    await idle.whenIdle();
    expect(clock.pendingTimers).toBe(1);
    await idle.close();
    expect(clock.pendingTimers).toBe(0);
    expectNoNewHandles(before, await activeHandles());
  });

  it("resolveTargets: one endpoint per address, with the SRV port, the weight split, and the hostname for SNI", async () => {
    server.zone = {
      srv: {
        [NAME]: [
          { target: "a.krakend.test", port: 8001, priority: 10, weight: 5 },
          { target: "b.krakend.test", port: 8002, priority: 10, weight: 0 },
          { target: "gone.krakend.test", port: 8003, priority: 10, weight: 1 },
          { target: "10.9.9.9", port: 8004, priority: 20, weight: 1 },
        ],
      },
      a: { "a.krakend.test": ["10.0.0.1", "10.0.0.2"], "b.krakend.test": ["10.0.0.3"] },
      aaaa: { "a.krakend.test": ["fd00::1"] },
      ttl: 7,
    };
    const r = resolver({ resolveTargets: true, refresh: "ttl", scheme: "https", retries: 0 });
    const seen = record(r);
    r.start();
    await r.whenIdle();
    // a.krakend.test's weight 5 is split over its 3 addresses (sorted): 2, 2, 1.
    expect(r.endpoints?.map((e) => [e.id, e.weight, e.priority, e.hostname])).toEqual([
      ["10.0.0.1:8001", 2, 10, "a.krakend.test"],
      ["10.0.0.2:8001", 2, 10, "a.krakend.test"],
      ["10.0.0.3:8002", 1, 10, "b.krakend.test"],
      ["10.9.9.9:8004", 1, 20, undefined],
      ["[fd00::1]:8001", 1, 10, "a.krakend.test"],
    ]);
    expect(r.droppedRecords).toEqual([
      { record: "SRV 10 1 8003 gone.krakend.test", reason: "target has no A/AAAA address" },
    ]);
    expect(seen.errors.map((e) => e.code)).toEqual(["ERR_DNS_INVALID_RECORD"]);
    // TTL mode follows the addresses' TTL (7 s).
    const queries = server.queries.udp;
    clock.advance(6_999);
    await r.whenIdle();
    expect(server.queries.udp).toBe(queries);
    clock.advance(1);
    await r.whenIdle();
    expect(server.queries.udp).toBe(queries + 7); // one SRV, then A and AAAA of its 3 targets
    // A target lookup failing (not "not found") fails the whole refresh: no half set.
    server.zone = { ...server.zone, rcode: { "b.krakend.test": 2 } };
    await r.refresh();
    expect(seen.errors.map((e) => e.code)).toEqual(["ERR_DNS_INVALID_RECORD", "ERR_DNS_SERVFAIL"]);
    expect(r.endpoints).toHaveLength(5);
  });

  it("TTL mode clamps to minTtlMs and maxTtlMs, and falls back to the interval without a TTL", async () => {
    server.zone = {
      srv: { [NAME]: [{ target: "a.t", port: 1, priority: 0, weight: 1 }] },
      a: { "a.t": ["10.0.0.1"] },
      ttl: 0,
    };
    const floor = resolver({ resolveTargets: true, refresh: "ttl", minTtlMs: 2_000 });
    floor.start();
    await floor.whenIdle();
    const q = server.queries.udp;
    clock.advance(2_000);
    await floor.whenIdle();
    expect(server.queries.udp).toBe(q + 3); // SRV, then A and AAAA of the target
    await floor.close();
    server.zone = { ...server.zone, ttl: 86_400 };
    const ceiling = resolver({ resolveTargets: true, refresh: "ttl", maxTtlMs: 60_000 });
    ceiling.start();
    await ceiling.whenIdle();
    const q2 = server.queries.udp;
    clock.advance(59_999);
    await ceiling.whenIdle();
    expect(server.queries.udp).toBe(q2);
    clock.advance(1);
    await ceiling.whenIdle();
    expect(server.queries.udp).toBe(q2 + 3);
    await ceiling.close();
    const noTtl = resolver({ refresh: "ttl", intervalMs: 4_000 });
    noTtl.start();
    await noTtl.whenIdle();
    const q3 = server.queries.udp;
    clock.advance(4_000);
    await noTtl.whenIdle();
    expect(server.queries.udp).toBe(q3 + 1);
  });

  it("is a DnsSrvResolver and emits nothing after close", async () => {
    const r = resolver();
    expect(r).toBeInstanceOf(DnsSrvResolver);
    await r.close();
    r.start();
    await r.refresh();
    expect(r.endpoints).toBeUndefined();
    expect(server.queries.udp).toBe(0);
  });
});
