/**
 * Bad input for every registry adapter (Consul, Kong, generic JSON, Eureka,
 * Kubernetes: its list, asked for by `refresh()`; the watch's bad input is
 * in kubernetes.test.ts), one
 * table: HTTP 500, 404 and 401, a timeout, truncated and invalid JSON,
 * wrong types, a huge body, duplicate instances, ports out of range, an
 * empty list once. Each starts from a good set of two endpoints and must
 * end with a typed error event, the last good set kept (or, for answers
 * with some bad instances, the good ones published and the bad ones
 * reported), no crash and no unhandled rejection; a good answer afterwards
 * is taken as usual. The registries are played by the loopback server of
 * test/helpers/registry-server.ts (and test/helpers/kubernetes-api.ts) in
 * their documented shapes (none of them can run here); Consul polls here (`blocking: false`), its
 * blocking queries are covered in consul.test.ts. Time: a ManualClock.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Endpoint, RegistryError, RegistryErrorCode } from "../../../src/index.js";
import { consulResolver, eurekaResolver, jsonResolver, kongResolver, kubernetesResolver } from "../../../src/index.js";
import { ManualClock, seededRandom } from "../../../src/testing/index.js";
import { until } from "../../helpers/dns-server.js";
import { endpointSlice, KubernetesApi } from "../../helpers/kubernetes-api.js";
import { consulEntry, eurekaInstance, kongTarget, RegistryServer } from "../../helpers/registry-server.js";

type Refreshing =
  | ReturnType<typeof consulResolver>
  | ReturnType<typeof kongResolver>
  | ReturnType<typeof jsonResolver>
  | ReturnType<typeof eurekaResolver>
  | ReturnType<typeof kubernetesResolver>;

/** An adapter: how to build its resolver, and bodies in its shape. */
interface Adapter {
  readonly name: string;
  create(server: RegistryServer, clock: ManualClock): Refreshing;
  /** Sets the server's good answer: 10.0.0.1:8080 and 10.0.0.2:8080. */
  good(server: RegistryServer): void;
  /** A body with the given instances (host, port). */
  body(instances: readonly (readonly [string, unknown])[]): string;
  /** Valid JSON that is not the registry's shape, and the code it gets. */
  readonly wrongShape: readonly [string, RegistryErrorCode];
  /** Valid shape, every instance of the wrong types. */
  readonly wrongTypes: string;
}

const common = { jitter: 0, retries: 0, random: seededRandom(5), maxBodyBytes: 50_000, timeoutMs: 1_000 };
const GOOD: readonly (readonly [string, unknown])[] = [
  ["10.0.0.1", 8080],
  ["10.0.0.2", 8080],
];

const ADAPTERS: readonly Adapter[] = [
  {
    name: "consul",
    create: (server, clock) => consulResolver("api", { address: server.url, clock, blocking: false, ...common }),
    good: (server) =>
      server.setConsul(
        "api",
        GOOD.map(([address, port]) => consulEntry({ address, port })),
      ),
    body: (instances) => JSON.stringify(instances.map(([address, port]) => consulEntry({ address, port }))),
    wrongShape: [JSON.stringify({ Nodes: [] }), "ERR_REGISTRY_BODY"],
    wrongTypes: JSON.stringify([
      { Node: "n1", Service: "api", Checks: "passing" },
      consulEntry({ address: "10.0.0.3", port: "8080", tags: "v1" }),
      consulEntry({ address: "10.0.0.4", weights: { Passing: -1 } }),
      consulEntry({ address: 42 as never, port: 80 }),
    ]),
  },
  {
    name: "kong",
    create: (server, clock) => kongResolver("api", { url: server.url, clock, ...common }),
    good: (server) => server.kong.set("api", { targets: GOOD.map(([host, port]) => kongTarget(`${host}:${port}`)) }),
    body: (instances) =>
      JSON.stringify({ data: instances.map(([host, port]) => kongTarget(`${host}:${port}`)), next: null }),
    wrongShape: [JSON.stringify({ data: { target: "10.0.0.1:80" } }), "ERR_REGISTRY_BODY"],
    wrongTypes: JSON.stringify({
      data: [
        { target: 10 },
        kongTarget("10.0.0.3:80", "100"),
        kongTarget("10.0.0.4:80", 70_000),
        kongTarget("10.0.0.5:80", 1, "v1"),
      ],
      next: null,
    }),
  },
  {
    name: "json",
    create: (server, clock) => jsonResolver(`${server.url}/nodes`, { map: (body) => body as never, clock, ...common }),
    good: (server) => {
      server.routes.set("/nodes", (_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(GOOD.map(([host, port]) => ({ host, port }))));
      });
    },
    body: (instances) => JSON.stringify(instances.map(([host, port]) => ({ host, port }))),
    wrongShape: [JSON.stringify({ nodes: [] }), "ERR_REGISTRY_MAPPING"],
    wrongTypes: JSON.stringify([{ host: 10, port: 80 }, { host: "10.0.0.3", port: "80" }, { host: "10.0.0.4" }, null]),
  },
  {
    name: "eureka",
    create: (server, clock) => eurekaResolver("API", { servers: `${server.url}/eureka`, clock, ...common }),
    good: (server) =>
      server.eureka.set(
        "API",
        GOOD.map(([ip, port]) => eurekaInstance({ ip, port })),
      ),
    body: (instances) =>
      JSON.stringify({
        application: { name: "API", instance: instances.map(([ip, port]) => eurekaInstance({ ip, port })) },
      }),
    wrongShape: [JSON.stringify({ applications: { application: [] } }), "ERR_REGISTRY_BODY"],
    wrongTypes: JSON.stringify({
      application: {
        name: "API",
        instance: [
          { status: "UP", ipAddr: 10, port: { $: 80, "@enabled": "true" } },
          eurekaInstance({ ip: "10.0.0.3", port: "80x" }),
          eurekaInstance({ ip: "10.0.0.4", metadata: "v1" }),
          eurekaInstance({ ip: "10.0.0.5", port: { $: 80 } }),
          null,
        ],
      },
    }),
  },
  {
    name: "kubernetes",
    create: (server, clock) =>
      kubernetesResolver("api", {
        apiServer: server.url,
        clock,
        minIntervalMs: 0,
        minListIntervalMs: 0,
        ...common,
      }),
    good: (server) => {
      const api = new KubernetesApi().install(server);
      api.set(
        endpointSlice(
          "api-1",
          "api",
          GOOD.map(([ip]) => ({ ip })),
        ),
      );
    },
    body: (instances) => {
      // One slice per port, as the EndpointSlice controller groups endpoints.
      const ports = [...new Set(instances.map(([, port]) => port))];
      const items = ports.map((port, i) =>
        endpointSlice(
          `api-${i}`,
          "api",
          instances.filter(([, p]) => p === port).map(([ip]) => ({ ip })),
          { ports: [{ name: "http", protocol: "TCP", port }] },
        ),
      );
      return JSON.stringify({ kind: "EndpointSliceList", metadata: { resourceVersion: "7" }, items });
    },
    wrongShape: [JSON.stringify({ kind: "EndpointSliceList", metadata: {}, items: {} }), "ERR_REGISTRY_BODY"],
    wrongTypes: JSON.stringify({
      kind: "EndpointSliceList",
      metadata: { resourceVersion: "7" },
      items: [
        {
          metadata: { name: "api-x" },
          addressType: "IPv4",
          ports: [{ name: "http", port: 8080 }],
          endpoints: [
            { addresses: "10.0.0.3" },
            { addresses: [10] },
            { addresses: ["10.0.0.4"], conditions: "ready" },
            { addresses: ["10.0.0.5"], conditions: { ready: "true" } },
            { addresses: ["10.0.0.6"], zone: 5 },
            null,
          ],
        },
        {
          metadata: { name: "api-y" },
          addressType: "IPv4",
          ports: [{ name: "http", port: "8080" }],
          endpoints: [{ addresses: ["10.0.0.7"] }],
        },
      ],
    }),
  },
];

/** One bad answer: what the server does, and what the resolver must end with. */
interface Case {
  readonly name: string;
  serve(server: RegistryServer, adapter: Adapter): void;
  /** Codes of the error events, in order. */
  readonly codes: readonly RegistryErrorCode[];
  /** The endpoint ids after it: by default the last good set. */
  readonly after?: readonly string[];
  /** Advance the clock by this much while the refresh is in flight (a timeout). */
  readonly advance?: number;
}

const KEPT = ["10.0.0.1:8080", "10.0.0.2:8080"];

const CASES: readonly Case[] = [
  { name: "HTTP 500", serve: (s) => s.faults.push({ status: 500, body: "oops" }), codes: ["ERR_REGISTRY_HTTP"] },
  { name: "HTTP 404", serve: (s) => s.faults.push({ status: 404, body: "{}" }), codes: ["ERR_REGISTRY_HTTP"] },
  { name: "HTTP 401", serve: (s) => s.faults.push({ status: 401, body: "{}" }), codes: ["ERR_REGISTRY_HTTP"] },
  { name: "a timeout", serve: (s) => s.faults.push({ hang: true }), codes: ["ERR_REGISTRY_TIMEOUT"], advance: 1_000 },
  {
    name: "truncated JSON",
    serve: (s, a) => s.faults.push({ status: 200, body: a.body(GOOD).slice(0, 40) }),
    codes: ["ERR_REGISTRY_BODY"],
  },
  { name: "a cut connection", serve: (s) => s.faults.push({ destroy: "mid-body" }), codes: ["ERR_REGISTRY_CONNECT"] },
  {
    name: "invalid JSON",
    serve: (s) => s.faults.push({ status: 200, body: "{nodes: [1,2,]}" }),
    codes: ["ERR_REGISTRY_BODY"],
  },
  {
    name: "JSON of the wrong shape",
    serve: (s, a) => s.faults.push({ status: 200, body: a.wrongShape[0] }),
    codes: [], // set per adapter below
  },
  {
    name: "every instance of the wrong types",
    serve: (s, a) => s.faults.push({ status: 200, body: a.wrongTypes }),
    codes: ["ERR_REGISTRY_INVALID_INSTANCE"],
  },
  {
    name: "a huge body",
    serve: (s, a) =>
      s.faults.push({
        status: 200,
        body: a.body(Array.from({ length: 2_000 }, (_, i) => [`10.1.${i >> 8}.${i & 255}`, 80] as const)),
      }),
    codes: ["ERR_REGISTRY_TOO_LARGE"],
  },
  {
    name: "duplicate instances",
    serve: (s, a) => s.faults.push({ status: 200, body: a.body([...GOOD, ["10.0.0.2", 8080], ["10.0.0.3", 8080]]) }),
    codes: ["ERR_REGISTRY_INVALID_INSTANCE"],
    after: [...KEPT, "10.0.0.3:8080"],
  },
  {
    name: "ports out of range",
    serve: (s, a) =>
      s.faults.push({
        status: 200,
        body: a.body([
          ["10.0.0.1", 8080],
          ["10.0.0.5", 0],
          ["10.0.0.6", 65_536],
          ["10.0.0.7", -1],
          ["10.0.0.8", 80.5],
        ]),
      }),
    codes: ["ERR_REGISTRY_INVALID_INSTANCE"],
    after: ["10.0.0.1:8080"],
  },
  {
    name: "an empty list once",
    serve: (s, a) => s.faults.push({ status: 200, body: a.body([]) }),
    codes: ["ERR_REGISTRY_EMPTY"],
  },
];

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => {
  process.on("unhandledRejection", onUnhandled);
});
afterAll(() => {
  process.off("unhandledRejection", onUnhandled);
});

let server: RegistryServer;
let clock: ManualClock;
beforeEach(async () => {
  server = await RegistryServer.start();
  clock = new ManualClock();
});
afterEach(async () => {
  await server.close();
});

const ids = (endpoints: readonly Endpoint[] | undefined) => endpoints?.map((e) => e.id);

describe.each(ADAPTERS)("$name adapter, bad input", (adapter) => {
  it.each(CASES)("$name: a typed error, the last good set kept, then recovery", async (c) => {
    adapter.good(server);
    const r = adapter.create(server, clock);
    const errors: RegistryError[] = [];
    r.on("error", (e) => errors.push(e as RegistryError));
    try {
      r.start();
      await r.whenIdle();
      expect(ids(r.endpoints)).toEqual(KEPT);
      c.serve(server, adapter);
      const refresh = r.refresh();
      if (c.advance !== undefined) {
        await until(() => server.held === 1);
        clock.advance(c.advance);
      }
      await refresh;
      const codes = c.name === "JSON of the wrong shape" ? [adapter.wrongShape[1]] : c.codes;
      expect(errors.map((e) => e.code)).toEqual(codes);
      for (const e of errors) {
        expect(e.registry).toBe(adapter.name);
        expect(e.resolver).toBe(r.name);
        expect(e.message.startsWith(`${r.name}: GET ${server.url}/`)).toBe(true);
      }
      expect(ids(r.endpoints)).toEqual(c.after ?? KEPT);
      // The registry is good again: taken as usual, and the error is over.
      const resolved: boolean[] = [];
      r.on("resolved", (_set, changed) => resolved.push(changed));
      await r.refresh();
      expect(ids(r.endpoints)).toEqual(KEPT);
      expect(resolved).toEqual([c.after !== undefined]);
      expect(unhandled).toEqual([]);
    } finally {
      await r.close();
    }
    expect(clock.pendingTimers).toBe(0);
  });
});
