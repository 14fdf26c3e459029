/**
 * jsonResolver(): any URL that answers JSON plus a mapping function,
 * against a loopback HTTP server (test/helpers/registry-server.ts routes)
 * that plays a home-grown registry, with ETag / If-None-Match conditional
 * requests. Real sockets on 127.0.0.1; the resolver's time is a ManualClock.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Endpoint, JsonResolverOptions, RegistryError } from "../../../src/index.js";
import { type JsonResolver, jsonResolver } from "../../../src/index.js";
import { ManualClock, seededRandom } from "../../../src/testing/index.js";
import { expectConfigErrors } from "../../helpers/config-errors.js";
import { until } from "../../helpers/dns-server.js";
import { json, RegistryServer } from "../../helpers/registry-server.js";

interface Node {
  ip: string;
  port: number;
  weight?: number;
}

let server: RegistryServer;
let clock: ManualClock;
let nodes: unknown[];
let etag: string | undefined;
const open: JsonResolver[] = [];

beforeEach(async () => {
  server = await RegistryServer.start();
  clock = new ManualClock();
  nodes = [
    { ip: "10.0.0.1", port: 8080, weight: 5 },
    { ip: "10.0.0.2", port: 8080 },
  ];
  etag = undefined;
  server.routes.set("/services/api", (req, res) => {
    if (etag !== undefined && req.headers["if-none-match"] === etag) {
      res.writeHead(304, { etag });
      res.end();
      return;
    }
    json(res, 200, { service: "api", nodes }, etag === undefined ? {} : { etag });
  });
});

afterEach(async () => {
  for (const r of open.splice(0)) await r.close();
  await server.close();
});

const mapNodes = (body: unknown) =>
  (body as { nodes: Node[] }).nodes.map((n) => ({ host: n.ip, port: n.port, weight: n.weight }));

function resolver(options: Partial<JsonResolverOptions> = {}, url = `${server.url}/services/api`): JsonResolver {
  const r = jsonResolver(url, { map: mapNodes, clock, random: seededRandom(1), jitter: 0, retries: 0, ...options });
  open.push(r);
  return r;
}

const summary = (endpoints: readonly Endpoint[] | undefined) =>
  endpoints?.map((e) => `${e.scheme}://${e.id} w${e.weight}`);

function errorsOf(r: JsonResolver): RegistryError[] {
  const errors: RegistryError[] = [];
  r.on("error", (e) => errors.push(e as RegistryError));
  return errors;
}

describe("jsonResolver()", () => {
  it("GETs the URL, maps the body with your function, and publishes what it returns", async () => {
    const r = resolver({ headers: { "x-registry-key": "k-123456" }, scheme: "https" });
    r.start();
    await r.whenIdle();
    expect(summary(r.endpoints)).toEqual(["https://10.0.0.1:8080 w5", "https://10.0.0.2:8080 w100"]);
    expect(r.name).toBe(`json:127.0.0.1:${new URL(server.url).port}/services/api`);
    expect(r.registry).toBe("json");
    expect(server.requests[0]?.headers["x-registry-key"]).toBe("k-123456");
  });

  it("takes strings too, keeps the URL's query, and polls every intervalMs", async () => {
    server.routes.set("/list", (_req, res, url) =>
      json(res, 200, url.searchParams.get("svc") === "api" ? ["https://a.test:443", "b.test:81"] : []),
    );
    const r = resolver({ map: (body) => body as string[], intervalMs: 3_000 }, `${server.url}/list?svc=api`);
    r.start();
    await r.whenIdle();
    expect(summary(r.endpoints)).toEqual(["https://a.test:443 w100", "http://b.test:81 w100"]);
    clock.advance(3_000);
    await until(() => server.requests.length === 2);
    expect(server.requests[1]?.query.get("svc")).toBe("api");
  });

  it("conditional requests: the ETag goes back as If-None-Match; a 304 re-announces the last answer without mapping", async () => {
    etag = '"v1"';
    let maps = 0;
    const r = resolver({
      map: (body) => {
        maps++;
        return mapNodes(body);
      },
    });
    const resolved: boolean[] = [];
    r.on("resolved", (_set, changed) => resolved.push(changed));
    r.start();
    await r.whenIdle();
    await r.refresh();
    expect(server.requests[1]?.headers["if-none-match"]).toBe('"v1"');
    expect(maps).toBe(1);
    expect(resolved).toEqual([true, false]);
    etag = '"v2"';
    nodes = [{ ip: "10.0.0.3", port: 8080 }];
    await r.refresh();
    expect(maps).toBe(2);
    expect(summary(r.endpoints)).toEqual(["http://10.0.0.3:8080 w100"]);
  });

  it("a mapping that throws is ERR_REGISTRY_MAPPING; the last good set stays and the next request is not conditional", async () => {
    etag = '"v1"';
    let fail = false;
    const r = resolver({
      map: (body) => {
        if (fail) throw new Error("unexpected shape");
        return mapNodes(body);
      },
    });
    const errors = errorsOf(r);
    r.start();
    await r.whenIdle();
    fail = true;
    etag = '"v2"';
    await r.refresh();
    expect(errors.map((e) => [e.code, e.detail])).toEqual([["ERR_REGISTRY_MAPPING", "map threw: unexpected shape"]]);
    expect(r.endpoints).toHaveLength(2);
    fail = false;
    await r.refresh();
    expect(server.requests[2]?.headers["if-none-match"]).toBeUndefined();
    expect(r.endpoints).toHaveLength(2);
  });

  it("a mapping that returns no array is ERR_REGISTRY_MAPPING", async () => {
    const r = resolver({ map: () => ({ nodes: [] }) as never });
    const errors = errorsOf(r);
    r.start();
    await r.whenIdle();
    expect(errors.map((e) => [e.code, e.detail])).toEqual([
      ["ERR_REGISTRY_MAPPING", "map returned an object, not an array of instances"],
    ]);
  });

  it("drops instances that cannot be endpoints, publishes the others, reports the dropped once", async () => {
    nodes = [
      { ip: "10.0.0.1", port: 8080 },
      { ip: "10.0.0.2", port: 70_000 },
      { ip: "bad host", port: 80 },
      { ip: "10.0.0.1", port: 8080, weight: 7 },
    ];
    const r = resolver({ map: (body) => [...mapNodes(body), 42 as never, "10.0.0.9"] });
    const errors = errorsOf(r);
    r.start();
    await r.whenIdle();
    expect(summary(r.endpoints)).toEqual(["http://10.0.0.1:8080 w100", "http://10.0.0.9:80 w100"]);
    expect(r.droppedRecords).toEqual([
      { record: 'instance 1 ("10.0.0.2", port 70000)', reason: "port must be an integer in 1..65535, got 70000" },
      { record: 'instance 2 ("bad host", port 80)', reason: 'invalid hostname "bad host"' },
      {
        record: 'instance 3 ("10.0.0.1", port 8080)',
        reason: 'duplicate of instance 0 ("10.0.0.1", port 8080) (10.0.0.1:8080)',
      },
      { record: "instance 4", reason: "42 is not a string or an object" },
    ]);
    expect(errors.map((e) => e.code)).toEqual(["ERR_REGISTRY_INVALID_INSTANCE"]);
    expect(errors[0]?.dropped).toHaveLength(4);
    await r.refresh();
    expect(errors).toHaveLength(1);
  });

  it("user info in the URL becomes Basic auth and appears in no name, URL or error", async () => {
    server.routes.set("/private", (req, res) =>
      req.headers.authorization === `Basic ${Buffer.from("reader:p@ss-w0rd").toString("base64")}`
        ? json(res, 200, { nodes })
        : json(res, 403, { error: "forbidden" }),
    );
    const base = server.url.replace("http://", "http://reader:p%40ss-w0rd@");
    const r = resolver({}, `${base}/private`);
    const errors = errorsOf(r);
    r.start();
    await r.whenIdle();
    expect(r.endpoints).toHaveLength(2);
    expect(r.url).toBe(`${server.url}/private`);
    expect(r.name).not.toContain("reader");
    expect(errors).toEqual([]);
  });

  it("rejects invalid options synchronously with InvalidConfigError", () => {
    const bad: [string, JsonResolverOptions, string][] = [
      ["http://x/", undefined as never, "map"],
      ["http://x/", {} as never, "map"],
      ["http://x/", { map: 5 } as never, "map"],
      ["x", { map: mapNodes }, "url"],
      ["http://x/#a", { map: mapNodes }, "url"],
      [[] as never, { map: mapNodes }, "url"],
      ["http://x/", { map: mapNodes, maxBodyBytes: 1.5 }, "maxBodyBytes"],
    ];
    expectConfigErrors((url: string, options: JsonResolverOptions) => jsonResolver(url, options), bad);
    expect(jsonResolver(["http://a.test/x", "http://b.test/x"], { map: mapNodes }).url).toBe("http://a.test/x");
  });
});
