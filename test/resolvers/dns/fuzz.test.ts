/**
 * Fuzz: every DNS entry point that takes user input, 10,000 random inputs
 * each (fixed seeds): `fc.anything()` and shaped near-misses of valid
 * options and records. Every input either works — the resolver is built,
 * answers a stubbed `node:dns` (no network) with valid endpoints, and
 * closes; the mapping yields valid endpoints and lists every record it does
 * not use — or throws a `SwitchyardError` with a stable code naming the
 * option. Never a plain TypeError, never a crash.
 */
import type { Resolver as NodeDnsResolver } from "node:dns/promises";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { DnsResolverOptions, Endpoint, Resolver } from "../../../src/index.js";
import {
  DnsError,
  dnsHostResolver,
  dnsSrvResolver,
  InvalidArgumentError,
  InvalidConfigError,
  SwitchyardError,
} from "../../../src/index.js";
import { srvEndpoints, srvTargets } from "../../../src/resolvers/dns/srv-records.js";
import { ManualClock, seededRandom } from "../../../src/testing/index.js";

const RUNS = 10_000;

/** Anything at all, including what `fc.anything()` leaves out by default. */
const ANY = fc.anything({
  maxDepth: 2,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withSparseArray: true,
  withTypedArray: true,
  stringUnit: "binary",
});

/** Mostly valid values, some near-misses, a little of anything. */
function near<T>(valid: readonly T[], bad: readonly unknown[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 40, arbitrary: fc.constantFrom(...valid) },
    { weight: 3, arbitrary: fc.constantFrom(...bad) },
    { weight: 1, arbitrary: ANY },
  );
}

const bare = () => Object.create(null) as object;
const MS_BAD = [0, -1, Number.NaN, Number.POSITIVE_INFINITY, "1000", null, true, 1e300, bare()];

const SHARED = {
  servers: near(
    ["127.0.0.1:5353", "10.0.0.2", "[::1]:53", "::1", ["10.0.0.1", "[fd00::1]:5353"]],
    ["localhost:53", "127.0.0.1:0", "127.0.0.1:65536", "1.2.3.4:", ":53", "[::1]", "[::1]:x", [], [5], [null], "", " "],
  ),
  refresh: near(["interval", "ttl"], ["TTL", "", 5, null, bare()]),
  intervalMs: near([1, 250, 30_000, 0.5], MS_BAD),
  minTtlMs: near([1, 1_000], MS_BAD),
  maxTtlMs: near([1_000, 300_000, 1e12], MS_BAD),
  jitter: near([0, 0.1, 0.99], [1, -0.1, Number.NaN, "0.1"]),
  timeoutMs: near([1, 2_000, 2 ** 31 - 1], [...MS_BAD, 2 ** 31, 1e10]),
  tries: near([1, 2, 10], [0, 11, 1.5, "2"]),
  retries: near([0, 2, 100], [-1, 101, 2.5, "2"]),
  retryDelayMs: near([0, 1_000], [-1, Number.NaN, "1"]),
  maxRetryDelayMs: near([0, 10_000], [-1, Number.NaN, []]),
  confirmEmpty: near([0, 2, 100], [-1, 1.5, 101]),
  confirmEmptyDelayMs: near([1, 5_000], MS_BAD),
  familyWaitMs: near([0, 500, 1e9], [-1, Number.NaN, "500", Number.POSITIVE_INFINITY]),
  name: near(["custom", "dns:api"], ["", " ", 5, null, bare(), ["x"]]),
  clock: fc.oneof(
    { weight: 12, arbitrary: fc.constant(null).map(() => new ManualClock()) },
    { weight: 1, arbitrary: fc.constantFrom({}, { now: 5 }, { now: () => 0, setTimer: 5 }, 5, null, bare()) },
  ),
  random: fc.oneof(
    { weight: 12, arbitrary: fc.constant(null).map(() => seededRandom(1)) },
    { weight: 1, arbitrary: fc.constantFrom({}, { next: 0.5 }, 5, "random", null) },
  ),
};

const SCHEMES = near(["http", "https", "grpc+tls"], ["ht tp", "HTTP", "", 5, null, bare(), "1http"]);
const FAMILIES = near([0, 4, 6], [5, "4", -4, null, 4.5, bare()]);

const SRV_OPTIONS = fc.record(
  {
    ...SHARED,
    service: near(["http", "_ldap", "api-1", "a".repeat(62)], ["a.b", "", "-x", "_", 5, "a".repeat(64), bare()]),
    protocol: near(["tcp", "udp", "_tcp"], ["t cp", 5, "", null]),
    scheme: SCHEMES,
    resolveTargets: near([true, false], ["yes", 1, 0, null, "false"]),
    family: FAMILIES,
    zeroWeight: near([0, 1, 65_535], [-7, 65_536, 1.5, "1", null]),
    concurrency: near([1, 16, 1_024], [0, 1_025, 1.5, -1]),
  },
  { requiredKeys: [] },
);

const HOST_OPTIONS = fc.record(
  {
    ...SHARED,
    port: near([1, 80, 65_535], [0, 65_536, 80.5, "80", Number.NaN, null, -80]),
    weight: near([0, 100, 65_535], [-1, 65_536, 1.5, "100"]),
    priority: near([0, 5, Number.MAX_SAFE_INTEGER], [-1, 1.5, "0", Number.POSITIVE_INFINITY]),
    scheme: SCHEMES,
    family: FAMILIES,
  },
  { requiredKeys: ["port"] },
);

const NAMES = near(
  ["api.test", "_api._tcp.x.test", "X.TEST.", "a", "a-b.c_d.test", "1.2.3.4", "api.test", "_http._tcp.api.test"],
  [
    "",
    " ",
    ".",
    "a..b",
    "-a.test",
    "a-.test",
    "a b.test",
    "ä.test",
    `${"a".repeat(64)}.t`,
    `${"a.".repeat(127)}a`,
    "a\u0000.test",
    5,
    null,
    undefined,
    bare(),
    ["api.test"],
  ],
);

const SRV_KNOWN = new Set([
  "name",
  "options",
  ...Object.keys(SHARED),
  "service",
  "protocol",
  "scheme",
  "resolveTargets",
  "family",
  "zeroWeight",
  "concurrency",
]);
const HOST_KNOWN = new Set([
  "name",
  "options",
  ...Object.keys(SHARED),
  "port",
  "weight",
  "priority",
  "scheme",
  "family",
]);

/** Asserts `error` is an InvalidConfigError naming a known option: the only failure a factory may have. */
function expectConfigError(error: unknown, known: ReadonlySet<string>): void {
  if (!(error instanceof InvalidConfigError)) throw error; // fast-check reports it with its stack
  expect(error).toBeInstanceOf(SwitchyardError);
  expect(error.code).toBe("ERR_INVALID_CONFIG");
  expect(known.has(error.option), error.option).toBe(true);
  expect(error.message.startsWith(`${error.option}: `)).toBe(true);
}

const SCHEME = /^[a-z][a-z0-9+.-]*$/;

/** Every field of every endpoint is in range, and the id is `host:port` / `[v6]:port`. */
function expectValidEndpoints(endpoints: readonly Endpoint[]): void {
  for (const e of endpoints) {
    expect(typeof e.host === "string" && e.host.length > 0).toBe(true);
    expect(Number.isInteger(e.port) && e.port >= 1 && e.port <= 65_535).toBe(true);
    expect(Number.isInteger(e.weight) && e.weight >= 0 && e.weight <= 65_535).toBe(true);
    expect(Number.isSafeInteger(e.priority) && e.priority >= 0).toBe(true);
    expect(e.id).toBe(e.host.includes(":") ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`);
    expect(SCHEME.test(e.scheme)).toBe(true);
  }
}

const ANSWER = [
  { name: "a.fuzz.test", port: 8001, priority: 0, weight: 5 },
  { name: "b.fuzz.test", port: 8002, priority: 0, weight: 0 },
  { name: "c.fuzz.test", port: 8003, priority: 1, weight: 1 },
  { name: "", port: 80, priority: 0, weight: 0 },
  { name: "bad name", port: 80, priority: 0, weight: 1 },
  { name: "d.fuzz.test", port: 0, priority: 0, weight: 1 },
];

/** Points the resolver's `node:dns` at canned answers: no socket is opened. */
function stubDns(resolver: Resolver): void {
  const dns = (resolver as unknown as { dns: NodeDnsResolver }).dns;
  dns.resolveSrv = async () => ANSWER.map((r) => ({ ...r }));
  dns.resolve4 = (async () => [
    { address: "10.0.0.1", ttl: 5 },
    { address: "10.0.0.2", ttl: 7 },
  ]) as never;
  dns.resolve6 = (async () => [{ address: "fd00::1", ttl: 9 }]) as never;
}

/** Refreshes once against the stub, checks what came out, closes. */
async function exercise(resolver: Resolver & { refresh(): Promise<void> }): Promise<void> {
  const errors: unknown[] = [];
  resolver.on("error", (e) => errors.push(e));
  try {
    expect(typeof resolver.name === "string" && resolver.name.trim() !== "").toBe(true);
    stubDns(resolver);
    await resolver.refresh();
    expect(resolver.endpoints?.length).toBeGreaterThan(0);
    expectValidEndpoints(resolver.endpoints ?? []);
    for (const e of errors) {
      expect(e).toBeInstanceOf(DnsError);
      expect(["ERR_DNS_INVALID_RECORD"]).toContain((e as DnsError).code);
    }
  } finally {
    await resolver.close();
  }
}

describe(`fuzz: ${RUNS.toLocaleString("en")} inputs per DNS entry point`, () => {
  it("dnsSrvResolver(name, options): works (valid endpoints) or throws InvalidConfigError", async () => {
    let worked = 0;
    await fc.assert(
      fc.asyncProperty(
        NAMES,
        fc.oneof({ weight: 1, arbitrary: ANY }, { weight: 6, arbitrary: SRV_OPTIONS }),
        async (name, options) => {
          let resolver: ReturnType<typeof dnsSrvResolver>;
          try {
            resolver = dnsSrvResolver(name as string, options as DnsResolverOptions);
          } catch (error) {
            expectConfigError(error, SRV_KNOWN);
            return;
          }
          worked++;
          await exercise(resolver);
        },
      ),
      { seed: 20_260_601, numRuns: RUNS },
    );
    expect(worked).toBeGreaterThan(RUNS / 10); // not vacuous: many inputs get as far as endpoints
  }, 30_000);

  it("dnsHostResolver(name, options): works (valid endpoints) or throws InvalidConfigError", async () => {
    let worked = 0;
    await fc.assert(
      fc.asyncProperty(
        NAMES,
        fc.oneof({ weight: 1, arbitrary: ANY }, { weight: 6, arbitrary: HOST_OPTIONS }),
        async (name, options) => {
          let resolver: ReturnType<typeof dnsHostResolver>;
          try {
            resolver = dnsHostResolver(name as string, options as never);
          } catch (error) {
            expectConfigError(error, HOST_KNOWN);
            return;
          }
          worked++;
          await exercise(resolver);
        },
      ),
      { seed: 20_260_602, numRuns: RUNS },
    );
    expect(worked).toBeGreaterThan(RUNS / 10); // not vacuous: many inputs get as far as endpoints
  }, 30_000);

  it("srvTargets / srvEndpoints(records, options): valid endpoints and every unused record listed, or a typed error", () => {
    const int = (valid: readonly number[]) =>
      near(valid, [0, -1, 65_536, 1.5, Number.NaN, "80", null, undefined, 1n, Number.POSITIVE_INFINITY]);
    const record = fc.record(
      {
        name: near(
          [".", "", "a.test", "a.test.", "10.0.0.1", "::1", "fd00::1", "A.TEST"],
          ["bad name", "a..b", "-a", "300.1.1.1", "[::1]", 5, null, bare()],
        ),
        port: int([1, 80, 65_535]),
        priority: int([0, 1, 65_535]),
        weight: int([0, 1, 65_535]),
      },
      { requiredKeys: [] },
    );
    const records = fc.oneof(
      { weight: 1, arbitrary: ANY },
      {
        weight: 6,
        arbitrary: fc.array(fc.oneof({ weight: 6, arbitrary: record }, { weight: 1, arbitrary: ANY }), {
          maxLength: 12,
        }),
      },
    );
    const options = fc.oneof(
      { weight: 2, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: ANY },
      {
        weight: 4,
        arbitrary: fc.record(
          { scheme: SCHEMES, zeroWeight: near([0, 1, 65_535], [-7, 65_536, 1.5, "1", null]) },
          { requiredKeys: [] },
        ),
      },
    );
    let worked = 0;
    fc.assert(
      fc.property(records, options, (input, mapping) => {
        let result: ReturnType<typeof srvEndpoints>;
        let targets: ReturnType<typeof srvTargets>;
        try {
          result = srvEndpoints(input as never, mapping as never);
          targets = srvTargets(input as never, mapping as never);
        } catch (error) {
          if (error instanceof InvalidArgumentError) {
            expect(error).toBeInstanceOf(SwitchyardError);
            expect([error.code, error.argument]).toEqual(["ERR_INVALID_ARGUMENT", "records"]);
            expect(Array.isArray(input)).toBe(false);
            return;
          }
          expectConfigError(error, new Set(["options", "scheme", "zeroWeight"]));
          return;
        }
        worked++;
        expect(Array.isArray(input)).toBe(true);
        const list = input as unknown[];
        expectValidEndpoints(result.endpoints);
        for (const d of result.dropped) {
          expect(typeof d.record === "string" && typeof d.reason === "string" && d.reason !== "").toBe(true);
        }
        // Nothing vanishes: each record is an endpoint, a "." (no service), or listed as dropped.
        const dots = list.filter((r) => {
          const name = r !== null && typeof r === "object" ? (r as { name?: unknown }).name : undefined;
          return name === "" || name === ".";
        }).length;
        expect(result.endpoints.length + result.dropped.length + dots).toBe(list.length);
        expect(targets.targets.length).toBe(result.endpoints.length);
        expect(targets.dropped).toEqual(result.dropped);
      }),
      { seed: 20_260_603, numRuns: RUNS },
    );
    expect(worked).toBeGreaterThan(RUNS / 10); // not vacuous: many inputs get as far as endpoints
  }, 30_000);
});
