/**
 * Family 0 (A and AAAA): a failure of one family does not discard the other
 * family's answer. The answer is published, the failure is reported after it
 * as ERR_DNS_PARTIAL, and a failed family keeps its addresses of its last
 * answer. The servers emulate dnsmasq with --no-resolv, which answers AAAA
 * with REFUSED for a name it only has A for (test/system/dnsmasq.test.ts
 * checks the real one).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { DnsError, Endpoint, Resolver } from "../../../src/index.js";
import { createUpstream, dnsHostResolver, dnsSrvResolver } from "../../../src/index.js";
import { ManualClock, seededRandom } from "../../../src/testing/index.js";
import type { DnsZone, TestDnsServer } from "../../helpers/dns-server.js";
import { activeHandles, expectNoNewHandles, startDnsServer, until } from "../../helpers/dns-server.js";

let server: TestDnsServer;
let clock: ManualClock;
let before: Record<string, number>;
const open: Resolver[] = [];

beforeEach(async () => {
  before = await activeHandles();
  server = await startDnsServer({});
  clock = new ManualClock();
});

afterEach(async () => {
  for (const r of open.splice(0)) await r.close();
  await server.close();
  expectNoNewHandles(before, await activeHandles());
});

const common = () => ({ servers: server.address, clock, jitter: 0, timeoutMs: 1_000, tries: 1 });

function host(name: string, options: Partial<Parameters<typeof dnsHostResolver>[1]> = {}) {
  const r = dnsHostResolver(name, { port: 80, ...common(), ...options });
  open.push(r);
  return r;
}

function record(r: Resolver) {
  const events: string[] = [];
  const errors: DnsError[] = [];
  r.on("endpoints", (e) => events.push(`endpoints ${e.map((x) => x.id).join(",")}`));
  r.on("resolved", (_, changed) => events.push(`resolved ${changed}`));
  r.on("error", (e) => {
    errors.push(e as DnsError);
    events.push(`error ${(e as DnsError).code}`);
  });
  return { events, errors };
}

const ids = (endpoints: readonly Endpoint[] | undefined) => endpoints?.map((e) => e.id);

/** dnsmasq --no-resolv: a.test has only A, so its AAAA query is refused. */
const DNSMASQ_LIKE: DnsZone = { a: { "a.test": ["10.0.0.1", "10.0.0.2"] }, refuseUnknown: true };

describe("family 0 with one family failing", () => {
  it("dnsHostResolver: AAAA REFUSED publishes the A addresses at once (no retry backoff) and reports ERR_DNS_PARTIAL after", async () => {
    server.zone = DNSMASQ_LIKE;
    const r = host("a.test"); // default retries (2) and backoff (1 s, 2 s): none of it is spent
    const seen = record(r);
    r.start();
    await until(() => r.endpoints !== undefined, 2_000);
    await r.whenIdle();
    expect(ids(r.endpoints)).toEqual(["10.0.0.1:80", "10.0.0.2:80"]);
    expect(seen.events).toEqual(["endpoints 10.0.0.1:80,10.0.0.2:80", "resolved true", "error ERR_DNS_PARTIAL"]);
    const error = seen.errors[0] as DnsError;
    expect(error.message).toBe(
      `dns-host:a.test: AAAA lookup of "a.test" via ${server.address}: partial answer: query refused (REFUSED), EREFUSED; publishing the A addresses`,
    );
    expect([error.rrtype, error.record, error.dnsCode, error.retryable]).toEqual(["AAAA", "a.test", "EREFUSED", false]);
    expect(error.failures.map((f) => [f.code, f.rrtype, f.record])).toEqual([["ERR_DNS_REFUSED", "AAAA", "a.test"]]);
    expect(error.cause).toBe(error.failures[0]);
    expect(server.queries.udp).toBe(2); // one A, one AAAA: no retry
    expect(clock.pendingTimers).toBe(1); // the next refresh, no retry sleep
  });

  it("through an upstream: ready() resolves; lastResolverError shows the partial error until a refresh in which both families answer", async () => {
    server.zone = DNSMASQ_LIKE;
    const r = host("a.test");
    const upstream = createUpstream({ name: "api", resolver: r, clock, random: seededRandom(1) });
    const resolverErrors: string[] = [];
    upstream.on("resolverError", (e) => resolverErrors.push((e as DnsError).code));
    await upstream.ready();
    await r.whenIdle();
    expect(upstream.endpoints.map((e) => e.id)).toEqual(["10.0.0.1:80", "10.0.0.2:80"]);
    expect(upstream.snapshot().lastResolverError?.code).toBe("ERR_DNS_PARTIAL");
    await r.refresh(); // the same partial answer: still shown, reported again
    expect(upstream.snapshot().lastResolverError?.code).toBe("ERR_DNS_PARTIAL");
    expect(resolverErrors).toEqual(["ERR_DNS_PARTIAL", "ERR_DNS_PARTIAL"]);
    server.zone = { ...DNSMASQ_LIKE, aaaa: { "a.test": ["fd00::1"] } };
    await r.refresh(); // both answer: a full success ends it
    expect(upstream.snapshot().lastResolverError).toBeUndefined();
    expect(upstream.endpoints.map((e) => e.id)).toEqual(["10.0.0.1:80", "10.0.0.2:80", "[fd00::1]:80"]);
    expect(resolverErrors).toHaveLength(2);
    await upstream.close();
  });

  it("a family that fails after answering keeps its addresses of its last answer; the set does not change", async () => {
    server.zone = { a: { "a.test": ["10.0.0.1"] }, aaaa: { "a.test": ["fd00::1"] } };
    const r = host("a.test", { retries: 0 });
    const seen = record(r);
    r.start();
    await r.whenIdle();
    server.zone = { ...server.zone, typeRcode: { "a.test": { AAAA: 2 } } };
    await r.refresh();
    expect(ids(r.endpoints)).toEqual(["10.0.0.1:80", "[fd00::1]:80"]);
    expect(seen.events).toEqual([
      "endpoints 10.0.0.1:80,[fd00::1]:80",
      "resolved true",
      "resolved false",
      "error ERR_DNS_PARTIAL",
    ]);
    expect(seen.errors[0]?.detail).toBe(
      "partial answer: server failure (SERVFAIL), ESERVFAIL; publishing the A addresses, with the 1 AAAA address(es) of its last answer",
    );
    // Now A fails and AAAA answers a new address: A's last addresses are kept, AAAA's new one published.
    server.zone = { a: { "a.test": ["10.0.0.1"] }, aaaa: { "a.test": ["fd00::2"] }, typeRcode: { "a.test": { A: 2 } } };
    await r.refresh();
    expect(ids(r.endpoints)).toEqual(["10.0.0.1:80", "[fd00::2]:80"]);
    expect(seen.errors[1]?.rrtype).toBe("A");
  });

  it("a family that never answers costs familyWaitMs after the other answered, on the injected clock, not the query timeout", async () => {
    server.zone = {
      a: { "a.test": ["10.0.0.1"] },
      aaaa: { "a.test": ["fd00::1"] },
      typeRcode: { "a.test": { AAAA: "silent" } },
    };
    const r = host("a.test", { timeoutMs: 10_000, retries: 0 });
    const seen = record(r);
    r.start();
    await until(() => server.queries.udp === 2 && clock.pendingTimers === 1, 2_000); // A answered; the grace runs
    clock.advance(499);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(r.endpoints).toBeUndefined();
    clock.advance(1);
    await r.whenIdle();
    expect(ids(r.endpoints)).toEqual(["10.0.0.1:80"]);
    expect(seen.errors.map((e) => [e.code, e.failures[0]?.code, e.failures[0]?.detail])).toEqual([
      ["ERR_DNS_PARTIAL", "ERR_DNS_TIMEOUT", "no answer within familyWaitMs (500 ms) of the A answer"],
    ]);
    const started = performance.now();
    await r.close(); // cancels the abandoned AAAA query: afterEach checks no handle is left
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("familyWaitMs is an option; the grace timer is cancelled when the second family answers in time", async () => {
    server.zone = { a: { "a.test": ["10.0.0.1"] }, aaaa: { "a.test": ["fd00::1"] } };
    const r = host("a.test", { familyWaitMs: 5_000 });
    const seen = record(r);
    r.start();
    await r.whenIdle();
    expect(ids(r.endpoints)).toEqual(["10.0.0.1:80", "[fd00::1]:80"]);
    expect(seen.errors).toEqual([]);
    expect(clock.pendingTimers).toBe(1); // only the next refresh
  });

  it("both families failing, or one failing and the other without address, fails the refresh as before", async () => {
    server.zone = { a: { "a.test": ["10.0.0.1"] }, refuseUnknown: true };
    const missing = host("b.test", { retries: 0 }); // refused in both families
    const a = record(missing);
    missing.start();
    await missing.whenIdle();
    expect(a.errors.map((e) => [e.code, e.rrtype])).toEqual([["ERR_DNS_REFUSED", "A"]]);
    server.zone = { aaaa: { "c.test": [] }, typeRcode: { "c.test": { A: 5 } } }; // A refused, AAAA NODATA
    const noAddress = host("c.test", { retries: 0 });
    const c = record(noAddress);
    noAddress.start();
    await noAddress.whenIdle();
    expect(c.errors.map((e) => [e.code, e.rrtype])).toEqual([["ERR_DNS_REFUSED", "A"]]);
    expect(noAddress.endpoints).toBeUndefined();
  });

  it("family 4 or 6 asks one family only: its failure is the refresh's failure", async () => {
    server.zone = DNSMASQ_LIKE;
    const v6 = host("a.test", { family: 6, retries: 0 });
    const seen = record(v6);
    v6.start();
    await v6.whenIdle();
    expect(seen.errors.map((e) => [e.code, e.rrtype])).toEqual([["ERR_DNS_REFUSED", "AAAA"]]);
    const v4 = host("a.test", { family: 4, retries: 0 });
    v4.start();
    await v4.whenIdle();
    expect(ids(v4.endpoints)).toEqual(["10.0.0.1:80", "10.0.0.2:80"]);
  });

  it("dnsSrvResolver with resolveTargets: each target's failed family is reported in one ERR_DNS_PARTIAL, the rest published", async () => {
    const name = "_api._tcp.svc.test";
    server.zone = {
      srv: {
        [name]: [
          { target: "v4.svc.test", port: 8001, priority: 0, weight: 10 },
          { target: "v6.svc.test", port: 8002, priority: 0, weight: 10 },
          { target: "dual.svc.test", port: 8003, priority: 0, weight: 10 },
        ],
      },
      a: { "v4.svc.test": ["10.0.0.4"], "dual.svc.test": ["10.0.0.5"] },
      aaaa: { "v6.svc.test": ["fd00::6"], "dual.svc.test": ["fd00::5"] },
      refuseUnknown: true,
    };
    const r = dnsSrvResolver(name, { ...common(), resolveTargets: true });
    open.push(r);
    const upstream = createUpstream({ name: "api", resolver: r, clock, random: seededRandom(1) });
    const seen = record(r);
    await upstream.ready();
    await r.whenIdle();
    expect(r.endpoints?.map((e) => [e.id, e.weight, e.hostname])).toEqual([
      ["10.0.0.4:8001", 10, "v4.svc.test"],
      ["10.0.0.5:8003", 5, "dual.svc.test"],
      ["[fd00::5]:8003", 5, "dual.svc.test"],
      ["[fd00::6]:8002", 10, "v6.svc.test"],
    ]);
    expect(seen.events.slice(-2)).toEqual(["resolved true", "error ERR_DNS_PARTIAL"]);
    const error = seen.errors[0] as DnsError;
    expect([error.rrtype, error.record]).toEqual(["A/AAAA", name]);
    expect(error.detail).toBe(
      "partial answer: 2 name(s) answered in one address family only: v4.svc.test AAAA query refused (REFUSED), EREFUSED; v6.svc.test A query refused (REFUSED), EREFUSED; publishing the other family's addresses",
    );
    expect(error.failures.map((f) => `${f.rrtype} ${f.record} ${f.code}`)).toEqual([
      "AAAA v4.svc.test ERR_DNS_REFUSED",
      "A v6.svc.test ERR_DNS_REFUSED",
    ]);
    expect(upstream.snapshot().lastResolverError?.code).toBe("ERR_DNS_PARTIAL");
    expect(r.droppedRecords).toEqual([]);
    // One target only: the error names it.
    server.zone = { ...server.zone, srv: { [name]: [{ target: "v4.svc.test", port: 8001, priority: 0, weight: 10 }] } };
    await r.refresh();
    expect(ids(r.endpoints)).toEqual(["10.0.0.4:8001"]);
    expect(seen.errors[1]?.message).toBe(
      `dns-srv:${name}: AAAA lookup of "v4.svc.test" via ${server.address}: partial answer: query refused (REFUSED), EREFUSED; publishing the A addresses`,
    );
    await upstream.close();
  });
});
