/**
 * eurekaResolver() against a loopback HTTP server, not a real Eureka (it
 * cannot run on the test machines): test/helpers/registry-server.ts serves
 * Eureka's `GET /eureka/apps/<APP>` (and `/eureka/v2/apps/<APP>`) with
 * bodies in the documented shape (test/fixtures/registry/eureka-*.json, and
 * variants built by `eurekaInstance()`), and follows Eureka's semantics:
 * JSON only when asked for (XML otherwise), `instance` as a single object
 * when there is one, 404 for an application it does not know. Real sockets
 * on 127.0.0.1; the resolver's time is a ManualClock.
 */
import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Endpoint, EurekaResolverOptions, RegistryError } from "../../../src/index.js";
import { createUpstream, EurekaResolver, eurekaResolver } from "../../../src/index.js";
import { ManualClock, seededRandom } from "../../../src/testing/index.js";
import { expectConfigErrors } from "../../helpers/config-errors.js";
import { activeHandles, expectNoNewHandles, until } from "../../helpers/dns-server.js";
import { closedPort, eurekaInstance, RegistryServer, recordResolver } from "../../helpers/registry-server.js";

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../fixtures/registry/${name}`, import.meta.url), "utf8")) as {
    application: { instance: unknown };
  };
const APP = fixture("eureka-application.json").application.instance as unknown[];
const SINGLE = fixture("eureka-application-single.json").application.instance;
const PATH = "/eureka/apps/API";

let server: RegistryServer;
let clock: ManualClock;
const open: EurekaResolver[] = [];

beforeEach(async () => {
  server = await RegistryServer.start();
  clock = new ManualClock();
  server.eureka.set("API", APP);
});

afterEach(async () => {
  for (const r of open.splice(0)) await r.close();
  await server.close();
});

function resolver(app = "API", options: EurekaResolverOptions = {}): EurekaResolver {
  const r = eurekaResolver(app, {
    servers: `${server.url}/eureka`,
    clock,
    random: seededRandom(1),
    jitter: 0,
    retries: 0,
    ...options,
  });
  open.push(r);
  return r;
}

const summary = (endpoints: readonly Endpoint[] | undefined) =>
  endpoints?.map((e) => `${e.scheme}://${e.id} w${e.weight}${e.zone === undefined ? "" : ` ${e.zone}`}`);

describe("eurekaResolver()", () => {
  it("maps the documented answer: UP instances only, securePort over https when enabled, metadata.weight, zone, an empty metadata", async () => {
    const r = resolver();
    const seen = recordResolver(r);
    r.start();
    await r.whenIdle();
    expect(r.endpoints).toEqual([
      {
        id: "10.0.1.5:8080",
        host: "10.0.1.5",
        port: 8080,
        weight: 100,
        priority: 0,
        scheme: "http",
        tags: [],
        metadata: {},
      },
      {
        id: "10.0.1.6:8443",
        host: "10.0.1.6",
        port: 8443,
        weight: 50,
        priority: 0,
        scheme: "https",
        zone: "zone-b",
        tags: [],
        metadata: { zone: "zone-b", weight: "50", version: "2.1.0" },
      },
    ]);
    expect(seen.errors).toEqual([]); // the OUT_OF_SERVICE instance is left out, not dropped
    expect([r.name, r.app, r.registry, r.url]).toEqual(["eureka:API", "API", "eureka", `${server.url}/eureka/`]);
    const req = server.requests[0];
    expect([req?.method, req?.path, req?.headers.accept]).toEqual(["GET", PATH, "application/json"]);
  });

  it("reads instance as a single object (one instance), with ports written as strings", async () => {
    server.eureka.set("API", [SINGLE]);
    const r = resolver();
    r.start();
    await r.whenIdle();
    expect(summary(r.endpoints)).toEqual(["http://10.0.1.5:8080 w100"]);
    // The server sent an object, not an array of one.
    server.eurekaSingleObject = false;
    await r.refresh();
    expect(summary(r.endpoints)).toEqual(["http://10.0.1.5:8080 w100"]);
  });

  it("host: hostName uses the instance's hostName; preferSecure: false takes port when it is enabled", async () => {
    const byName = resolver("API", { host: "hostName" });
    byName.start();
    await byName.whenIdle();
    expect(summary(byName.endpoints)).toEqual([
      "http://api-1.internal:8080 w100",
      "https://api-2.internal:8443 w50 zone-b",
    ]);
    const plain = resolver("API", { preferSecure: false, scheme: "h2c" });
    plain.start();
    await plain.whenIdle();
    expect(summary(plain.endpoints)).toEqual(["h2c://10.0.1.5:8080 w100", "h2c://10.0.1.6:8080 w50 zone-b"]);
    // With only securePort enabled, securePort is used either way.
    server.eureka.set("API", [
      eurekaInstance({ ip: "10.0.2.1", portEnabled: "false", securePort: 9443, securePortEnabled: true }),
    ]);
    await plain.refresh();
    expect(summary(plain.endpoints)).toEqual(["https://10.0.2.1:9443 w100"]);
  });

  it("the /eureka/v2 prefix comes with the server URL", async () => {
    const r = resolver("api", { servers: `${server.url}/eureka/v2/` });
    r.start();
    await r.whenIdle();
    expect(server.requests[0]?.path).toBe("/eureka/v2/apps/api");
    expect(r.endpoints).toHaveLength(2);
  });

  it("polls every 30 s by default (Eureka's clients' interval), with jitter below it", async () => {
    const r = eurekaResolver("API", { servers: `${server.url}/eureka`, clock, random: seededRandom(1) });
    open.push(r);
    r.start();
    await r.whenIdle();
    clock.advance(26_999); // jitter 0.1 shortens a delay by at most 3 s
    await r.whenIdle();
    expect(server.count(PATH)).toBe(1);
    clock.advance(3_001);
    await until(() => server.count(PATH) === 2);
    const exact = resolver(); // jitter 0
    exact.start();
    await exact.whenIdle();
    const before = server.count(PATH);
    clock.advance(29_999);
    await exact.whenIdle();
    expect(server.count(PATH)).toBe(before);
    clock.advance(1);
    await until(() => server.count(PATH) === before + 1);
  });

  it("drops instances that cannot be endpoints and reports them; takes the others", async () => {
    server.eureka.set("API", [
      eurekaInstance({ ip: "10.0.3.1" }),
      eurekaInstance({ ip: "10.0.3.2", portEnabled: "false" }),
      eurekaInstance({ ip: "10.0.3.3", metadata: { weight: "heavy" } }),
      eurekaInstance({ ip: "10.0.3.4", port: 70_000 }),
      eurekaInstance({ ip: "", port: 80 }),
      eurekaInstance({ ip: "10.0.3.1" }),
      eurekaInstance({ ip: "10.0.3.6", metadata: { weight: "0", "@class": "x" } }),
      eurekaInstance({ ip: "10.0.3.7", status: "STARTING" }),
    ]);
    const r = resolver();
    const seen = recordResolver(r);
    r.start();
    await r.whenIdle();
    expect(summary(r.endpoints)).toEqual(["http://10.0.3.1:8080 w100", "http://10.0.3.6:8080 w0"]);
    expect(seen.errors.map((e) => e.code)).toEqual(["ERR_REGISTRY_INVALID_INSTANCE"]);
    expect(r.droppedRecords).toEqual([
      { record: 'instance "10.0.3.1:api:8080"', reason: 'duplicate of instance "10.0.3.1:api:8080" (10.0.3.1:8080)' },
      { record: 'instance "10.0.3.2:api:8080"', reason: "neither port nor securePort is enabled" },
      { record: 'instance "10.0.3.3:api:8080"', reason: 'metadata.weight "heavy" is not an integer in 0..65535' },
      { record: 'instance "10.0.3.4:api:70000"', reason: "port must be an integer in 1..65535, got 70000" },
      { record: 'instance ":api:80"', reason: 'ipAddr is "", not a host' },
    ]);
  });

  it("plugs into an upstream: picks follow metadata.weight 100:50", async () => {
    const upstream = createUpstream({ name: "api", resolver: resolver(), clock, random: seededRandom(3) });
    await upstream.ready();
    const counts: Record<string, number> = {};
    for (let i = 0; i < 300; i++) {
      const e = upstream.pick();
      counts[e.id] = (counts[e.id] ?? 0) + 1;
    }
    expect(counts).toEqual({ "10.0.1.5:8080": 200, "10.0.1.6:8443": 100 });
    await upstream.close();
  });

  it("an application Eureka does not know (404) fails ready(); a 404 after instances is an empty answer, confirmed before it empties", async () => {
    const unknown = resolver("NOPE");
    const upstream = createUpstream({ name: "nope", resolver: unknown, clock });
    const error = (await upstream.ready().catch((e: unknown) => e)) as RegistryError;
    expect([error.code, error.status, error.message]).toEqual([
      "ERR_REGISTRY_HTTP",
      404,
      `eureka:NOPE: GET ${server.url}/eureka/apps/NOPE: HTTP 404 Not Found`,
    ]);
    await upstream.close();
    const r = resolver("API", { confirmEmpty: 1, confirmEmptyDelayMs: 5_000 });
    const seen = recordResolver(r);
    r.start();
    await r.whenIdle();
    server.eureka.delete("API"); // the last instance left: Eureka forgets the application
    await r.refresh();
    expect(seen.errors.map((e) => [e.code, e.status])).toEqual([["ERR_REGISTRY_HTTP", 404]]);
    expect(seen.errors[0]?.message).toContain(
      "HTTP 404 Not Found; keeping the last good set of 2 endpoint(s) until 1 more refresh(es) confirm the empty answer",
    );
    expect(r.endpoints).toHaveLength(2);
    clock.advance(5_000);
    await until(() => server.count(PATH) === 3);
    await r.whenIdle();
    expect(r.endpoints).toEqual([]);
  });

  it("an answer in XML (no Accept header of its own) is refused as ERR_REGISTRY_BODY; a header the user set is kept", async () => {
    const r = resolver("API", { headers: { accept: "application/xml" } });
    const seen = recordResolver(r);
    r.start();
    await r.whenIdle();
    expect(seen.errors.map((e) => e.code)).toEqual(["ERR_REGISTRY_BODY"]);
    expect(r.endpoints).toBeUndefined();
  });

  it("fails over between Eureka servers", async () => {
    const down = `http://127.0.0.1:${await closedPort()}/eureka`;
    const r = resolver("API", { servers: [down, `${server.url}/eureka`], retries: 1, retryDelayMs: 0 });
    const seen = recordResolver(r);
    r.start();
    await r.whenIdle();
    expect(r.endpoints).toHaveLength(2);
    expect(seen.errors).toEqual([]);
    expect(r.url).toBe(`${server.url}/eureka/`);
  });

  it("close() cancels the poll timer and leaves no handle", async () => {
    const before = await activeHandles();
    const r = resolver();
    r.start();
    await r.whenIdle();
    expect(clock.pendingTimers).toBe(1);
    await r.close();
    expect(clock.pendingTimers).toBe(0);
    await server.close();
    expectNoNewHandles(before, await activeHandles());
    server = await RegistryServer.start(); // for afterEach
  });

  it("rejects invalid options synchronously with InvalidConfigError", () => {
    const bad: [string, EurekaResolverOptions, string][] = [
      ["", {}, "app"],
      [5 as never, {}, "app"],
      ["API", 5 as never, "options"],
      ["API", { servers: "eureka:8761" }, "servers"],
      ["API", { servers: [] }, "servers"],
      ["API", { servers: "http://x/eureka?a=1" }, "servers"],
      ["API", { host: "ip" as never }, "host"],
      ["API", { preferSecure: "yes" as never }, "preferSecure"],
      ["API", { headers: { "bad header": "x" } }, "headers"],
      ["API", { intervalMs: 0 }, "intervalMs"],
      ["API", { timeoutMs: -1 }, "timeoutMs"],
      ["API", { scheme: "ht tp" }, "scheme"],
    ];
    expectConfigErrors((app: string, options: EurekaResolverOptions) => eurekaResolver(app, options), bad);
    expect(eurekaResolver("API")).toBeInstanceOf(EurekaResolver);
    expect(eurekaResolver("API").url).toBe("http://127.0.0.1:8761/eureka/");
  });
});
