import fc from "fast-check";
import { expect } from "vitest";
import type { Endpoint } from "../../src/index.js";
import { endpointId, parseEndpoint, SwitchyardError } from "../../src/index.js";

/**
 * Random inputs for the endpoint entry points: `fc.anything()` plus shaped
 * near-misses — hosts the WHATWG URL parser would rewrite, ports as strings,
 * floats or out of range, odd weights, priorities, schemes, tags, metadata.
 */

/** Host texts that look like hosts, many of them one step from valid. */
export const hostText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "a",
    "A.Example.TEST.",
    "localhost",
    "10.0.0.1",
    "10.1",
    "2130706433",
    "0x7f.1",
    "0x7f000001",
    "010.0.0.1",
    "256.1.1.1",
    "1.2.3.4.",
    "1.2.3.4.5",
    "api.1",
    "ex%41mple.com",
    "a\tb.example",
    "a\nb",
    "@host",
    "user@host",
    "bücher.example",
    "xn--bcher-kva.example",
    "a..b",
    "-a.example",
    "a-.example",
    "_svc.example",
    " a ",
    "",
    "a/b",
    "a?b",
    "a#b",
    "a\\b",
    "\u00a0a",
    "::1",
    "[::1]",
    "[0:0:0:0:0:0:0:1]",
    "::ffff:1.2.3.4",
    "fe80::1%eth0",
    "[fe80::1%25eth0]",
    "[10.0.0.1]",
    "[a.test]",
    "[::1",
    "::\t1",
    "::zz",
    "0x",
    "a.0x",
    "1e5",
    `${"a".repeat(63)}.test`,
    `${"a".repeat(64)}.test`,
    `${"a.".repeat(126)}a`,
    `${"a.".repeat(127)}a`,
  ),
  fc.ipV4(),
  fc.ipV4Extended(),
  fc.ipV6(),
  fc.domain(),
  fc.string({ unit: fc.constantFrom(..."aZ09.-_%:[]@ \t/x"), maxLength: 12 }),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 6 }),
);

/** Ports: mostly numbers around the valid range, some strings, floats and junk. */
export const port: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 65535 }) },
  fc.integer({ min: -5, max: 70_000 }),
  fc.constantFrom(0, -0, 65535, 65536, 80.5, Number.NaN, Number.POSITIVE_INFINITY, "80", "0x50", 80n, null),
  fc.double(),
  fc.anything(),
);

/** Weights: missing, in range, out of range, not integers, not numbers. */
export const weight: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 65535 }) },
  fc.integer({ min: -10, max: 70_000 }),
  fc.constantFrom(-0, 65536, 1.5, Number.NaN, "100", null),
  fc.double(),
  fc.anything(),
);

/** Priorities: missing, small, huge, negative, not integers. */
export const priority: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 3 }) },
  fc.constantFrom(-1, -0, 0.5, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, Number.NaN, "0", null),
  fc.double(),
  fc.anything(),
);

/** Schemes: missing, usual, upper-case, malformed. */
export const scheme: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  fc.constantFrom("http", "https", "HTTPS", "grpc", "h2c", "a+b.c-d", "h t", "1x", "", "constructor", "__proto__"),
  fc.string({ maxLength: 8 }),
  fc.anything(),
);

/** Tags: missing, arrays of strings, sparse arrays, arrays of junk, junk. */
export const tags: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  fc.constant(null),
  fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }),
  fc.sparseArray(fc.string({ maxLength: 4 }), { maxLength: 3 }),
  fc.array(fc.anything(), { maxLength: 3 }),
  fc.anything(),
);

/** Metadata: missing, string records (with `__proto__` keys), records of junk, arrays, junk. */
export const metadata: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  fc.constant(null),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 3 }),
  fc.constant(JSON.parse('{"__proto__":"x"}')),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.anything(), { maxKeys: 3 }),
  fc.array(fc.string(), { maxLength: 2 }),
  fc.anything(),
);

const optionalString: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  fc.string({ maxLength: 6 }),
  fc.anything(),
);

/** The object form, valid in every field (optional ones may be missing). */
const validObject: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    host: fc.oneof(fc.domain(), fc.ipV4(), fc.ipV6(), fc.constantFrom("a", "A.Example.TEST.", "[::1]")),
    port: fc.integer({ min: 1, max: 65535 }),
    weight: fc.integer({ min: 0, max: 65535 }),
    priority: fc.nat(),
    scheme: fc.constantFrom("http", "https", "HTTPS", "grpc"),
    tags: fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }),
    metadata: fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 3 }),
    hostname: fc.domain(),
    zone: fc.string({ maxLength: 6 }),
  },
  { requiredKeys: ["host", "port"] },
);

/** The object form: valid ones, and near-misses in every field (any field may be missing). */
export const endpointObject: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  validObject,
  fc.record(
    {
      host: fc.oneof({ weight: 4, arbitrary: hostText }, fc.anything()),
      port,
      weight,
      priority,
      scheme,
      tags,
      metadata,
      hostname: optionalString,
      zone: optionalString,
    },
    { requiredKeys: [] },
  ),
);

/** The string form: `[scheme://]host[:port][tail]`, each part possibly wrong. */
export const endpointString: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.constantFrom("", "", "http://", "https://", "HTTPS://", "grpc://", "h t://", "http:/", "//"),
        hostText,
        fc.oneof(
          fc.constant(""),
          fc.integer({ min: 1, max: 65535 }).map((p) => `:${p}`),
          fc.integer({ min: -5, max: 70_000 }).map((p) => `:${p}`),
          fc.constantFrom(":", ": 80", ":0x50", ":80.5", ":080", ":80:90", ":1e3"),
          fc.string({ maxLength: 4 }).map((p) => `:${p}`),
        ),
        fc.constantFrom("", "", "/", "/path", "?q=1", "#f", "//", " ", "\t"),
      )
      .map((parts) => parts.join("")),
  },
  fc.webUrl(),
  fc.string({ maxLength: 24 }),
);

/** `defaults` of `endpoint()` / `parseEndpoint()`: missing, shaped, or junk. */
export const defaults: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(undefined) },
  fc.constant({}),
  fc.record({ scheme, weight, priority }, { requiredKeys: [] }),
  fc.anything(),
);

/** What a call did: its result, or the `SwitchyardError` it threw. Anything else thrown fails the test. */
export function outcome<T>(call: () => T): { ok: true; value: T } | { ok: false; error: SwitchyardError } {
  try {
    return { ok: true, value: call() };
  } catch (error) {
    if (!(error instanceof SwitchyardError)) throw error;
    return { ok: false, error };
  }
}

/** Asserts the error is a `SwitchyardError` with one of the stable `codes`. */
export function expectCode(error: SwitchyardError, codes: readonly string[]): void {
  expect(codes).toContain(error.code);
  expect(error.name).toMatch(/Error$/);
  expect(typeof error.message).toBe("string");
}

/**
 * Asserts everything a valid endpoint promises: frozen, normalized host whose
 * id is `endpointId(host, port)`, fields in range, and a string form that
 * reads back as the same endpoint (one grammar for both forms).
 */
export function expectValidEndpoint(e: Endpoint): void {
  expect(Object.isFrozen(e)).toBe(true);
  expect(Object.isFrozen(e.tags)).toBe(true);
  expect(Object.isFrozen(e.metadata)).toBe(true);
  expect(typeof e.host).toBe("string");
  expect(e.id).toBe(endpointId(e.host, e.port));
  expect(Number.isInteger(e.port) && e.port >= 1 && e.port <= 65535).toBe(true);
  expect(Number.isInteger(e.weight) && e.weight >= 0 && e.weight <= 65535 && !Object.is(e.weight, -0)).toBe(true);
  expect(Number.isSafeInteger(e.priority) && e.priority >= 0 && !Object.is(e.priority, -0)).toBe(true);
  expect(e.scheme).toMatch(/^[a-z][a-z0-9+.-]*$/);
  expect(Array.isArray(e.tags) && e.tags.every((t) => typeof t === "string")).toBe(true);
  expect(e.tags.length).toBe(Object.keys(e.tags).length); // no holes
  expect(Object.getPrototypeOf(e.metadata)).toBe(Object.prototype);
  expect(Object.values(e.metadata).every((v) => typeof v === "string")).toBe(true);
  expect(Object.getOwnPropertySymbols(e.metadata)).toEqual([]);
  expect(e.hostname === undefined || typeof e.hostname === "string").toBe(true);
  expect(e.zone === undefined || typeof e.zone === "string").toBe(true);
  const back = parseEndpoint(`${e.scheme}://${e.id}`);
  expect([back.id, back.host, back.port, back.scheme]).toEqual([e.id, e.host, e.port, e.scheme]);
}

/** Fixed seeds, so a failure reproduces; 10,000 inputs per entry point. */
export const RUNS = 10_000;
