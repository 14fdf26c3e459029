/**
 * kongRegistrar() against a loopback HTTP server, not a real Kong (it cannot
 * run on the test machines): test/helpers/registrar-server.ts plays Kong's
 * Admin API for targets as documented since Kong 2.2 (one target per
 * host:port in an upstream): POST 201 with the target, 409 "unique
 * constraint violation" when it is there, PATCH and DELETE of
 * /upstreams/<u>/targets/<target> (404 when absent), 404 for an unknown
 * upstream, a workspace prefix, Kong-Admin-Token. Real sockets on
 * 127.0.0.1; the registrar's time is a ManualClock.
 */
import { inspect } from "node:util";
import { beforeEach, describe, expect, it } from "vitest";
import type { KongRegistrarOptions } from "../../src/index.js";
import { kongRegistrar } from "../../src/index.js";
import { type ManualClock, seededRandom } from "../../src/testing/index.js";
import { expectConfigErrors } from "../helpers/config-errors.js";
import { activeHandles, expectNoNewHandles, until } from "../helpers/dns-server.js";
import { advance, RegistrarServer, registrarFixture, settle } from "../helpers/registrar-server.js";
import { closedPort } from "../helpers/registry-server.js";

const fixture = registrarFixture((s) => s.kong.addUpstream("api-upstream"));
let clock: ManualClock;
let server: RegistrarServer;
beforeEach(() => {
  ({ clock, server } = fixture);
});

function registrar(options: Partial<KongRegistrarOptions> = {}) {
  const r = kongRegistrar({
    adminUrls: server.url,
    upstream: "api-upstream",
    target: "10.0.0.5:8080",
    clock,
    random: seededRandom(1),
    retry: { initialMs: 1_000, maxMs: 8_000, jitter: 0 },
    ...options,
  });
  return fixture.track(r);
}

describe("kongRegistrar()", () => {
  it("adds its target with POST, holds no timer while registered (Kong has no TTL), and DELETEs it on close()", async () => {
    const { r, events } = registrar({ weight: 50, tags: ["v2", "blue"], token: "admin-token-1" });
    expect(r.name).toBe("kong:api-upstream/10.0.0.5:8080");
    await r.start();
    expect(server.kong.targets("api-upstream")).toEqual(["10.0.0.5:8080 w50"]);
    expect(server.calls[0]?.body).toEqual({ target: "10.0.0.5:8080", weight: 50, tags: ["v2", "blue"] });
    expect(server.calls[0]?.headers["kong-admin-token"]).toBe("admin-token-1");
    expect(clock.pendingTimers).toBe(0);
    await clock.advanceAsync(600_000);
    await r.close();
    expect(server.log()).toEqual([
      "POST /upstreams/api-upstream/targets@0",
      "DELETE /upstreams/api-upstream/targets/10.0.0.5:8080@600000",
    ]);
    expect(server.calls.every((c) => c.headers["kong-admin-token"] === "admin-token-1")).toBe(true);
    expect(events).toEqual(["registered@0", "deregistered@600000"]);
    expect(server.kong.targets("api-upstream")).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("a target already there (409: left by a run that died, drained to weight 0 by a sweep) is taken over with PATCH", async () => {
    const { r, events } = registrar({ weight: 80 });
    await kongRegistrar({
      adminUrls: server.url,
      upstream: "api-upstream",
      target: "10.0.0.5:8080",
      weight: 0,
    }).start();
    expect(server.kong.targets("api-upstream")).toEqual(["10.0.0.5:8080 w0"]);
    await r.start();
    expect(server.log().slice(1)).toEqual([
      "POST /upstreams/api-upstream/targets@0",
      "PATCH /upstreams/api-upstream/targets/10.0.0.5:8080@0",
    ]);
    expect(server.calls[2]?.body).toEqual({ weight: 80 });
    expect(server.kong.targets("api-upstream")).toEqual(["10.0.0.5:8080 w80"]);
    expect(events).toEqual(["registered@0"]);
  });

  it("a target deleted between the 409 and the PATCH (404) is added again at once", async () => {
    const { r, events } = registrar();
    server.faults.push({
      status: 409,
      body: '{"name":"unique constraint violation"}',
      contentType: "application/json",
    });
    await r.start();
    expect(server.log()).toEqual([
      "POST /upstreams/api-upstream/targets@0",
      "PATCH /upstreams/api-upstream/targets/10.0.0.5:8080@0",
      "POST /upstreams/api-upstream/targets@0",
    ]);
    expect(server.kong.targets("api-upstream")).toEqual(["10.0.0.5:8080 w100"]);
    expect(events).toEqual(["registered@0"]);
  });

  it("an upstream that does not exist yet: 404, retried with backoff until it is created", async () => {
    const { r, events, step, watched } = registrar({ upstream: "later" });
    let started = false;
    void r.start().then(() => {
      started = true;
    });
    await settle(watched);
    await step(3_000);
    expect(started).toBe(false);
    expect(events).toEqual([
      `error@0:kong:later/10.0.0.5:8080: POST ${server.url}/upstreams/later/targets: HTTP 404 Not Found: {"message":"Not found"}`,
      `error@1000:kong:later/10.0.0.5:8080: POST ${server.url}/upstreams/later/targets: HTTP 404 Not Found: {"message":"Not found"}`,
      `error@3000:kong:later/10.0.0.5:8080: POST ${server.url}/upstreams/later/targets: HTTP 404 Not Found: {"message":"Not found"}`,
    ]);
    server.kong.addUpstream("later");
    await step(4_000);
    expect(started).toBe(true);
    expect(events.at(-1)).toBe("registered@7000");
    expect(server.kong.targets("later")).toEqual(["10.0.0.5:8080 w100"]);
  });

  it("a target already gone at close() (404 to DELETE) is deregistered all the same", async () => {
    const { r, events } = registrar();
    await r.start();
    server.kong.upstreams.get("default/api-upstream")?.clear();
    await r.close();
    expect(server.log().at(-1)).toBe("DELETE /upstreams/api-upstream/targets/10.0.0.5:8080@0");
    expect(events).toEqual(["registered@0", "deregistered@0"]);
  });

  it("a workspace goes before /upstreams; an IPv6 target is normalized as Kong stores it and encoded in the path", async () => {
    server.kong.addUpstream("api-upstream", "team-a");
    const { r } = registrar({ workspace: "team-a", target: "[FD00:0::5]:8080" });
    expect(r.target).toBe("[fd00::5]:8080");
    await r.start();
    await r.close();
    expect(server.log()).toEqual([
      "POST /team-a/upstreams/api-upstream/targets@0",
      "DELETE /team-a/upstreams/api-upstream/targets/%5Bfd00::5%5D:8080@0",
    ]);
    expect(server.calls[0]?.body).toEqual({ target: "[fd00::5]:8080", weight: 100 });
    expect(server.kong.targets("api-upstream", "team-a")).toEqual([]);
  });

  it("fails over between Kong nodes: a node that refuses connections is skipped", async () => {
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const { r, events, step, watched } = registrar({ adminUrls: [dead, server.url] });
    void r.start();
    await settle(watched);
    await step(1_000);
    expect(events).toEqual([
      expect.stringMatching(
        /^error@0:kong:api-upstream\/10\.0\.0\.5:8080: POST http:\/\/127\.0\.0\.1:\d+\/upstreams\/api-upstream\/targets: connection failed/,
      ),
      "registered@1000",
    ]);
    expect(r.url).toBe(`${server.url}/`);
  });

  it("close() with an Admin API that hangs gives up at its deadline: an error event, the request aborted, nothing left", async () => {
    const before = await activeHandles();
    const { r, events } = registrar();
    await r.start();
    server.faults.push({ hang: true });
    const closing = r.close({ timeoutMs: 2_000 });
    await until(() => server.held === 1);
    await clock.advanceAsync(2_000);
    await closing;
    expect(events).toEqual(["registered@0", "error@2000:deregistration took over 2000 ms"]);
    await until(() => server.held === 0);
    expect(clock.pendingTimers).toBe(0);
    expect(server.kong.targets("api-upstream")).toEqual(["10.0.0.5:8080 w100"]); // left behind: see docs
    await server.close();
    expectNoNewHandles(before, await activeHandles());
    server = await RegistrarServer.start(() => clock.now());
  });

  it("credentials appear in no error, event or inspection", async () => {
    server.token = { header: "Kong-Admin-Token", value: "right" };
    const { r, events, watched } = registrar({
      adminUrls: server.url.replace("http://", "http://admin-user:admin-pass@"),
      token: "kong-secret-token",
      headers: { "x-extra-auth": "header-secret" },
    });
    const errors: unknown[] = [];
    r.on("error", (e) => errors.push(e));
    server.faults.push({ status: 401, body: "bad token kong-secret-token from admin-user (header-secret)" });
    void r.start();
    await settle(watched);
    await advance(clock, watched, 1_000); // the fake's own 401
    expect(errors).toHaveLength(2);
    expect(server.calls[0]?.headers.authorization).toBe(
      `Basic ${Buffer.from("admin-user:admin-pass").toString("base64")}`,
    );
    const text = [...events, ...errors.map((e) => `${inspect(e)} ${JSON.stringify(e)}`), inspect(r, { depth: 6 })].join(
      "\n",
    );
    for (const secret of ["kong-secret-token", "header-secret", "admin-pass", "admin-user"]) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain("<redacted>");
  });

  it("rejects invalid options with InvalidConfigError naming the option", () => {
    const ok = { upstream: "api", target: "10.0.0.5:8080" };
    expectConfigErrors(
      (o: unknown) => kongRegistrar(o as KongRegistrarOptions),
      [
        [undefined, "upstream"],
        [{ target: "10.0.0.5:8080" }, "upstream"],
        [{ upstream: "api" }, "target"],
        [{ ...ok, target: "10.0.0.5" }, "target"],
        [{ ...ok, target: "fd00::5" }, "target"],
        [{ ...ok, target: "[fd00::5]" }, "target"],
        [{ ...ok, target: "10.0.0.5:0" }, "target"],
        [{ ...ok, target: "10.0.0.5:99999" }, "target"],
        [{ ...ok, target: "bad host:80" }, "target"],
        [{ ...ok, weight: 65_536 }, "weight"],
        [{ ...ok, weight: 1.5 }, "weight"],
        [{ ...ok, tags: ["a,b"] }, "tags"],
        [{ ...ok, tags: ["a/b"] }, "tags"],
        [{ ...ok, tags: [""] }, "tags"],
        [{ ...ok, tags: "v2" }, "tags"],
        [{ ...ok, workspace: "" }, "workspace"],
        [{ ...ok, workspace: "a/b" }, "workspace"],
        [{ ...ok, upstream: "api/v2" }, "upstream"],
        [{ ...ok, adminUrls: "ftp://kong" }, "adminUrls"],
        [{ ...ok, adminUrls: ["http://a:8001", "http://u:p@b:8001"] }, "adminUrls"],
        [{ ...ok, token: 5 }, "token"],
        [{ ...ok, timeoutMs: -1 }, "timeoutMs"],
        [{ ...ok, retry: [] }, "retry"],
      ],
    );
  });

  it("defaults: the local Admin API, weight 100", () => {
    const r = kongRegistrar({ upstream: "api", target: "api-1.internal:8080" });
    expect(r.url).toBe("http://127.0.0.1:8001/");
    expect(r.weight).toBe(100);
    expect(r.upstream).toBe("api");
    expect(r.registry).toBe("kong");
  });
});
