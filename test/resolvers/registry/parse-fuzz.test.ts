/**
 * Property tests of every registry parser, pure functions fed with random
 * JSON (fast-check, 10,000 inputs each): any JSON value, and values close to
 * each registry's documented shape with random fields, so the deep paths
 * are reached. A parser returns valid, unique endpoints and reasons for what
 * it dropped, or throws a `RegistryError` with its documented code: nothing
 * else (no TypeError, no RangeError, no endpoint out of range).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Endpoint } from "../../../src/index.js";
import { RegistryError } from "../../../src/index.js";
import { BodyProblem, parseJson } from "../../../src/resolvers/registry/body.js";
import { parseConsulHealth } from "../../../src/resolvers/registry/consul-health.js";
import { nextConsulIndex } from "../../../src/resolvers/registry/consul-index.js";
import { parseEurekaApplication } from "../../../src/resolvers/registry/eureka-apps.js";
import type { RegistryStream } from "../../../src/resolvers/registry/http.js";
import { InstanceList } from "../../../src/resolvers/registry/instances.js";
import { jsonInstances } from "../../../src/resolvers/registry/json.js";
import { JsonLines } from "../../../src/resolvers/registry/json-lines.js";
import { SliceSet } from "../../../src/resolvers/registry/k8s-endpoints.js";
import type { ParsedSlice, SliceOptions } from "../../../src/resolvers/registry/k8s-slices.js";
import { parseSliceEvent, parseSliceList } from "../../../src/resolvers/registry/k8s-slices.js";
import {
  addKongTarget,
  kongRecord,
  parseKongPage,
  splitKongTarget,
  unhealthyTargets,
} from "../../../src/resolvers/registry/kong-admin.js";

const RUNS = 10_000;
const CONTEXT = { resolver: "fuzz", registry: "fuzz", url: "http://127.0.0.1:1/" };
const SCHEME = /^[a-z][a-z0-9+.-]*$/;

/** Every endpoint valid and ids unique. */
function expectValid(endpoints: readonly Endpoint[]): void {
  const seen = new Set<string>();
  for (const e of endpoints) {
    expect(typeof e.host === "string" && e.host.length > 0).toBe(true);
    expect(Number.isInteger(e.port) && e.port >= 1 && e.port <= 65_535).toBe(true);
    expect(Number.isInteger(e.weight) && e.weight >= 0 && e.weight <= 65_535).toBe(true);
    expect(Number.isSafeInteger(e.priority) && e.priority >= 0).toBe(true);
    expect(SCHEME.test(e.scheme)).toBe(true);
    expect(Object.isFrozen(e)).toBe(true);
    expect(seen.has(e.id)).toBe(false);
    seen.add(e.id);
  }
}

/** Runs `parse`: returns its result, or undefined when it threw a RegistryError with one of `codes`. */
function typed<T>(parse: () => T, codes: readonly string[]): T | undefined {
  try {
    return parse();
  } catch (error) {
    if (error instanceof RegistryError && codes.includes(error.code)) return undefined;
    throw error;
  }
}

const any = fc.jsonValue({ maxDepth: 3 });
/** Mostly `good`, sometimes `bad`: inputs near the documented shape reach the deep paths. */
const mostly = <T, U>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<U>) =>
  fc.oneof({ arbitrary: good, weight: 5 }, { arbitrary: bad, weight: 1 });
const text = fc.oneof(
  fc.constantFrom(
    "",
    "10.0.0.1",
    "::1",
    "[::1]",
    "fd00::1",
    "a.test",
    "bad host",
    "1.2.3.999",
    "__proto__",
    "a\u0000b",
    "ä.test",
  ),
  fc.string({ maxLength: 20 }),
);
const address = mostly(
  fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain(), fc.constantFrom("10.0.0.1", "10.0.0.2", "a.test")),
  fc.oneof(text, any),
);
const port = mostly(
  fc.oneof(fc.integer({ min: 1, max: 65_535 }), fc.constantFrom(80, 8080)),
  fc.oneof(
    fc.integer({ min: -2, max: 70_000 }),
    fc.constantFrom(0, 65_536, 80.5, Number.MAX_SAFE_INTEGER),
    fc.double(),
    text,
    any,
  ),
);
const weight = mostly(
  fc.integer({ min: 0, max: 65_535 }),
  fc.oneof(fc.integer({ min: -2, max: 70_000 }), fc.constantFrom(65_536, 1.5), text, any),
);
const tags = mostly(fc.oneof(fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }), fc.constant(null)), any);
const meta = mostly(fc.oneof(fc.dictionary(text, fc.oneof(text, any), { maxKeys: 3 }), fc.constant(null)), any);
const status = mostly(
  fc.constantFrom("passing", "passing", "warning"),
  fc.oneof(fc.constantFrom("critical", "maintenance", "PASSING"), any),
);

const consulEntry = mostly(
  fc.record(
    {
      Node: mostly(fc.record({ Node: text, Address: address }, { requiredKeys: [] }), any),
      Service: mostly(
        fc.record(
          {
            ID: fc.oneof(text, any),
            Address: mostly(fc.oneof(address, fc.constant("")), any),
            Port: port,
            Tags: tags,
            Meta: meta,
            Weights: mostly(fc.record({ Passing: weight, Warning: weight }, { requiredKeys: [] }), any),
          },
          { requiredKeys: ["Port"] },
        ),
        any,
      ),
      Checks: mostly(fc.array(mostly(fc.record({ Status: status }), any), { maxLength: 3 }), any),
    },
    { requiredKeys: ["Service"] },
  ),
  any,
);

const hostPort = fc.tuple(address, port).map(([h, p]) => {
  const host = typeof h === "string" ? h : JSON.stringify(h);
  const portText = typeof p === "number" ? p : JSON.stringify(p);
  return host.includes(":") ? `[${host}]:${portText}` : `${host}:${portText}`;
});
const kongTarget = mostly(
  fc.record({ target: mostly(fc.oneof(hostPort, address), any), weight, tags }, { requiredKeys: ["target"] }),
  any,
);
const kongPage = mostly(
  fc.record(
    {
      data: mostly(fc.array(kongTarget, { maxLength: 6 }), any),
      next: mostly(
        fc.constant(null),
        fc.oneof(
          text,
          fc.string().map((o) => `/upstreams/x/targets?offset=${o}`),
          any,
        ),
      ),
      offset: fc.oneof(text, any),
    },
    { requiredKeys: ["data"] },
  ),
  any,
);

const jsonInstance = mostly(
  fc.oneof(
    hostPort,
    fc.record(
      { host: address, port, weight, priority: weight, tags, metadata: meta, zone: fc.oneof(text, any) },
      { requiredKeys: ["host", "port"] },
    ),
  ),
  fc.oneof(any, text),
);

/** Nearly always `good`: for fields whose bad values make a whole answer fail, so deeper paths are still reached. */
const often = <T, U>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<U>) =>
  fc.oneof({ arbitrary: good, weight: 20 }, { arbitrary: bad, weight: 1 });
const flag = mostly(fc.constantFrom("true", "true", true, "false", false), any);
const eurekaPort = mostly(
  fc.record({ $: mostly(port, port.map(String)), "@enabled": flag }, { requiredKeys: [] }),
  any,
);
const eurekaInstance = mostly(
  fc.record(
    {
      instanceId: fc.oneof(text, any),
      hostName: address,
      ipAddr: address,
      status: mostly(fc.constantFrom("UP", "UP", "UP", "UP", "DOWN", "STARTING", "OUT_OF_SERVICE", "UNKNOWN"), any),
      port: eurekaPort,
      securePort: eurekaPort,
      metadata: mostly(
        fc.oneof(
          fc.constant({ "@class": "java.util.Collections$EmptyMap" }),
          fc.record({ weight: mostly(weight.map(String), weight), zone: text, version: text }, { requiredKeys: [] }),
          meta,
        ),
        any,
      ),
      dataCenterInfo: mostly(fc.record({ metadata: fc.record({ "availability-zone": text }) }), any),
    },
    { requiredKeys: ["status"] },
  ),
  any,
);
const eurekaBody = often(
  fc.record({
    application: often(
      fc.record(
        {
          name: text,
          instance: fc.oneof(fc.array(eurekaInstance, { maxLength: 6 }), eurekaInstance, fc.constant(null)),
        },
        { requiredKeys: [] },
      ),
      any,
    ),
  }),
  any,
);

const condition = mostly(fc.constantFrom(true, true, true, false, null), any);
const sliceEndpoint = mostly(
  fc.record(
    {
      addresses: mostly(fc.array(address, { minLength: 1, maxLength: 2 }), any),
      conditions: mostly(
        fc.record({ ready: condition, serving: condition, terminating: condition }, { requiredKeys: [] }),
        any,
      ),
      zone: mostly(text, any),
      nodeName: fc.oneof(text, any),
      hostname: fc.oneof(text, any),
      targetRef: mostly(fc.record({ kind: fc.constantFrom("Pod", "Node"), name: text }), any),
    },
    { requiredKeys: ["addresses"] },
  ),
  any,
);
const slicePort = mostly(
  fc.record(
    {
      name: mostly(fc.constantFrom("http", "http", "grpc", ""), any),
      port: port,
      protocol: mostly(fc.constantFrom("TCP", "TCP", "TCP", "UDP", "SCTP"), any),
    },
    { requiredKeys: ["port"] },
  ),
  any,
);
const sliceName = often(fc.constantFrom("s-1", "s-2", "s-3", "s-4"), any);
const slice = often(
  fc.record(
    {
      metadata: often(
        fc.record(
          { name: sliceName, resourceVersion: mostly(fc.nat().map(String), any), labels: meta },
          { requiredKeys: ["name"] },
        ),
        any,
      ),
      addressType: mostly(fc.constantFrom("IPv4", "IPv4", "IPv4", "IPv6", "FQDN"), any),
      ports: often(
        fc.oneof(fc.array(slicePort, { minLength: 1, maxLength: 1 }), fc.array(slicePort, { maxLength: 3 })),
        any,
      ),
      endpoints: often(fc.array(sliceEndpoint, { minLength: 1, maxLength: 5 }), any),
    },
    { requiredKeys: ["metadata", "endpoints"] },
  ),
  any,
);
const sliceList = often(
  fc.record(
    {
      metadata: often(
        fc.record(
          { resourceVersion: often(fc.nat().map(String), any), continue: fc.oneof(text, any) },
          { requiredKeys: ["resourceVersion"] },
        ),
        any,
      ),
      items: often(fc.array(slice, { maxLength: 3 }), any),
    },
    { requiredKeys: ["metadata", "items"] },
  ),
  any,
);
const sliceEvent = mostly(
  fc.record(
    {
      type: mostly(fc.constantFrom("ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"), any),
      object: mostly(
        fc.oneof(
          slice,
          fc.record({
            kind: fc.constant("Status"),
            code: mostly(fc.constantFrom(410, 500), any),
            reason: text,
            message: text,
          }),
        ),
        any,
      ),
    },
    { requiredKeys: [] },
  ),
  any,
);
const sliceOptions: fc.Arbitrary<SliceOptions> = fc.record({
  scheme: fc.constant("http"),
  port: fc.constantFrom(undefined, undefined, "http", "http", "grpc", "", 8080, 8080, 8080),
  condition: fc.constantFrom("ready" as const, "serving" as const),
});

describe("registry parsers, random JSON", () => {
  it(`parseConsulHealth: valid unique endpoints and dropped reasons, or ERR_REGISTRY_BODY (${RUNS} inputs)`, () => {
    const reached = { endpoints: 0, dropped: 0 };
    fc.assert(
      fc.property(
        fc.oneof(any, fc.array(consulEntry, { maxLength: 8 })),
        fc.boolean(),
        mostly(fc.constant([]), fc.array(fc.string({ maxLength: 5 }), { maxLength: 2 })),
        (body, passingOnly, wanted) => {
          const out = typed(
            () => parseConsulHealth(body, { scheme: "http", passingOnly, tags: wanted }, CONTEXT),
            ["ERR_REGISTRY_BODY"],
          );
          if (out === undefined) {
            expect(Array.isArray(body)).toBe(false);
            return;
          }
          expectValid(out.endpoints);
          expect(out.endpoints.length + out.dropped.length).toBeLessThanOrEqual((body as unknown[]).length);
          for (const d of out.dropped) expect(typeof d.record === "string" && typeof d.reason === "string").toBe(true);
          if (out.endpoints.length > 0) reached.endpoints++;
          if (out.dropped.length > 0) reached.dropped++;
        },
      ),
      { numRuns: RUNS, seed: 1010 },
    );
    // The inputs reach both outcomes often, not only the top-level refusal.
    expect(reached.endpoints).toBeGreaterThan(RUNS / 20);
    expect(reached.dropped).toBeGreaterThan(RUNS / 20);
  });

  it(`Kong pages and targets: valid unique endpoints, or ERR_REGISTRY_BODY (${RUNS} inputs)`, () => {
    let reached = 0;
    fc.assert(
      fc.property(kongPage, fc.oneof(kongPage, any), (page, healthPage) => {
        const parsed = typed(() => parseKongPage(page, CONTEXT), ["ERR_REGISTRY_BODY"]);
        if (parsed === undefined) return;
        expect(parsed.offset === undefined || (typeof parsed.offset === "string" && parsed.offset !== "")).toBe(true);
        const unhealthy = new Set<string>();
        const health = typed(() => parseKongPage(healthPage, CONTEXT), ["ERR_REGISTRY_BODY"]);
        if (health !== undefined) unhealthyTargets(health.data, unhealthy);
        const list = new InstanceList("http", (i) => kongRecord(parsed.data[i], i));
        for (let i = 0; i < parsed.data.length; i++) addKongTarget(list, parsed.data[i], i, unhealthy);
        const out = list.result();
        expectValid(out.endpoints);
        for (const e of out.endpoints) expect(unhealthy.has(e.id)).toBe(false);
        if (out.endpoints.length > 0) reached++;
      }),
      { numRuns: RUNS, seed: 2020 },
    );
    expect(reached).toBeGreaterThan(RUNS / 20);
  });

  it(`jsonInstances: valid unique endpoints, or ERR_REGISTRY_MAPPING for what is not an array (${RUNS} inputs)`, () => {
    let reached = 0;
    fc.assert(
      fc.property(fc.oneof(any, fc.array(jsonInstance, { maxLength: 8 })), (mapped) => {
        const out = typed(() => jsonInstances(mapped, "https", CONTEXT), ["ERR_REGISTRY_MAPPING"]);
        if (out === undefined) {
          expect(Array.isArray(mapped)).toBe(false);
          return;
        }
        expectValid(out.endpoints);
        expect(out.endpoints.length + out.dropped.length).toBe((mapped as unknown[]).length);
        if (out.endpoints.length > 0) reached++;
      }),
      { numRuns: RUNS, seed: 3030 },
    );
    expect(reached).toBeGreaterThan(RUNS / 20);
  });

  it(`parseEurekaApplication: valid unique endpoints, or ERR_REGISTRY_BODY (${RUNS} inputs)`, () => {
    const reached = { endpoints: 0, dropped: 0 };
    fc.assert(
      fc.property(
        eurekaBody,
        fc.constantFrom("ipAddr" as const, "hostName" as const),
        fc.boolean(),
        (body, host, preferSecure) => {
          const out = typed(
            () => parseEurekaApplication(body, { scheme: "http", host, preferSecure }, CONTEXT),
            ["ERR_REGISTRY_BODY"],
          );
          if (out === undefined) return;
          expectValid(out.endpoints);
          for (const e of out.endpoints) {
            expect(["http", "https"]).toContain(e.scheme);
            expect(Object.hasOwn(e.metadata, "@class")).toBe(false);
          }
          for (const d of out.dropped) expect(typeof d.record === "string" && typeof d.reason === "string").toBe(true);
          if (out.endpoints.length > 0) reached.endpoints++;
          if (out.dropped.length > 0) reached.dropped++;
        },
      ),
      { numRuns: RUNS, seed: 6060 },
    );
    expect(reached.endpoints).toBeGreaterThan(RUNS / 20);
    expect(reached.dropped).toBeGreaterThan(RUNS / 20);
  });

  it(`Kubernetes lists and watch events into a SliceSet: valid unique endpoints, or ERR_REGISTRY_BODY (${RUNS} inputs)`, () => {
    const reached = { listed: 0, endpoints: 0, dropped: 0, events: 0 };
    fc.assert(
      fc.property(
        sliceList,
        fc.array(sliceEvent, { maxLength: 6 }),
        sliceOptions,
        fc.constantFrom("IPv4" as const, "IPv6" as const, "auto" as const, "auto" as const, "auto" as const),
        (list, events, options, family) => {
          const set = new SliceSet(family);
          // The oracle: the slices held, by name, as a plain Map.
          const held = new Map<string, ParsedSlice>();
          const listed = typed(() => parseSliceList(list, options, CONTEXT), ["ERR_REGISTRY_BODY"]);
          if (listed !== undefined) {
            expect(typeof listed.resourceVersion === "string" && listed.resourceVersion !== "").toBe(true);
            set.reset(listed.slices);
            for (const slice of listed.slices) held.set(slice.name, slice);
            expectValid(set.endpoints());
            if (set.endpoints().length > 0) reached.listed++;
          }
          for (const line of events) {
            const event = typed(() => parseSliceEvent(line, options, CONTEXT), ["ERR_REGISTRY_BODY"]);
            if (event === undefined) continue;
            reached.events++;
            if (event.type === "ADDED" || event.type === "MODIFIED") {
              set.apply(event.slice.name, event.slice);
              held.set(event.slice.name, event.slice);
            } else if (event.type === "DELETED") {
              set.apply(event.name, undefined);
              held.delete(event.name);
            }
          }
          const endpoints = set.endpoints();
          expectValid(endpoints);
          // Exactly the endpoints the held slices of the family in use list, each id once.
          const families = [...held.values()].map((h) => h.addressType);
          const inUse =
            family !== "auto" ? family : families.includes("IPv4") || !families.includes("IPv6") ? "IPv4" : "IPv6";
          expect(set.family).toBe(inUse);
          const expected = new Set(
            [...held.values()].filter((h) => h.addressType === inUse).flatMap((h) => h.endpoints.map((e) => e.id)),
          );
          expect(new Set(endpoints.map((e) => e.id))).toEqual(expected);
          for (const d of set.dropped())
            expect(typeof d.record === "string" && typeof d.reason === "string").toBe(true);
          if (endpoints.length > 0) reached.endpoints++;
          if (set.dropped().length > 0) reached.dropped++;
        },
      ),
      { numRuns: RUNS, seed: 7070 },
    );
    expect(reached.listed).toBeGreaterThan(RUNS / 20);
    expect(reached.endpoints).toBeGreaterThan(RUNS / 20);
    expect(reached.dropped).toBeGreaterThan(RUNS / 20);
    expect(reached.events).toBeGreaterThan(RUNS / 5);
  });

  it(`JsonLines: random chunks of JSON lines are values or typed errors (${RUNS} inputs)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            any.map((v) => JSON.stringify(v) ?? "null"),
            fc.string({ maxLength: 10 }),
          ),
          { maxLength: 5 },
        ),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }),
        fc.boolean(),
        async (lines, cuts, trailingNewline) => {
          const bytes = new TextEncoder().encode(lines.join("\n") + (trailingNewline ? "\n" : ""));
          const chunks: Uint8Array[] = [];
          for (let at = 0, i = 0; at < bytes.length; i++) {
            const size = cuts[i % cuts.length] as number;
            chunks.push(bytes.subarray(at, at + size));
            at += size;
          }
          const stream: RegistryStream = { url: CONTEXT.url, read: async () => chunks.shift(), close: () => {} };
          const reader = new JsonLines(stream, 200, CONTEXT);
          const values: unknown[] = [];
          try {
            for (let v = await reader.next(); v !== undefined; v = await reader.next()) values.push(v);
          } catch (error) {
            if (
              !(error instanceof RegistryError) ||
              !["ERR_REGISTRY_BODY", "ERR_REGISTRY_TOO_LARGE"].includes(error.code)
            ) {
              throw error;
            }
            return;
          }
          const expected = lines.filter((l) => l.trim() !== "").map((l) => JSON.parse(l.replace(/\r$/, "")));
          expect(values).toEqual(expected);
        },
      ),
      { numRuns: RUNS, seed: 8080 },
    );
  });

  it(`parseJson: random bytes are JSON or a BodyProblem "invalid" (${RUNS} inputs)`, () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          any.map((v) => new TextEncoder().encode(JSON.stringify(v) ?? "")),
          any.map((v) => new TextEncoder().encode((JSON.stringify(v) ?? "").slice(0, -1))),
        ),
        (bytes) => {
          try {
            parseJson(bytes);
          } catch (error) {
            if (!(error instanceof BodyProblem) || error.kind !== "invalid") throw error;
          }
        },
      ),
      { numRuns: RUNS, seed: 4040 },
    );
  });

  it(`nextConsulIndex and splitKongTarget never throw; an index sent is never below 1 (${RUNS} inputs)`, () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 64n }),
        fc.oneof(fc.constant(null), fc.string(), fc.bigInt({ min: -5n, max: 2n ** 64n }).map(String)),
        fc.string(),
        (held, header, target) => {
          const next = nextConsulIndex(held, header);
          if (next !== undefined) expect(next === 0n || next >= 1n).toBe(true);
          if (next !== undefined && next !== 0n) expect(next >= held).toBe(true);
          const split = splitKongTarget(target);
          if (split !== undefined)
            expect(Number.isInteger(split.port) && split.port >= 0 && split.port <= 99_999).toBe(true);
        },
      ),
      { numRuns: RUNS, seed: 5050 },
    );
  });
});
