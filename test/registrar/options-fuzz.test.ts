/**
 * The registrar factories fed random options (fast-check, 10,000 each):
 * whatever they get, they return a registrar or throw an
 * `InvalidConfigError` naming one of their options, never a TypeError.
 * Nothing is started: no request is made.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { consulRegistrar, eurekaRegistrar, InvalidConfigError, kongRegistrar } from "../../src/index.js";

const RUNS = 10_000;
const SHARED = ["options", "name", "headers", "token", "timeoutMs", "fetch", "clock", "random", "retry"];
const RETRY = ["retry.initialMs", "retry.maxMs", "retry.factor", "retry.jitter"];
const CONSUL_SERVICE = ["name", "id", "address", "port", "tags", "meta", "weights"];
const CONSUL = new Set([
  ...SHARED,
  ...RETRY,
  "agents",
  "service",
  ...CONSUL_SERVICE.map((k) => `service.${k}`),
  "service.weights.passing",
  "service.weights.warning",
  "ttlMs",
  "deregisterCriticalAfterMs",
  "namespace",
  "status",
]);
const KONG = new Set([...SHARED, ...RETRY, "adminUrls", "upstream", "target", "weight", "tags", "workspace"]);
const EUREKA_INSTANCE = [
  "instanceId",
  "hostName",
  "ipAddr",
  "port",
  "securePort",
  "vipAddress",
  "secureVipAddress",
  "metadata",
  "homePageUrl",
  "statusPageUrl",
  "healthCheckUrl",
  "dataCenterInfo",
];
const EUREKA = new Set([
  ...SHARED,
  ...RETRY,
  "servers",
  "app",
  "instance",
  ...EUREKA_INSTANCE.map((k) => `instance.${k}`),
  "instance.dataCenterInfo.name",
  "renewalIntervalMs",
  "durationMs",
  "status",
]);

/** A value for an option: mostly plausible, sometimes anything. */
const value = fc.oneof(
  fc.anything(),
  fc.constantFrom(
    "http://127.0.0.1:8500",
    "https://a:b@kong.test:8444/admin",
    "http://x/?q=1",
    "10.0.0.5:8080",
    "[fd00::5]:8080",
    "10.0.0.5",
    "api",
    "",
    "a\nb",
    0,
    1,
    8080,
    70_000,
    60_000,
    1.5,
    -1,
    true,
    null,
  ),
  fc.array(fc.constantFrom("http://127.0.0.1:1", "v1", "", "a,b", 5), { maxLength: 3 }),
  fc.dictionary(fc.constantFrom("authorization", "zone", "bad key", "consul-x"), fc.oneof(fc.string(), fc.anything()), {
    maxKeys: 2,
  }),
);

/** Valid options with up to four keys (nested ones too) replaced by random values. */
function options(valid: Record<string, unknown>, keys: readonly string[]) {
  return fc.oneof(
    { weight: 1, arbitrary: fc.anything() },
    {
      weight: 6,
      arbitrary: fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: 4 }).map((changes) => {
        const o = structuredClone(valid);
        for (const [path, v] of Object.entries(changes)) {
          const [head, tail] = path.split(".") as [string, string | undefined];
          if (tail === undefined) o[head] = v;
          else o[head] = { ...(o[head] as object), [tail]: v };
        }
        return o;
      }),
    },
  );
}

/** `create()` works or throws an InvalidConfigError naming a known option. */
function worksOrConfigError(create: () => unknown, known: ReadonlySet<string>): boolean {
  try {
    create();
    return true;
  } catch (error) {
    if (!(error instanceof InvalidConfigError)) throw error;
    expect(known.has(error.option), error.option).toBe(true);
    expect(error.message.startsWith(`${error.option}: `)).toBe(true);
    return false;
  }
}

describe(`registrar factories: ${RUNS} random options each, a registrar or an InvalidConfigError`, () => {
  it("consulRegistrar(options)", () => {
    let built = 0;
    const valid = { service: { name: "api", address: "10.0.0.5", port: 8080 } };
    const keys = ["agents", "token", "ttlMs", "deregisterCriticalAfterMs", "namespace", "status", "timeoutMs", "name"];
    const arb = options(valid, [...keys, ...CONSUL_SERVICE.map((k) => `service.${k}`), "retry", "headers"]);
    fc.assert(
      fc.property(arb, (o) => {
        if (worksOrConfigError(() => consulRegistrar(o as never), CONSUL)) built++;
      }),
      { numRuns: RUNS, seed: 71 },
    );
    expect(built).toBeGreaterThan(RUNS / 20);
  });

  it("kongRegistrar(options)", () => {
    let built = 0;
    const valid = { upstream: "api", target: "10.0.0.5:8080" };
    const keys = ["adminUrls", "upstream", "target", "weight", "tags", "workspace", "token", "headers", "retry"];
    fc.assert(
      fc.property(options(valid, keys), (o) => {
        if (worksOrConfigError(() => kongRegistrar(o as never), KONG)) built++;
      }),
      { numRuns: RUNS, seed: 72 },
    );
    expect(built).toBeGreaterThan(RUNS / 20);
  });

  it("eurekaRegistrar(options)", () => {
    let built = 0;
    const valid = { app: "api", instance: { hostName: "api-1.internal", ipAddr: "10.0.0.5", port: 8080 } };
    const keys = ["servers", "app", "renewalIntervalMs", "durationMs", "status", "headers", "retry"];
    const arb = options(valid, [...keys, ...EUREKA_INSTANCE.map((k) => `instance.${k}`)]);
    fc.assert(
      fc.property(arb, (o) => {
        if (worksOrConfigError(() => eurekaRegistrar(o as never), EUREKA)) built++;
      }),
      { numRuns: RUNS, seed: 73 },
    );
    expect(built).toBeGreaterThan(RUNS / 20);
  });
});
