/**
 * kongResolver() against a loopback HTTP server, not a real Kong (it cannot
 * run on the test machines): test/helpers/registry-server.ts serves the
 * example bodies of Kong's Admin API docs (test/fixtures/registry/) and
 * variants, and follows the documented semantics: paging with `size`,
 * `offset` and `next`; `/health` with HEALTHY and UNHEALTHY targets;
 * `Kong-Admin-Token`; 404 for an unknown upstream. Real sockets on
 * 127.0.0.1; the resolver's time is a ManualClock.
 */
import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Endpoint, KongResolverOptions, RegistryError } from "../../../src/index.js";
import { createUpstream, type KongResolver, kongResolver } from "../../../src/index.js";
import { ManualClock, seededRandom } from "../../../src/testing/index.js";
import { expectConfigErrors } from "../../helpers/config-errors.js";
import { until } from "../../helpers/dns-server.js";
import { json, kongHealth, kongTarget, RegistryServer } from "../../helpers/registry-server.js";

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../fixtures/registry/${name}`, import.meta.url), "utf8")) as {
    data: unknown[];
  };
const TARGETS = fixture("kong-targets.json").data;
const HEALTH = fixture("kong-upstream-health.json").data;

let server: RegistryServer;
let clock: ManualClock;
const open: KongResolver[] = [];

beforeEach(async () => {
  server = await RegistryServer.start();
  clock = new ManualClock();
  server.kong.set("api", { targets: TARGETS });
});

afterEach(async () => {
  for (const r of open.splice(0)) await r.close();
  await server.close();
});

function resolver(upstream = "api", options: KongResolverOptions = {}): KongResolver {
  const r = kongResolver(upstream, {
    url: server.url,
    clock,
    random: seededRandom(1),
    jitter: 0,
    retries: 0,
    ...options,
  });
  open.push(r);
  return r;
}

const summary = (endpoints: readonly Endpoint[] | undefined) => endpoints?.map((e) => `${e.id} w${e.weight}`);

function errorsOf(r: KongResolver): RegistryError[] {
  const errors: RegistryError[] = [];
  r.on("error", (e) => errors.push(e as RegistryError));
  return errors;
}

describe("kongResolver()", () => {
  it("maps the documented targets: host:port, Kong's weight and tags; sends Kong-Admin-Token", async () => {
    const r = resolver("api", { token: "kong-admin-secret" });
    r.start();
    await r.whenIdle();
    expect(r.endpoints).toEqual([
      {
        id: "203.0.113.42:443",
        host: "203.0.113.42",
        port: 443,
        weight: 100,
        priority: 0,
        scheme: "http",
        tags: ["user-level", "low-priority"],
        metadata: {},
      },
      {
        id: "example.com:8000",
        host: "example.com",
        port: 8000,
        weight: 50,
        priority: 0,
        scheme: "http",
        tags: [],
        metadata: {},
      },
    ]);
    expect(r.name).toBe("kong:api");
    expect(r.upstream).toBe("api");
    const req = server.requests[0];
    expect([req?.path, req?.query.toString()]).toEqual(["/upstreams/api/targets", "size=1000"]);
    expect(req?.headers["kong-admin-token"]).toBe("kong-admin-secret");
  });

  it("reads every page: size, then offset until next is null", async () => {
    const many = Array.from({ length: 2_500 }, (_, i) => kongTarget(`10.0.${i >> 8}.${i & 255}:8080`, 1 + (i % 5)));
    server.kong.set("big", { targets: many });
    const r = resolver("big");
    r.start();
    await r.whenIdle();
    expect(r.endpoints).toHaveLength(2_500);
    const requests = server.requests.map((q) => q.query);
    expect(requests.map((q) => q.get("size"))).toEqual(["1000", "1000", "1000"]);
    expect(requests.map((q) => q.get("offset"))).toEqual([null, "MTAwMA==", "MjAwMA=="]);
    const small = resolver("big", { pageSize: 700 });
    small.start();
    await small.whenIdle();
    expect(small.endpoints).toHaveLength(2_500);
    expect(server.requests).toHaveLength(3 + 4);
  });

  it("follows next when Kong gives no bare offset, but never to another host", async () => {
    let calls = 0;
    server.routes.set("/upstreams/api/targets", (_req, res, url) => {
      calls++;
      if (url.searchParams.get("offset") === null) {
        json(res, 200, { data: [kongTarget("10.0.0.1:80")], next: "http://evil.test/upstreams/api/targets?offset=p2" });
      } else {
        json(res, 200, {
          data: [kongTarget(`10.0.0.2:${url.searchParams.get("offset") === "p2" ? 80 : 81}`)],
          next: null,
        });
      }
    });
    const r = resolver();
    r.start();
    await r.whenIdle();
    expect(calls).toBe(2);
    expect(summary(r.endpoints)).toEqual(["10.0.0.1:80 w100", "10.0.0.2:80 w100"]);
  });

  it("weight 0 is drained as in Kong: kept in the set, never picked; no port means 8000; IPv6 in brackets", async () => {
    server.kong.set("api", {
      targets: [
        kongTarget("10.0.0.1:80", 0),
        kongTarget("10.0.0.2", 10),
        kongTarget("[fd00::1]:81", 30),
        { target: "10.0.0.3:80" },
      ],
    });
    const r = resolver();
    const upstream = createUpstream({ name: "api", resolver: r, clock, random: seededRandom(2) });
    await upstream.ready();
    expect(summary(upstream.endpoints)).toEqual([
      "10.0.0.1:80 w0",
      "10.0.0.2:8000 w10",
      "10.0.0.3:80 w100",
      "[fd00::1]:81 w30",
    ]);
    const picked = new Set<string>();
    for (let i = 0; i < 500; i++) picked.add(upstream.pick().id);
    expect(picked.has("10.0.0.1:80")).toBe(false);
    expect(picked.size).toBe(3);
    await upstream.close();
  });

  it("health: true leaves out the targets /health reports UNHEALTHY", async () => {
    server.kong.set("api", {
      targets: [
        kongTarget("127.0.0.1:20000", 100),
        kongTarget("127.0.0.1:20002", 200),
        kongTarget("127.0.0.1:20003", 5),
      ],
      health: [...HEALTH, kongHealth("127.0.0.1:20003", "HEALTHCHECKS_OFF")],
    });
    const r = resolver("api", { health: true });
    r.start();
    await r.whenIdle();
    expect(summary(r.endpoints)).toEqual(["127.0.0.1:20000 w100", "127.0.0.1:20003 w5"]);
    expect(server.requests.map((q) => q.path)).toEqual(["/upstreams/api/targets", "/upstreams/api/health"]);
  });

  it("every target UNHEALTHY: an empty answer, confirmed before the set empties", async () => {
    server.kong.set("api", { targets: [kongTarget("127.0.0.1:20000")], health: [] });
    const r = resolver("api", { health: true, confirmEmpty: 1, confirmEmptyDelayMs: 1_000 });
    const errors = errorsOf(r);
    r.start();
    await r.whenIdle();
    server.kong.set("api", {
      targets: [kongTarget("127.0.0.1:20000")],
      health: [kongHealth("127.0.0.1:20000", "UNHEALTHY")],
    });
    await r.refresh();
    expect(errors.map((e) => e.code)).toEqual(["ERR_REGISTRY_EMPTY"]);
    expect(r.endpoints).toHaveLength(1);
    clock.advance(1_000);
    await until(() => server.requests.length === 6);
    await r.whenIdle();
    expect(r.endpoints).toEqual([]);
  });

  it("polls every intervalMs, with the workspace before /upstreams", async () => {
    server.routes.set("/team-a/upstreams/api/targets", (_req, res) => json(res, 200, { data: TARGETS, next: null }));
    const r = resolver("api", { workspace: "team-a", intervalMs: 10_000 });
    r.start();
    await r.whenIdle();
    clock.advance(9_999);
    await r.whenIdle();
    expect(server.requests).toHaveLength(1);
    clock.advance(1);
    await until(() => server.requests.length === 2);
    expect(server.requests[1]?.path).toBe("/team-a/upstreams/api/targets");
  });

  it("an unknown upstream is HTTP 404, not retried; ready() rejects with Kong's message", async () => {
    const r = resolver("nope", { retries: 3 });
    const upstream = createUpstream({ name: "nope", resolver: r, clock });
    const error = (await upstream.ready().catch((e: unknown) => e)) as RegistryError;
    expect([error.code, error.status, error.retryable]).toEqual(["ERR_REGISTRY_HTTP", 404, false]);
    expect(error.message).toBe(
      `kong:nope: GET ${server.url}/upstreams/nope/targets?size=1000: HTTP 404 Not Found: {"message":"Not found"}`,
    );
    expect(server.requests).toHaveLength(1);
    await upstream.close();
  });

  it("a wrong admin token is HTTP 401, and the token is in no error", async () => {
    server.kongToken = "right-token";
    const r = resolver("api", { token: "wrong-token-value" });
    const errors = errorsOf(r);
    r.start();
    await r.whenIdle();
    expect([errors[0]?.code, errors[0]?.status]).toEqual(["ERR_REGISTRY_HTTP", 401]);
    expect(errors[0]?.message).toContain("Invalid credentials. Token or User credentials required");
    expect(JSON.stringify(errors[0]) + (errors[0]?.message ?? "")).not.toContain("wrong-token-value");
  });

  it("a server whose paging loops is ERR_REGISTRY_BODY, and the last good set stays", async () => {
    const r = resolver();
    const errors = errorsOf(r);
    r.start();
    await r.whenIdle();
    server.routes.set("/upstreams/api/targets", (_req, res) =>
      json(res, 200, { data: [kongTarget("10.0.0.1:80")], next: "/upstreams/api/targets?offset=same", offset: "same" }),
    );
    await r.refresh();
    expect(errors.map((e) => [e.code, e.detail])).toEqual([
      ["ERR_REGISTRY_BODY", 'paging loops: offset "same" came twice'],
    ]);
    expect(r.endpoints).toHaveLength(2);
  });

  it("rejects invalid options synchronously with InvalidConfigError", () => {
    const bad: [string, KongResolverOptions, string][] = [
      ["", {}, "upstream"],
      [undefined as never, {}, "upstream"],
      ["api", { url: "kong" }, "url"],
      ["api", { url: ["http://a", 5 as never] }, "url"],
      ["api", { token: 5 as never }, "token"],
      ["api", { workspace: "" }, "workspace"],
      ["api", { health: 1 as never }, "health"],
      ["api", { pageSize: 0 }, "pageSize"],
      ["api", { pageSize: 1001 }, "pageSize"],
      ["api", { retries: -1 }, "retries"],
    ];
    expectConfigErrors((upstream: string, options: KongResolverOptions) => kongResolver(upstream, options), bad);
    expect(kongResolver("api").url).toBe("http://127.0.0.1:8001/");
  });
});
