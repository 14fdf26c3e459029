/**
 * consulRegistrar() against a loopback HTTP server, not a real Consul agent
 * (none can run on the test machines): test/helpers/registrar-server.ts
 * plays the agent's documented HTTP API (service register and deregister,
 * TTL checks with pass/warn/fail, a check turning critical when its TTL
 * runs out, the reaper removing a service critical for
 * DeregisterCriticalServiceAfter, 404 "Unknown check ID" and the 500 of
 * older agents, X-Consul-Token). Real sockets on 127.0.0.1; the registrar's
 * time and the agent's are one ManualClock, so every request is asserted
 * with its exact time. The last test runs a child process that registers,
 * wires closeOnSignals() and deregisters on SIGTERM.
 */
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { inspect } from "node:util";
import { beforeEach, describe, expect, it } from "vitest";
import type { ConsulRegistrarOptions, RegistryError } from "../../src/index.js";
import { consulRegistrar } from "../../src/index.js";
import { type ManualClock, seededRandom } from "../../src/testing/index.js";
import { expectConfigErrors } from "../helpers/config-errors.js";
import { activeHandles, expectNoNewHandles, until } from "../helpers/dns-server.js";
import { advance, RegistrarServer, registrarFixture, settle } from "../helpers/registrar-server.js";
import { closedPort } from "../helpers/registry-server.js";

const fixture = registrarFixture();
let clock: ManualClock;
let server: RegistrarServer;
beforeEach(() => {
  ({ clock, server } = fixture);
});

const SERVICE = { name: "api", id: "api-1", address: "10.0.0.5", port: 8080 };

function registrar(options: Partial<ConsulRegistrarOptions> = {}) {
  const r = consulRegistrar({
    agents: server.url,
    service: SERVICE,
    clock,
    random: seededRandom(1),
    retry: { initialMs: 1_000, maxMs: 8_000, jitter: 0 },
    ...options,
  });
  return fixture.track(r);
}

describe("consulRegistrar()", () => {
  it("registers with a TTL check, passes it every ttl/3, and deregisters on close(): the exact requests", async () => {
    const { r, events, step } = registrar({
      service: { ...SERVICE, tags: ["v2"], meta: { version: "1.4.0" }, weights: { passing: 10 } },
      ttlMs: 15_000,
      deregisterCriticalAfterMs: 90_000,
      token: "acl-token-1",
      namespace: "team-a",
    });
    expect(r.name).toBe("consul:api-1");
    expect(r.serviceId).toBe("api-1");
    expect(r.checkId).toBe("service:api-1");
    await r.start();
    expect(server.calls[0]?.body).toEqual({
      ID: "api-1",
      Name: "api",
      Port: 8080,
      Address: "10.0.0.5",
      Tags: ["v2"],
      Meta: { version: "1.4.0" },
      Weights: { Passing: 10, Warning: 1 },
      Check: { CheckID: "service:api-1", TTL: "15s", DeregisterCriticalServiceAfter: "90s", Status: "passing" },
    });
    expect(server.calls[0]?.headers["x-consul-token"]).toBe("acl-token-1");
    expect(server.calls[0]?.headers["content-type"]).toBe("application/json");
    expect(server.consul.status("api-1")).toBe("passing");
    await step(15_000);
    await r.close();
    expect(server.log()).toEqual([
      "PUT /v1/agent/service/register?ns=team-a@0",
      "PUT /v1/agent/check/pass/service:api-1?ns=team-a@5000",
      "PUT /v1/agent/check/pass/service:api-1?ns=team-a@10000",
      "PUT /v1/agent/check/pass/service:api-1?ns=team-a@15000",
      "PUT /v1/agent/service/deregister/api-1?ns=team-a@15000",
    ]);
    expect(server.calls.every((c) => c.headers["x-consul-token"] === "acl-token-1")).toBe(true);
    expect(events).toEqual(["registered@0", "deregistered@15000"]);
    expect(server.consul.services.size).toBe(0);
    expect(r.state).toBe("closed");
    expect(clock.pendingTimers).toBe(0);
  });

  it("heartbeat failures retry with backoff (1 s, 2 s, 4 s, then every ttl/3); the agent's TTL runs out, its reaper removes the service, and the next heartbeat registers it again", async () => {
    const { r, events, step } = registrar({ deregisterCriticalAfterMs: 60_000 });
    await r.start();
    for (let i = 0; i < 16; i++) server.faults.push({ status: 500, body: "rpc error: No cluster leader" });
    await step(14_000);
    expect(server.consul.status("api-1")).toBe("passing"); // updated at 0, TTL 15 s
    await step(1_000);
    expect(server.consul.status("api-1")).toBe("critical");
    await step(59_000);
    expect(server.consul.status("api-1")).toBe("critical"); // critical since 15,000
    await step(1_000);
    expect(server.consul.status("api-1")).toBeUndefined(); // reaped at 75,000
    await step(2_000);
    const heartbeats = server.calls.filter((c) => c.path.startsWith("/v1/agent/check/")).map((c) => c.at);
    expect(heartbeats).toEqual([
      5_000, 6_000, 8_000, 12_000, 17_000, 22_000, 27_000, 32_000, 37_000, 42_000, 47_000, 52_000, 57_000, 62_000,
      67_000, 72_000, 77_000,
    ]);
    expect(server.log().slice(-2)).toEqual([
      "PUT /v1/agent/check/pass/service:api-1@77000",
      "PUT /v1/agent/service/register@77000",
    ]);
    expect(events.filter((e) => e.startsWith("error"))).toHaveLength(16);
    expect(events[1]).toBe(
      `error@5000:consul:api-1: PUT ${server.url}/v1/agent/check/pass/service:api-1: HTTP 500 Internal Server Error: rpc error: No cluster leader`,
    );
    expect(events.slice(-2)).toEqual(["lost@77000", "registered@77000"]);
    expect(server.consul.status("api-1")).toBe("passing");
    expect(r.lastError).toBeUndefined();
  });

  it("an agent that lost the service (restarted without its data) answers 404 Unknown check ID: registered again at once", async () => {
    const { r, events, step } = registrar();
    await r.start();
    server.consul.services.clear();
    await step(5_000);
    expect(server.log()).toEqual([
      "PUT /v1/agent/service/register@0",
      "PUT /v1/agent/check/pass/service:api-1@5000",
      "PUT /v1/agent/service/register@5000",
    ]);
    expect(events).toEqual(["registered@0", "lost@5000", "registered@5000"]);
    expect(server.consul.status("api-1")).toBe("passing");
  });

  it("an agent before 1.11 answers 500 'does not have associated TTL' for a check it lost: also registered again", async () => {
    const { r, events, step } = registrar();
    server.consul.legacy = true;
    await r.start();
    server.consul.services.clear();
    await step(5_000);
    expect(events).toEqual(["registered@0", "lost@5000", "registered@5000"]);
    expect(server.consul.services.has("api-1")).toBe(true);
  });

  it("the status callback decides the check's status: registered with it, then warn and fail; a throwing or wrong callback is critical and an error event", async () => {
    const answers: unknown[] = ["warning", "warning", "critical", "boom", "nonsense", "passing"];
    const { r, events, step } = registrar({
      status: () => {
        const a = answers.shift();
        if (a === "boom") throw new Error("database unreachable");
        return a as "passing";
      },
    });
    await r.start();
    expect(server.calls[0]?.body).toMatchObject({ Check: { Status: "warning" } });
    expect(server.consul.status("api-1")).toBe("warning");
    await step(25_000);
    expect(server.log().map((l) => l.replace("/v1/agent/", ""))).toEqual([
      "PUT service/register@0",
      "PUT check/warn/service:api-1@5000",
      "PUT check/fail/service:api-1@10000",
      "PUT check/fail/service:api-1@15000",
      "PUT check/fail/service:api-1@20000",
      "PUT check/pass/service:api-1@25000",
    ]);
    expect(events).toEqual([
      "registered@0",
      "error@15000:database unreachable",
      'error@20000:status(): must return one of "passing", "warning", "critical", got "nonsense"; sending "critical"',
    ]);
    expect(server.consul.status("api-1")).toBe("passing");
  });

  it("an async status callback is awaited; close() while it is pending does not wait for it", async () => {
    let release: (s: "passing") => void = () => {};
    const { r, watched } = registrar({ status: () => new Promise((resolve) => (release = resolve)) });
    const started = r.start();
    release("passing");
    await started;
    await clock.advanceAsync(5_000); // the heartbeat waits for the callback
    expect(watched.busy).toBe(1);
    await r.close();
    expect(server.log()).toEqual(["PUT /v1/agent/service/register@0", "PUT /v1/agent/service/deregister/api-1@5000"]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("fails over between agents: a heartbeat that cannot reach its agent moves on, finds no check there and registers; close() deregisters at both", async () => {
    const other = await RegistrarServer.start(() => clock.now());
    try {
      const { r, events, step } = registrar({ agents: [server.url, other.url] });
      await r.start();
      expect(r.url).toBe(`${server.url}/`);
      server.faults.push({ destroy: true });
      await step(6_000);
      expect(r.url).toBe(`${other.url}/`);
      expect(other.log()).toEqual([
        "PUT /v1/agent/check/pass/service:api-1@6000",
        "PUT /v1/agent/service/register@6000",
      ]);
      expect(events).toEqual([
        "registered@0",
        expect.stringMatching(
          /^error@5000:consul:api-1: PUT http:\/\/127\.0\.0\.1:\d+\/v1\/agent\/check\/pass\/service:api-1: connection failed/,
        ),
        "lost@6000",
        "registered@6000",
      ]);
      await r.close();
      expect(server.log().at(-1)).toBe("PUT /v1/agent/service/deregister/api-1@6000");
      expect(other.log().at(-1)).toBe("PUT /v1/agent/service/deregister/api-1@6000");
      expect(events.at(-1)).toBe("deregistered@6000");
      expect(server.consul.services.size + other.consul.services.size).toBe(0);
    } finally {
      await other.close();
    }
  });

  it("close() reports a deregistration the agent refused: an error event, no deregistered", async () => {
    const { r, events } = registrar();
    await r.start();
    server.faults.push({ status: 503, body: "agent shutting down" });
    await r.close();
    expect(events).toEqual([
      "registered@0",
      `error@0:consul:api-1: PUT ${server.url}/v1/agent/service/deregister/api-1: HTTP 503 Service Unavailable: agent shutting down`,
    ]);
  });

  it("registration failures retry with backoff until the agent accepts: 403 without the right token", async () => {
    server.token = { header: "X-Consul-Token", value: "right" };
    const { r, events, step, watched } = registrar({ token: "wrong-token" });
    let started = false;
    void r.start().then(() => {
      started = true;
    });
    await settle(watched);
    await step(3_000);
    expect(started).toBe(false);
    expect(server.log()).toEqual([
      "PUT /v1/agent/service/register@0",
      "PUT /v1/agent/service/register@1000",
      "PUT /v1/agent/service/register@3000",
    ]);
    expect(events[0]).toBe(
      `error@0:consul:api-1: PUT ${server.url}/v1/agent/service/register: HTTP 403 Forbidden: Permission denied`,
    );
    expect((r.lastError as RegistryError).status).toBe(403);
    server.token = undefined;
    await step(4_000);
    expect(started).toBe(true);
    expect(events.at(-1)).toBe("registered@7000");
  });

  it("close() with an agent that hangs gives up at its deadline: an error event, the request aborted, nothing left", async () => {
    const before = await activeHandles();
    const { r, events } = registrar();
    await r.start();
    server.faults.push({ hang: true });
    const closing = r.close({ timeoutMs: 2_000 });
    await until(() => server.held === 1);
    await clock.advanceAsync(1_999);
    expect(r.state).toBe("closing");
    await clock.advanceAsync(1);
    await closing;
    expect(events).toEqual(["registered@0", "error@2000:deregistration took over 2000 ms"]);
    await until(() => server.held === 0);
    expect(clock.pendingTimers).toBe(0);
    await server.close();
    expectNoNewHandles(before, await activeHandles());
    server = await RegistrarServer.start(() => clock.now()); // for afterEach
  });

  it("a request that hangs times out at timeoutMs as ERR_REGISTRY_TIMEOUT and is retried", async () => {
    const { r, events, watched } = registrar({ timeoutMs: 3_000 });
    server.faults.push({ hang: true });
    const started = r.start();
    await until(() => server.held === 1);
    await clock.advanceAsync(3_000);
    await settle(watched);
    expect(events).toEqual([
      `error@3000:consul:api-1: PUT ${server.url}/v1/agent/service/register: no complete answer within 3000 ms`,
    ]);
    expect((r.lastError as RegistryError).code).toBe("ERR_REGISTRY_TIMEOUT");
    await advance(clock, watched, 1_000);
    await started;
    expect(events.at(-1)).toBe("registered@4000");
  });

  it("credentials appear in no error, event or inspection: token, headers and user info", async () => {
    const secrets = ["acl-secret-token", "Bearer header-secret", "user-secret", "pass-secret"];
    const base = server.url.replace("http://", "http://user-secret:pass-secret@");
    const dead = `http://user-secret:pass-secret@127.0.0.1:${await closedPort()}`;
    const { r, events, watched } = registrar({
      agents: [base, dead],
      token: "acl-secret-token",
      headers: { authorization: "Bearer header-secret" },
      timeoutMs: 1_000,
    });
    const errors: unknown[] = [];
    r.on("error", (e) => errors.push(e));
    // The agent quotes the request's credentials back in its error body.
    server.faults.push({ status: 403, body: "denied for acl-secret-token with Bearer header-secret as user-secret" });
    server.faults.push({ hang: true });
    void r.start();
    await settle(watched); // 403: an answer, not a reason to fail over
    await clock.advanceAsync(1_000); // second try, on the same agent: it hangs
    await until(() => server.held === 1);
    await clock.advanceAsync(1_000); // its deadline: a timeout moves to the next agent
    await settle(watched);
    await advance(clock, watched, 2_000); // third try: the dead agent (connection refused)
    expect(errors.length).toBeGreaterThanOrEqual(3);
    expect(server.calls[0]?.headers.authorization).toBe("Bearer header-secret");
    const text = [...events, ...errors.map((e) => `${inspect(e)} ${JSON.stringify(e)}`), inspect(r, { depth: 6 })].join(
      "\n",
    );
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).toContain("<redacted>");
  });

  it("rejects invalid options with InvalidConfigError naming the option", () => {
    const ok = { service: SERVICE };
    expectConfigErrors(
      (o: unknown) => consulRegistrar(o as ConsulRegistrarOptions),
      [
        [undefined, "service"],
        [[], "options"],
        [{ service: "api" }, "service"],
        [{ service: { port: 80 } }, "service.name"],
        [{ service: { name: "api" } }, "service.port"],
        [{ service: { name: "api", port: 70_000 } }, "service.port"],
        [{ service: { ...SERVICE, address: "not a host" } }, "service.address"],
        [{ service: { ...SERVICE, id: "" } }, "service.id"],
        [{ service: { ...SERVICE, tags: "v2" } }, "service.tags"],
        [{ service: { ...SERVICE, meta: { "bad key": "x" } } }, "service.meta"],
        [{ service: { ...SERVICE, meta: { "consul-x": "x" } } }, "service.meta"],
        [{ service: { ...SERVICE, meta: { v: 1 } } }, "service.meta"],
        [{ service: { ...SERVICE, weights: { passing: 0 } } }, "service.weights.passing"],
        [{ service: { ...SERVICE, weights: { passing: 1, warning: -1 } } }, "service.weights.warning"],
        [{ ...ok, ttlMs: 500 }, "ttlMs"],
        [{ ...ok, ttlMs: 1.5e3 + 0.5 }, "ttlMs"],
        [{ ...ok, deregisterCriticalAfterMs: 30_000 }, "deregisterCriticalAfterMs"],
        [{ ...ok, agents: "consul:8500" }, "agents"],
        [{ ...ok, agents: [] }, "agents"],
        [{ ...ok, token: "" }, "token"],
        [{ ...ok, token: "a\nb" }, "token"],
        [{ ...ok, headers: { "bad header": "x" } }, "headers"],
        [{ ...ok, status: "passing" }, "status"],
        [{ ...ok, namespace: "" }, "namespace"],
        [{ ...ok, timeoutMs: 0 }, "timeoutMs"],
        [{ ...ok, fetch: "fetch" }, "fetch"],
        [{ ...ok, clock: {} }, "clock"],
        [{ ...ok, random: 4 }, "random"],
        [{ ...ok, retry: { factor: 0.5 } }, "retry.factor"],
        [{ ...ok, name: "" }, "name"],
        [{ service: { name: "api", port: 80 }, agents: ["http://a:8500", "http://b:8500"] }, "service.address"],
      ],
    );
  });

  it("defaults: the local agent, an id from name, host and port", async () => {
    const r = consulRegistrar({ service: { name: "api", port: 8080 } });
    expect(r.url).toBe("http://127.0.0.1:8500/");
    expect(r.serviceId).toMatch(/^api-.+-8080$/);
    expect(r.registry).toBe("consul");
    await r.close(); // never started: nothing sent
    expect(r.state).toBe("closed");
  });
});

describe("consulRegistrar() in a process that gets SIGTERM", () => {
  it("registers, and on SIGTERM deregisters through closeOnSignals() before exiting 0", async () => {
    const agent = await RegistrarServer.start(() => performance.now());
    try {
      const fixture = resolve(import.meta.dirname, "fixtures/consul-child.mts");
      const child = spawn(process.execPath, ["--import", "tsx", fixture], {
        env: { ...process.env, CONSUL_AGENT: agent.url },
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      const guard = setTimeout(() => child.kill("SIGKILL"), 15_000);
      const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
      });
      await until(() => out.includes("ready") || child.exitCode !== null, 14_000);
      expect(agent.consul.status("api-child-1")).toBe("passing");
      child.kill("SIGTERM");
      const code = await exited;
      clearTimeout(guard);
      expect(out).toBe("ready\nderegistered\n");
      expect(code).toBe(0);
      expect(agent.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
        "PUT /v1/agent/service/register",
        "PUT /v1/agent/service/deregister/api-child-1",
      ]);
      expect(agent.consul.services.size).toBe(0);
    } finally {
      await agent.close();
    }
  }, 20_000);
});
