/**
 * eurekaRegistrar() against a loopback HTTP server, not a real Eureka (it
 * cannot run on the test machines): test/helpers/registrar-server.ts plays
 * Eureka's REST API as Netflix's "Eureka REST operations" documents it,
 * under /eureka (Spring Cloud) and /eureka/v2 (Netflix): register 204 (400
 * for a document without instanceId, hostName, ipAddr, a matching app or
 * dataCenterInfo), renew 200 or 404 when the instance is unknown or its
 * lease (durationInSecs) ran out, cancel 200 (404 when unknown). Real
 * sockets on 127.0.0.1; the registrar's time and the server's leases are
 * one ManualClock.
 */
import { inspect } from "node:util";
import { beforeEach, describe, expect, it } from "vitest";
import type { EurekaRegistrarOptions, EurekaStatus } from "../../src/index.js";
import { eurekaRegistrar } from "../../src/index.js";
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

const INSTANCE = { hostName: "api-1.internal", ipAddr: "10.0.0.5", port: 8080 };
const PATH = "/eureka/apps/API";

function registrar(options: Partial<EurekaRegistrarOptions> = {}) {
  const r = eurekaRegistrar({
    servers: `${server.url}/eureka`,
    app: "api",
    instance: INSTANCE,
    clock,
    random: seededRandom(1),
    retry: { initialMs: 1_000, maxMs: 8_000, jitter: 0 },
    ...options,
  });
  return fixture.track(r);
}

const stamp = expect.stringMatching(/^\d{13}$/);

describe("eurekaRegistrar()", () => {
  it("registers the instance document, renews every renewalIntervalMs, and cancels on close(): the exact requests", async () => {
    const { r, events, step } = registrar({
      instance: {
        ...INSTANCE,
        securePort: 8443,
        metadata: { zone: "eu-1" },
        statusPageUrl: "http://api-1.internal:8080/info",
      },
    });
    expect(r.app).toBe("API");
    expect(r.instanceId).toBe("api-1.internal:api:8080");
    expect(r.name).toBe("eureka:API/api-1.internal:api:8080");
    await r.start();
    expect(server.calls[0]?.body).toEqual({
      instance: {
        instanceId: "api-1.internal:api:8080",
        hostName: "api-1.internal",
        app: "API",
        ipAddr: "10.0.0.5",
        status: "UP",
        overriddenStatus: "UNKNOWN",
        port: { $: 8080, "@enabled": "true" },
        securePort: { $: 8443, "@enabled": "true" },
        countryId: 1,
        dataCenterInfo: { "@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo", name: "MyOwn" },
        leaseInfo: { renewalIntervalInSecs: 30, durationInSecs: 90 },
        metadata: { zone: "eu-1" },
        statusPageUrl: "http://api-1.internal:8080/info",
        vipAddress: "api",
        secureVipAddress: "api",
        isCoordinatingDiscoveryServer: "false",
        lastUpdatedTimestamp: stamp,
        lastDirtyTimestamp: stamp,
      },
    });
    expect(server.calls[0]?.headers["content-type"]).toBe("application/json");
    expect(server.calls[0]?.headers.accept).toBe("application/json");
    expect(r.status).toBe("UP");
    await step(90_000);
    await r.close();
    expect(server.log()).toEqual([
      `POST ${PATH}@0`,
      `PUT ${PATH}/api-1.internal:api:8080@30000`,
      `PUT ${PATH}/api-1.internal:api:8080@60000`,
      `PUT ${PATH}/api-1.internal:api:8080@90000`,
      `DELETE ${PATH}/api-1.internal:api:8080@90000`,
    ]);
    expect(events).toEqual(["registered@0", "deregistered@90000"]);
    expect(server.eureka.instance("API", r.instanceId)).toBeUndefined();
    expect(clock.pendingTimers).toBe(0);
  });

  it("takes Netflix's /eureka/v2 prefix from the base URL; an empty metadata map is Eureka's EmptyMap", async () => {
    const { r } = registrar({ servers: `${server.url}/eureka/v2/`, instance: { ...INSTANCE, instanceId: "i-0abc" } });
    await r.start();
    await r.close();
    expect(server.log()).toEqual(["POST /eureka/v2/apps/API@0", "DELETE /eureka/v2/apps/API/i-0abc@0"]);
    expect(server.calls[0]?.body).toMatchObject({
      instance: {
        instanceId: "i-0abc",
        securePort: { $: 443, "@enabled": "false" },
        metadata: { "@class": "java.util.Collections$EmptyMap" },
      },
    });
  });

  it("a renewal answered 404 (the server evicted or forgot the instance) registers it again at once (eureka-js-client #47)", async () => {
    const { r, events, step } = registrar();
    await r.start();
    server.eureka.apps.clear(); // a Eureka server restarted without peers
    await step(30_000);
    expect(server.log()).toEqual([`POST ${PATH}@0`, `PUT ${PATH}/api-1.internal:api:8080@30000`, `POST ${PATH}@30000`]);
    expect(events).toEqual(["registered@0", "lost@30000", "registered@30000"]);
    expect(server.eureka.instance("API", r.instanceId)).toBeDefined();
  });

  it("renewal failures retry with backoff; past durationMs the server evicts the instance, and the next renewal's 404 registers it again", async () => {
    const { r, events, step } = registrar({ renewalIntervalMs: 10_000, durationMs: 30_000 });
    await r.start();
    for (let i = 0; i < 5; i++) server.faults.push({ status: 503, body: "" });
    await step(45_000);
    const renewals = server.calls.filter((c) => c.method === "PUT").map((c) => c.at);
    // 10 s: fails; retried 1 s, 2 s, 4 s, 8 s, 8 s later (at most maxMs, at most the interval); at 33 s the 30 s lease is over.
    expect(renewals).toEqual([10_000, 11_000, 13_000, 17_000, 25_000, 33_000, 43_000]);
    const errors = events.filter((e) => e.startsWith("error"));
    const message = `eureka:API/api-1.internal:api:8080: PUT ${server.url}${PATH}/api-1.internal:api:8080: HTTP 503 Service Unavailable`;
    expect(errors).toEqual([10_000, 11_000, 13_000, 17_000, 25_000].map((t) => `error@${t}:${message}`));
    expect(events.slice(-2)).toEqual(["lost@33000", "registered@33000"]);
    expect(server.log()).toContain(`POST ${PATH}@33000`);
  });

  it("the status callback decides the status: a change registers again with it and a later lastDirtyTimestamp; a throwing or wrong callback is DOWN", async () => {
    const answers: unknown[] = ["STARTING", "STARTING", "UP", "UP", "boom", "sideways", "UP"];
    const { r, events, step } = registrar({
      status: () => {
        const a = answers.shift();
        if (a === "boom") throw new Error("cache cold");
        return a as EurekaStatus;
      },
    });
    await r.start();
    expect(r.status).toBe("STARTING");
    await step(180_000);
    expect(server.log()).toEqual([
      `POST ${PATH}@0`,
      `PUT ${PATH}/api-1.internal:api:8080@30000`,
      `POST ${PATH}@60000`,
      `PUT ${PATH}/api-1.internal:api:8080@90000`,
      `POST ${PATH}@120000`,
      `PUT ${PATH}/api-1.internal:api:8080@150000`,
      `POST ${PATH}@180000`,
    ]);
    const posts = server.calls
      .filter((c) => c.method === "POST")
      .map((c) => c.body as { instance: Record<string, string> });
    expect(posts.map((p) => p.instance.status)).toEqual(["STARTING", "UP", "DOWN", "UP"]);
    const stamps = posts.map((p) => Number(p.instance.lastDirtyTimestamp));
    expect(stamps.every((s, i) => i === 0 || s > (stamps[i - 1] as number))).toBe(true);
    expect(events).toEqual([
      "registered@0",
      "error@120000:cache cold",
      'error@150000:status(): must return one of "UP", "DOWN", "STARTING", "OUT_OF_SERVICE", "UNKNOWN", got "sideways"; sending "DOWN"',
    ]);
    expect(server.eureka.instance("API", r.instanceId)?.instance.status).toBe("UP");
    expect(r.status).toBe("UP");
  });

  it("an instance Eureka refuses (400) is an error event and retried", async () => {
    const { r, events, watched } = registrar();
    server.faults.push({ status: 400, body: "Missing dataCenterInfo Name" });
    void r.start();
    await settle(watched);
    expect(events).toEqual([
      `error@0:eureka:API/api-1.internal:api:8080: POST ${server.url}${PATH}: HTTP 400 Bad Request: Missing dataCenterInfo Name`,
    ]);
    await advance(clock, watched, 1_000);
    expect(r.registered).toBe(true);
  });

  it("fails over between Eureka servers (peers replicate): a server that refuses connections is skipped", async () => {
    const dead = `http://127.0.0.1:${await closedPort()}/eureka`;
    const { r, events, watched } = registrar({ servers: [dead, `${server.url}/eureka`] });
    void r.start();
    await settle(watched);
    await advance(clock, watched, 1_000);
    expect(events.at(-1)).toBe("registered@1000");
    expect(r.url).toBe(`${server.url}/eureka/`);
  });

  it("close() with a server that hangs gives up at its deadline: an error event, the request aborted, nothing left", async () => {
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
    await server.close();
    expectNoNewHandles(before, await activeHandles());
    server = await RegistrarServer.start(() => clock.now());
  });

  it("a cancel answered 404 (already evicted) is deregistered all the same", async () => {
    const { r, events } = registrar();
    await r.start();
    server.eureka.apps.clear();
    await r.close();
    expect(events).toEqual(["registered@0", "deregistered@0"]);
  });

  it("credentials appear in no error, event or inspection", async () => {
    const { r, events, watched } = registrar({
      servers: `${server.url.replace("http://", "http://eureka-user:eureka-pass@")}/eureka`,
      headers: { authorization: "Bearer eureka-bearer-secret" },
    });
    const errors: unknown[] = [];
    r.on("error", (e) => errors.push(e));
    server.faults.push({ status: 401, body: "Bearer eureka-bearer-secret rejected for eureka-user" });
    void r.start();
    await settle(watched);
    expect(errors).toHaveLength(1);
    expect(server.calls[0]?.headers.authorization).toBe("Bearer eureka-bearer-secret"); // the header given wins over user info
    const text = [...events, ...errors.map((e) => `${inspect(e)} ${JSON.stringify(e)}`), inspect(r, { depth: 6 })].join(
      "\n",
    );
    for (const secret of ["eureka-bearer-secret", "eureka-user", "eureka-pass"]) expect(text).not.toContain(secret);
    expect(text).toContain("<redacted>");
  });

  it("rejects invalid options with InvalidConfigError naming the option", () => {
    const ok = { app: "api", instance: INSTANCE };
    expectConfigErrors(
      (o: unknown) => eurekaRegistrar(o as EurekaRegistrarOptions),
      [
        [undefined, "app"],
        [{ instance: INSTANCE }, "app"],
        [{ app: "api" }, "instance"],
        [{ app: "api", instance: [] }, "instance"],
        [{ ...ok, instance: { ...INSTANCE, hostName: "" } }, "instance.hostName"],
        [{ ...ok, instance: { ...INSTANCE, hostName: "bad host" } }, "instance.hostName"],
        [{ ...ok, instance: { ...INSTANCE, ipAddr: "api-1.internal" } }, "instance.ipAddr"],
        [{ ...ok, instance: { ...INSTANCE, port: 0 } }, "instance.port"],
        [{ ...ok, instance: { ...INSTANCE, port: undefined } }, "instance.port"],
        [{ ...ok, instance: { ...INSTANCE, securePort: "443" } }, "instance.securePort"],
        [{ ...ok, instance: { ...INSTANCE, instanceId: "" } }, "instance.instanceId"],
        [{ ...ok, instance: { ...INSTANCE, instanceId: "a/b" } }, "instance.instanceId"],
        [{ ...ok, app: "api/v2" }, "app"],
        [{ ...ok, instance: { ...INSTANCE, metadata: { a: 1 } } }, "instance.metadata"],
        [{ ...ok, instance: { ...INSTANCE, healthCheckUrl: "not a url" } }, "instance.healthCheckUrl"],
        [{ ...ok, instance: { ...INSTANCE, dataCenterInfo: { name: "" } } }, "instance.dataCenterInfo.name"],
        [{ ...ok, instance: { ...INSTANCE, dataCenterInfo: "MyOwn" } }, "instance.dataCenterInfo"],
        [{ ...ok, renewalIntervalMs: 500 }, "renewalIntervalMs"],
        [{ ...ok, renewalIntervalMs: 30_000, durationMs: 30_000 }, "durationMs"],
        [{ ...ok, durationMs: 0 }, "durationMs"],
        [{ ...ok, status: "UP" }, "status"],
        [{ ...ok, servers: "eureka:8761" }, "servers"],
        [{ ...ok, servers: "http://eureka:8761/eureka?x=1" }, "servers"],
        [{ ...ok, headers: [] }, "headers"],
        [{ ...ok, name: 3 }, "name"],
      ],
    );
  });

  it("defaults: the local server under /eureka, Amazon's data center class from its name", async () => {
    const r = eurekaRegistrar({ app: "api", instance: INSTANCE });
    expect(r.url).toBe("http://127.0.0.1:8761/eureka/");
    expect(r.registry).toBe("eureka");
    expect(r.status).toBeUndefined();
    const { r: amazon } = registrar({
      instance: { ...INSTANCE, dataCenterInfo: { name: "Amazon", metadata: { "instance-id": "i-0abc" } } },
    });
    await amazon.start();
    expect(server.calls[0]?.body).toMatchObject({
      instance: {
        dataCenterInfo: {
          "@class": "com.netflix.appinfo.AmazonInfo",
          name: "Amazon",
          metadata: { "instance-id": "i-0abc" },
        },
      },
    });
  });
});
