import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sameEndpoint } from "../../src/endpoint.js";
import type { Endpoint, StaticResolver } from "../../src/index.js";
import { endpoint, staticResolver } from "../../src/index.js";
import {
  endpointObject,
  endpointString,
  expectCode,
  expectValidEndpoint,
  outcome,
  RUNS,
  scheme,
} from "../endpoints/arbitraries.js";

/**
 * A few ids in many spellings, so that lists often hold duplicates: the same
 * endpoint with equal fields (weights add) or with another scheme, priority,
 * zone... (an error).
 */
const sameIdEntry: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    "a:1",
    "A:1",
    "http://a:1",
    "http://a:1/",
    "https://a:1",
    "b:1",
    "http://b:1",
    "[::1]:1",
    "10.0.0.1:1",
  ),
  fc.record(
    {
      host: fc.constantFrom("a", "b", "::1", "[::1]", "10.0.0.1"),
      port: fc.constant(1),
      weight: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 30_000, max: 65_535 })),
      priority: fc.constantFrom(0, 0, 1),
      scheme: fc.constantFrom("http", "http", "https"),
      zone: fc.constantFrom(undefined, undefined, "z"),
      tags: fc.constantFrom(undefined, [], ["v1"]),
    },
    { requiredKeys: ["host", "port"] },
  ),
);

/** Host lists: arrays (some sparse) of mixed entries, or anything at all. */
const hosts: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.array(sameIdEntry, { maxLength: 6 }) },
  fc.array(fc.oneof({ weight: 3, arbitrary: sameIdEntry }, endpointString, endpointObject, fc.anything()), {
    maxLength: 5,
  }),
  fc.sparseArray(sameIdEntry, { maxLength: 4 }),
  fc.anything(),
);

/** Options: missing, shaped, or junk. */
const options: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  fc.record(
    { scheme, name: fc.oneof(fc.constant(undefined), fc.string({ maxLength: 4 }), fc.anything()) },
    { requiredKeys: [] },
  ),
  fc.anything(),
);

/**
 * What a valid list must publish, computed entry by entry with `endpoint()`:
 * one endpoint per id whose weight is the sum of its entries' weights, or
 * `undefined` when the list must be refused (a bad entry, duplicates that
 * differ in anything but weight, a sum above 65535).
 */
function expected(list: unknown, scheme: string): Map<string, number> | undefined {
  if (!Array.isArray(list)) return undefined;
  const byId = new Map<string, Endpoint>();
  const sums = new Map<string, number>();
  for (let i = 0; i < list.length; i++) {
    const parsed = outcome(() => endpoint(list[i], { scheme }));
    if (!parsed.ok) return undefined;
    const e = parsed.value;
    const first = byId.get(e.id);
    if (first !== undefined && !sameEndpoint(first, { ...e, weight: first.weight })) return undefined;
    if (first === undefined) byId.set(e.id, e);
    sums.set(e.id, (sums.get(e.id) ?? 0) + e.weight);
  }
  for (const sum of sums.values()) if (sum > 65535) return undefined;
  return sums;
}

function expectPublished(resolver: StaticResolver, want: Map<string, number>): void {
  const published = resolver.endpoints ?? [];
  for (const e of published) expectValidEndpoint(e);
  expect(Object.isFrozen(published)).toBe(true);
  const ids = published.map((e) => e.id);
  expect(ids).toEqual([...want.keys()].sort());
  for (const e of published) expect(e.weight).toBe(want.get(e.id));
}

describe("fuzz: static resolver", () => {
  it("staticResolver(hosts, options)", () => {
    const seen = { ok: 0, rejected: 0 };
    fc.assert(
      fc.property(hosts, options, (list, o) => {
        const result = outcome(() => staticResolver(list as never, o as never));
        if (result.ok) {
          seen.ok++;
          const resolver = result.value;
          resolver.start();
          const want = expected(list, schemeOf(o));
          expect(want).toBeDefined();
          expectPublished(resolver, want as Map<string, number>);
        } else {
          seen.rejected++;
          expectCode(result.error, ["ERR_INVALID_ARGUMENT", "ERR_INVALID_ENDPOINT", "ERR_INVALID_CONFIG"]);
          if (result.error.code === "ERR_INVALID_ENDPOINT") expect(expected(list, schemeOf(o))).toBeUndefined();
        }
      }),
      { seed: 20_260_711, numRuns: RUNS },
    );
    expect(seen.ok).toBeGreaterThan(RUNS * 0.05);
    expect(seen.rejected).toBeGreaterThan(RUNS * 0.05);
  });

  it("StaticResolver.set(hosts): applies a valid list, or throws and keeps the current one", () => {
    const seen = { ok: 0, rejected: 0 };
    fc.assert(
      fc.property(hosts, fc.boolean(), fc.constantFrom("http", "https"), (list, started, s) => {
        const resolver = staticResolver(["a:1", "c:1"], { scheme: s });
        if (started) resolver.start();
        const before = resolver.endpoints;
        const result = outcome(() => resolver.set(list as never));
        if (!started) resolver.start();
        if (result.ok) {
          seen.ok++;
          const want = expected(list, s);
          expect(want).toBeDefined();
          expectPublished(resolver, want as Map<string, number>);
        } else {
          seen.rejected++;
          expectCode(result.error, ["ERR_INVALID_ARGUMENT", "ERR_INVALID_ENDPOINT"]);
          expect(expected(list, s)).toBeUndefined();
          if (started) expect(resolver.endpoints).toBe(before);
          expect(resolver.endpoints?.map((e) => [e.id, e.weight, e.scheme])).toEqual([
            ["a:1", 100, s],
            ["c:1", 100, s],
          ]);
        }
      }),
      { seed: 20_260_712, numRuns: RUNS },
    );
    expect(seen.ok).toBeGreaterThan(RUNS * 0.05);
    expect(seen.rejected).toBeGreaterThan(RUNS * 0.05);
  });
});

/** The scheme a (valid) options value applies to entries without one. */
function schemeOf(o: unknown): string {
  const s = (o as { scheme?: unknown } | undefined)?.scheme;
  return typeof s === "string" ? s.toLowerCase() : "http";
}
