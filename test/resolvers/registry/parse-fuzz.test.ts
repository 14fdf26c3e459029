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
import { InstanceList } from "../../../src/resolvers/registry/instances.js";
import { jsonInstances } from "../../../src/resolvers/registry/json.js";
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
