/**
 * consulResolver() against a loopback HTTP server, not a real Consul (it
 * cannot run on the test machines): test/helpers/registry-server.ts serves
 * the sample body of Consul's API docs (test/fixtures/registry/) and its
 * variants, and follows Consul's documented semantics: `X-Consul-Index`,
 * blocking queries (`index`, `wait`), an index that goes backwards, the
 * `passing` and `tag` filters, `X-Consul-Token`, a query that goes silent.
 * Real sockets on 127.0.0.1; the resolver's time is a ManualClock.
 */
import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ConsulResolverOptions, Endpoint, EndpointsChange, RegistryError } from "../../../src/index.js";
import { ConsulResolver, consulResolver, createUpstream } from "../../../src/index.js";
import { ManualClock, seededRandom } from "../../../src/testing/index.js";
import { expectConfigErrors } from "../../helpers/config-errors.js";
import { activeHandles, expectNoNewHandles, until } from "../../helpers/dns-server.js";
import { closedPort, consulEntry, RegistryServer, recordResolver } from "../../helpers/registry-server.js";

const FIXTURE = JSON.parse(
  readFileSync(new URL("../../fixtures/registry/consul-health-service.json", import.meta.url), "utf8"),
) as unknown[];
const PATH = "/v1/health/service/api";

let server: RegistryServer;
let clock: ManualClock;
const open: ConsulResolver[] = [];

beforeEach(async () => {
  server = await RegistryServer.start();
  clock = new ManualClock();
  server.setConsul("redis", FIXTURE);
  server.setConsul("api", [
    consulEntry({ address: "10.0.0.1", port: 8080 }),
    consulEntry({ address: "10.0.0.2", port: 8080, weights: { Passing: 3, Warning: 1 } }),
  ]);
});

afterEach(async () => {
  for (const r of open.splice(0)) await r.close();
  await server.close();
});

function resolver(service = "api", options: ConsulResolverOptions = {}): ConsulResolver {
  const r = consulResolver(service, {
    address: server.url,
    clock,
    random: seededRandom(1),
    jitter: 0,
    waitMs: 1_000,
    minIntervalMs: 0,
    retries: 0,
    ...options,
  });
  open.push(r);
  return r;
}

const summary = (endpoints: readonly Endpoint[] | undefined) => endpoints?.map((e) => `${e.id} w${e.weight}`);

/** The query of the n-th request to `path` (0-based), as a plain object of its parameters. */
function queryOf(n: number, path = PATH): Record<string, string | string[]> {
  const req = server.requests.filter((r) => r.path === path)[n];
  if (req === undefined) throw new Error(`no request ${n} to ${path}`);
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(req.query.keys())) {
    const all = req.query.getAll(key);
    out[key] = all.length === 1 ? (all[0] as string) : all;
  }
  return out;
}

describe("consulResolver()", () => {
  it("maps the documented sample answer: Service.Address and Port, Weights.Passing, Tags, Meta", async () => {
    const r = resolver("redis", { token: "acl-token-1" });
    r.start();
    await r.whenIdle();
    expect(r.endpoints).toEqual([
      {
        id: "10.1.10.12:8000",
        host: "10.1.10.12",
        port: 8000,
        weight: 10,
        priority: 0,
        scheme: "http",
        tags: ["primary"],
        metadata: { redis_version: "4.0" },
      },
    ]);
    expect(r.name).toBe("consul:redis");
    expect(r.service).toBe("redis");
    const req = server.requests[0];
    expect(req?.path).toBe("/v1/health/service/redis");
    expect(queryOf(0, "/v1/health/service/redis")).toEqual({ passing: "true" });
    expect(req?.headers["x-consul-token"]).toBe("acl-token-1");
    expect(req?.headers.accept).toBe("application/json");
  });

  it("falls back to Node.Address when Service.Address is empty, and Consul's default weights are 1", async () => {
    server.setConsul("api", [
      consulEntry({ nodeAddress: "10.0.9.1", address: "", port: 9000, weights: null }),
      consulEntry({ nodeAddress: "10.0.9.2", address: "svc.internal", port: 9001 }),
    ]);
    const r = resolver();
    r.start();
    await r.whenIdle();
    expect(summary(r.endpoints)).toEqual(["10.0.9.1:9000 w1", "svc.internal:9001 w1"]);
  });

  it("passing: false takes warning instances at Weights.Warning and leaves critical ones out; passing: true asks Consul to filter", async () => {
    server.setConsul("api", [
      consulEntry({ address: "10.0.0.1", weights: { Passing: 10, Warning: 2 } }),
      consulEntry({ address: "10.0.0.2", weights: { Passing: 10, Warning: 2 }, checks: ["warning", "passing"] }),
      consulEntry({ address: "10.0.0.3", weights: { Passing: 10, Warning: 2 }, checks: ["passing", "critical"] }),
      consulEntry({ address: "10.0.0.4", weights: { Passing: 10, Warning: 2 }, checks: ["warning", "critical"] }),
    ]);
    const all = resolver("api", { passing: false });
    all.start();
    await all.whenIdle();
    expect(summary(all.endpoints)).toEqual(["10.0.0.1:8080 w10", "10.0.0.2:8080 w2"]);
    expect(queryOf(0)).toEqual({});
    const passing = resolver("api");
    passing.start();
    await passing.whenIdle();
    expect(summary(passing.endpoints)).toEqual(["10.0.0.1:8080 w10"]);
    expect(queryOf(1)).toEqual({ passing: "true" });
  });

  it("sends tag (repeated), dc and ns, and keeps only instances with every tag", async () => {
    server.setConsul("api", [
      consulEntry({ address: "10.0.0.1", tags: ["v2", "canary"] }),
      consulEntry({ address: "10.0.0.2", tags: ["v2"] }),
      consulEntry({ address: "10.0.0.3", tags: ["v1"] }),
    ]);
    const r = resolver("api", { tag: ["v2", "canary"], datacenter: "dc2", namespace: "team-a" });
    r.start();
    await r.whenIdle();
    expect(summary(r.endpoints)).toEqual(["10.0.0.1:8080 w1"]);
    expect(queryOf(0)).toEqual({ passing: "true", tag: ["v2", "canary"], dc: "dc2", ns: "team-a" });
    const one = resolver("api", { tag: "v2" });
    one.start();
    await one.whenIdle();
    expect(summary(one.endpoints)).toEqual(["10.0.0.1:8080 w1", "10.0.0.2:8080 w1"]);
  });

  it("plugs into an upstream: ready() resolves and picks follow Weights.Passing 1:3", async () => {
    const upstream = createUpstream({ name: "api", resolver: resolver(), clock, random: seededRandom(3) });
    await upstream.ready();
    const counts: Record<string, number> = {};
    for (let i = 0; i < 400; i++) {
      const e = upstream.pick();
      counts[e.id] = (counts[e.id] ?? 0) + 1;
    }
    expect(counts).toEqual({ "10.0.0.1:8080": 100, "10.0.0.2:8080": 300 });
    await upstream.close();
  });

  it("a refresh keeps the endpoint objects of the instances that did not change, and the upstream sees only the change", async () => {
    const entries = (weight: number) =>
      Array.from({ length: 20 }, (_, i) =>
        consulEntry({
          node: `node-${i}`,
          address: `10.0.1.${i}`,
          port: 8080,
          tags: ["v2"],
          meta: { version: "2.1.0" },
          weights: { Passing: i === 7 ? weight : 1, Warning: 1 },
        }),
      );
    server.setConsul("api", entries(2));
    const r = resolver("api", { blocking: false, intervalMs: 1_000 });
    const upstream = createUpstream({ name: "api", resolver: r, clock, random: seededRandom(1) });
    const changes: EndpointsChange[] = [];
    upstream.on("endpoints", (c) => changes.push(c));
    await upstream.ready();
    const first = r.endpoints as readonly Endpoint[];
    // The same 20 instances again, one with another weight, another listed first now.
    const again = entries(5);
    server.setConsul("api", [again[12], ...again.slice(0, 12), ...again.slice(13)]);
    clock.advance(1_000);
    await until(() => changes.length === 2);
    const second = r.endpoints as readonly Endpoint[];
    expect(second.map((e, i) => e === first[i])).toEqual(first.map((e) => e.id !== "10.0.1.7:8080"));
    expect(summary(second.filter((e) => e.id === "10.0.1.7:8080"))).toEqual(["10.0.1.7:8080 w5"]);
    expect(summary(changes[1]?.updated)).toEqual(["10.0.1.7:8080 w5"]);
    expect([changes[1]?.added, changes[1]?.removed]).toEqual([[], []]);
    await upstream.close();
  });

  it("blocking queries: sends back X-Consul-Index with wait, and a change arrives without waiting for a timer", async () => {
    const r = resolver();
    const seen = recordResolver(r);
    r.start();
    await r.whenIdle();
    expect(r.index).toBe(BigInt(server.consulIndex("api")));
    expect(queryOf(0)).toEqual({ passing: "true" });
    clock.advance(0); // the next query is due at once (minIntervalMs 0)
    await until(() => server.held === 1);
    expect(queryOf(1)).toEqual({ passing: "true", index: String(server.consulIndex("api")), wait: "1s" });
    server.setConsul("api", [consulEntry({ address: "10.0.0.7", port: 8080 })]);
    await until(() => seen.sets.length === 2);
    expect(summary(r.endpoints)).toEqual(["10.0.0.7:8080 w1"]);
    expect(r.index).toBe(BigInt(server.consulIndex("api")));
    expect(seen.errors).toEqual([]);
  });

  it("a blocking query returning unchanged (its wait passed) re-announces nothing and blocks again", async () => {
    const r = resolver("api", { waitMs: 50 });
    const seen = recordResolver(r);
    const resolved: boolean[] = [];
    r.on("resolved", (_set, changed) => resolved.push(changed));
    r.start();
    await r.whenIdle();
    clock.advance(0);
    await until(() => server.count(PATH) === 2);
    await until(() => resolved.length === 2); // the server's 50 ms wait passed: same index, same body
    expect(resolved).toEqual([true, false]);
    expect(seen.sets).toHaveLength(1);
    clock.advance(0);
    await until(() => server.count(PATH) === 3);
    expect(queryOf(2).index).toBe(String(server.consulIndex("api")));
  });

  it("a blocking query that returns the index it was sent is the last answer again: its body is not read", async () => {
    const r = resolver();
    const seen = recordResolver(r);
    const resolved: boolean[] = [];
    r.on("resolved", (_set, changed) => resolved.push(changed));
    r.start();
    await r.whenIdle();
    const index = String(server.consulIndex("api"));
    server.faults.push({ status: 200, body: "this body is never read", headers: { "X-Consul-Index": index } });
    await r.refresh();
    expect(queryOf(1).index).toBe(index);
    expect(resolved).toEqual([true, false]);
    expect(seen.errors).toEqual([]);
    // A new index is read as usual, even with the same body.
    server.faults.push({ status: 200, body: "[]", headers: { "X-Consul-Index": String(Number(index) + 1) } });
    await r.refresh();
    expect(seen.errors.map((e) => e.code)).toEqual(["ERR_REGISTRY_EMPTY"]);
  });

  it("an index that goes backwards resets to 0: the next query is a full one without index, then it blocks again", async () => {
    server.setConsul("api", [consulEntry({ address: "10.0.0.1" })], 50);
    const r = resolver();
    const seen = recordResolver(r);
    r.start();
    await r.whenIdle();
    expect(r.index).toBe(50n);
    clock.advance(0);
    await until(() => server.held === 1);
    server.setConsul("api", [consulEntry({ address: "10.0.0.2" })], 7); // a snapshot restore: the index goes back
    await until(() => seen.sets.length === 2);
    expect(r.index).toBe(0n);
    clock.advance(0);
    await until(() => server.count(PATH) === 3 && server.held === 0);
    await r.whenIdle();
    expect(queryOf(2)).toEqual({ passing: "true" }); // no index: a full query
    expect(r.index).toBe(7n);
    clock.advance(0);
    await until(() => server.held === 1);
    expect(queryOf(3).index).toBe("7");
  });

  it("never sends an index below 1: an X-Consul-Index of 0 is held as 1", async () => {
    server.indexHeader = "0";
    const r = resolver();
    r.start();
    await r.whenIdle();
    expect(r.index).toBe(1n);
    clock.advance(0);
    await until(() => server.count(PATH) === 2);
    expect(queryOf(1).index).toBe("1");
  });

  it("rate-limits the loop: a server that answers every blocking query at once gets one query per minIntervalMs", async () => {
    server.ignoreIndex = true;
    const r = resolver("api", { minIntervalMs: 1_000 });
    r.start();
    await r.whenIdle();
    for (let i = 2; i <= 5; i++) {
      clock.advance(999);
      await new Promise((resolve) => setImmediate(resolve));
      expect(server.count(PATH)).toBe(i - 1);
      clock.advance(1);
      await until(() => server.count(PATH) === i);
      await r.whenIdle();
    }
    expect(queryOf(4).index).toBe(String(server.consulIndex("api")));
    expect(clock.pendingTimers).toBe(1);
  });

  it("an answer without a usable X-Consul-Index is polled again after intervalMs, without index", async () => {
    server.indexHeader = null;
    const r = resolver("api", { intervalMs: 5_000 });
    r.start();
    await r.whenIdle();
    expect(r.index).toBe(0n);
    clock.advance(4_999);
    await r.whenIdle();
    expect(server.count(PATH)).toBe(1);
    clock.advance(1);
    await until(() => server.count(PATH) === 2);
    expect(queryOf(1)).toEqual({ passing: "true" });
    server.indexHeader = "abc";
    await r.whenIdle();
    clock.advance(5_000);
    await until(() => server.count(PATH) === 3);
    expect(queryOf(2)).toEqual({ passing: "true" });
  });

  it("blocking: false polls every intervalMs without index or wait", async () => {
    const r = resolver("api", { blocking: false, intervalMs: 2_000 });
    r.start();
    await r.whenIdle();
    clock.advance(2_000);
    await until(() => server.count(PATH) === 2);
    await r.whenIdle();
    expect(queryOf(1)).toEqual({ passing: "true" });
  });

  it("a blocking query that goes silent is torn down at stallFactor × its wait, reported at once, and sent again without backoff", async () => {
    const r = resolver("api", { waitMs: 1_600, stallFactor: 2, retries: 3, retryDelayMs: 5_000 });
    const seen = recordResolver(r);
    r.start();
    await r.whenIdle();
    server.silent = "blocking";
    clock.advance(0);
    await until(() => server.held === 1);
    // Consul may add wait/16: 1,700 ms; the stall deadline is twice that.
    clock.advance(3_399);
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen.errors).toEqual([]);
    clock.advance(1);
    await until(() => seen.errors.length === 1 && server.count(PATH) === 3);
    const stall = seen.errors[0] as RegistryError;
    expect(stall.code).toBe("ERR_REGISTRY_STALLED");
    expect(stall.message).toBe(
      `consul:api: GET ${server.url}${PATH}?passing=true&index=${server.consulIndex("api")}&wait=1600ms: blocking query silent for 3400 ms (2 × the 1700 ms it may be held); sending it again`,
    );
    await until(() => server.held === 1); // the torn-down query's connection is closed, the new one held
    expect(r.endpoints).toHaveLength(2); // the last good set stays
    // Consul comes back with a change; the silent query is torn down at its deadline and the next one gets it.
    server.silent = false;
    server.setConsul("api", [consulEntry({ address: "10.0.0.9" })]);
    clock.advance(3_400);
    await until(() => seen.sets.length === 2);
    expect(summary(r.endpoints)).toEqual(["10.0.0.9:8080 w1"]);
    expect(seen.errors.map((e) => e.code)).toEqual(["ERR_REGISTRY_STALLED", "ERR_REGISTRY_STALLED"]);
  });

  it("a stall on the last try of a refresh is reported once, and the loop goes on after intervalMs", async () => {
    const r = resolver("api", { waitMs: 1_000, stallFactor: 2, retries: 0, intervalMs: 7_000 });
    const seen = recordResolver(r);
    r.start();
    await r.whenIdle();
    server.silent = "blocking";
    clock.advance(0);
    await until(() => server.held === 1);
    clock.advance(2_126); // 2 × 1,063 ms
    await until(() => seen.errors.length === 1);
    await r.whenIdle();
    expect(seen.errors.map((e) => e.code)).toEqual(["ERR_REGISTRY_STALLED"]);
    server.silent = false;
    clock.advance(6_999);
    await r.whenIdle();
    expect(server.count(PATH)).toBe(2);
    clock.advance(1);
    await until(() => server.count(PATH) === 3);
    expect(seen.errors).toHaveLength(1);
  });

  it("fails over between agents: a refused connection is retried on the next address", async () => {
    const down = `http://127.0.0.1:${await closedPort()}`;
    const r = resolver("api", { address: [down, server.url], retries: 2, retryDelayMs: 0 });
    const seen = recordResolver(r);
    expect(r.url).toBe(`${down}/`);
    r.start();
    await r.whenIdle();
    expect(summary(r.endpoints)).toEqual(["10.0.0.1:8080 w1", "10.0.0.2:8080 w3"]);
    expect(seen.errors).toEqual([]);
    expect(r.url).toBe(`${server.url}/`);
    // It stays on the agent that works.
    clock.advance(0);
    await until(() => server.held === 1);
    expect(r.url).toBe(`${server.url}/`);
  });

  it("an empty answer once keeps the last good set; confirming queries do not block", async () => {
    const r = resolver("api", { confirmEmpty: 2, confirmEmptyDelayMs: 5_000 });
    const seen = recordResolver(r);
    r.start();
    await r.whenIdle();
    clock.advance(0);
    await until(() => server.held === 1);
    server.setConsul("api", []);
    await until(() => seen.errors.length === 1);
    await r.whenIdle();
    expect(seen.errors[0]?.code).toBe("ERR_REGISTRY_EMPTY");
    expect(seen.errors[0]?.message).toContain(
      "the registry lists no instance; keeping the last good set of 2 endpoint(s) until 2 more refresh(es) confirm the empty answer",
    );
    expect(r.endpoints).toHaveLength(2);
    clock.advance(4_999);
    await r.whenIdle();
    expect(server.count(PATH)).toBe(2);
    server.setConsul("api", [consulEntry({ address: "10.0.0.1" })]);
    clock.advance(1);
    await until(() => server.count(PATH) === 3);
    await r.whenIdle();
    expect(queryOf(2)).toEqual({ passing: "true" }); // the confirming query does not block
    expect(summary(r.endpoints)).toEqual(["10.0.0.1:8080 w1"]);
    expect(seen.errors).toHaveLength(1);
  });

  it("an empty answer confirmed twice empties the set", async () => {
    const r = resolver("api", { confirmEmpty: 2, confirmEmptyDelayMs: 5_000 });
    const seen = recordResolver(r);
    r.start();
    await r.whenIdle();
    server.setConsul("api", []);
    await r.refresh();
    clock.advance(5_000);
    await until(() => server.count(PATH) === 3);
    await r.whenIdle();
    clock.advance(5_000);
    await until(() => server.count(PATH) === 4);
    await r.whenIdle();
    expect(r.endpoints).toEqual([]);
    expect(seen.errors.map((e) => e.code)).toEqual(["ERR_REGISTRY_EMPTY", "ERR_REGISTRY_EMPTY"]);
  });

  it("a first answer with no instance fails ready() with ERR_REGISTRY_EMPTY, and the resolver keeps watching", async () => {
    const r = resolver("nothing");
    const upstream = createUpstream({ name: "nothing", resolver: r, clock });
    const error = (await upstream.ready().catch((e: unknown) => e)) as RegistryError;
    expect(error.code).toBe("ERR_REGISTRY_EMPTY");
    expect(error.message).toBe(
      `consul:nothing: GET ${server.url}/v1/health/service/nothing?passing=true: the registry lists no instance`,
    );
    expect([error.registry, error.url, error.status]).toEqual([
      "consul",
      `${server.url}/v1/health/service/nothing?passing=true`,
      undefined,
    ]);
    clock.advance(0);
    await until(() => server.held === 1); // blocking on the answer's index
    server.setConsul("nothing", [consulEntry({ address: "10.0.0.5" })]);
    await until(() => upstream.endpoints.length === 1);
    await upstream.close();
  });

  it("close() during a held blocking query aborts it: the connection closes, no timer or handle is left", async () => {
    const before = await activeHandles();
    const r = resolver();
    r.start();
    await r.whenIdle();
    clock.advance(0);
    await until(() => server.held === 1);
    await r.close();
    await until(() => server.held === 0);
    expect(clock.pendingTimers).toBe(0);
    await server.close();
    expectNoNewHandles(before, await activeHandles());
    server = await RegistryServer.start(); // for afterEach
  });

  it("an aborted signal option closes the resolver", async () => {
    const controller = new AbortController();
    const r = resolver("api", { signal: controller.signal });
    r.start();
    await r.whenIdle();
    clock.advance(0);
    await until(() => server.held === 1);
    controller.abort();
    await until(() => r.closed && server.held === 0);
    expect(clock.pendingTimers).toBe(0);
    const early = new AbortController();
    early.abort();
    const never = resolver("api", { signal: early.signal });
    never.start();
    expect(never.closed).toBe(true);
    expect(server.count(PATH)).toBe(2);
  });

  it("rejects invalid options synchronously with InvalidConfigError", () => {
    const bad: [string, ConsulResolverOptions, string][] = [
      ["", {}, "service"],
      [5 as never, {}, "service"],
      ["api", 5 as never, "options"],
      ["api", { address: "consul:8500" }, "address"],
      ["api", { address: "ftp://x" }, "address"],
      ["api", { address: [] }, "address"],
      ["api", { address: "http://x:8500/?a=1" }, "address"],
      ["api", { address: ["http://a:b@x", "http://c:d@y"] }, "address"],
      ["api", { token: "" }, "token"],
      ["api", { token: "a\nb" }, "token"],
      ["api", { headers: { "bad header": "x" } }, "headers"],
      ["api", { headers: { a: 5 as never } }, "headers"],
      ["api", { passing: "yes" as never }, "passing"],
      ["api", { tag: [""] }, "tag"],
      ["api", { tag: 5 as never }, "tag"],
      ["api", { datacenter: "" }, "datacenter"],
      ["api", { namespace: 5 as never }, "namespace"],
      ["api", { waitMs: 600_001 }, "waitMs"],
      ["api", { waitMs: 0 }, "waitMs"],
      ["api", { stallFactor: 1 }, "stallFactor"],
      ["api", { minIntervalMs: -1 }, "minIntervalMs"],
      ["api", { timeoutMs: 0 }, "timeoutMs"],
      ["api", { maxBodyBytes: 0 }, "maxBodyBytes"],
      ["api", { fetch: 5 as never }, "fetch"],
      ["api", { signal: {} as never }, "signal"],
      ["api", { scheme: "ht tp" }, "scheme"],
      ["api", { intervalMs: 0 }, "intervalMs"],
      ["api", { jitter: 1 }, "jitter"],
      ["api", { clock: {} as never }, "clock"],
      ["api", { name: " " }, "name"],
    ];
    expectConfigErrors((service: string, options: ConsulResolverOptions) => consulResolver(service, options), bad);
    expect(consulResolver("api")).toBeInstanceOf(ConsulResolver);
    expect(consulResolver("api").url).toBe("http://127.0.0.1:8500/");
  });
});
