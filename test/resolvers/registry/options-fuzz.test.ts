/**
 * The registry factories fed random arguments (fast-check, 10,000 each):
 * any value at all gets a resolver or an `InvalidConfigError` naming one of
 * the factory's options, never a TypeError. Nothing is started: no request
 * is made. Also the `Watchdog` the stall detection is built on.
 */
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import {
  consulResolver,
  eurekaResolver,
  InvalidConfigError,
  jsonResolver,
  kongResolver,
  kubernetesResolver,
} from "../../../src/index.js";
import { Watchdog } from "../../../src/resolvers/registry/watchdog.js";
import { ManualClock } from "../../../src/testing/index.js";

const RUNS = 10_000;
const SHARED = [
  "options",
  "name",
  "headers",
  "token",
  "timeoutMs",
  "maxBodyBytes",
  "fetch",
  "signal",
  "scheme",
  "intervalMs",
  "jitter",
  "retries",
  "retryDelayMs",
  "maxRetryDelayMs",
  "confirmEmpty",
  "confirmEmptyDelayMs",
  "clock",
  "random",
];
const CONSUL = new Set([
  ...SHARED,
  "service",
  "address",
  "passing",
  "tag",
  "datacenter",
  "namespace",
  "blocking",
  "waitMs",
  "stallFactor",
  "minIntervalMs",
]);
const KONG = new Set([...SHARED, "upstream", "url", "workspace", "health", "pageSize"]);
const JSON_KNOWN = new Set([...SHARED, "url", "map"]);
const EUREKA = new Set([...SHARED, "app", "servers", "host", "preferSecure"]);
const KUBERNETES = new Set([
  ...SHARED,
  "service",
  "namespace",
  "port",
  "condition",
  "addressType",
  "apiServer",
  "tokenFile",
  "ca",
  "caFile",
  "serviceAccountDir",
  "bookmarkIntervalMs",
  "stallFactor",
  "watchTimeoutMs",
  "minIntervalMs",
  "minListIntervalMs",
]);

/** A value for an option: mostly plausible, sometimes anything. */
const value = fc.oneof(
  fc.anything(),
  fc.constantFrom(
    "http://127.0.0.1:8500",
    "https://a:b@kong.test:8444/admin",
    "http://x/?q=1",
    "ftp://x",
    "",
    "v2",
    "a\nb",
    0,
    1,
    -1,
    1.5,
    600_001,
    true,
    null,
  ),
  fc.array(fc.constantFrom("http://127.0.0.1:1", "v1", "", 5), { maxLength: 3 }),
  fc.dictionary(
    fc.constantFrom("authorization", "x-key", "bad header", "accept"),
    fc.oneof(fc.string(), fc.anything()),
    {
      maxKeys: 2,
    },
  ),
);
const options = (keys: readonly string[]) =>
  fc.oneof(
    fc.anything(),
    fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: 4 }),
    fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: 4 }).map((o) => ({ ...o, map: (b: unknown) => b })),
  );

/** `create()` works (the resolver is closed again) or throws an InvalidConfigError naming a known option. */
function worksOrConfigError(create: () => { close(): Promise<void> }, known: ReadonlySet<string>): boolean {
  try {
    void create().close();
    return true;
  } catch (error) {
    if (!(error instanceof InvalidConfigError)) throw error;
    expect(known.has(error.option), error.option).toBe(true);
    expect(error.message.startsWith(`${error.option}: `)).toBe(true);
    return false;
  }
}

describe(`registry factories: ${RUNS} random arguments each, a resolver or an InvalidConfigError`, () => {
  it("consulResolver(service, options)", () => {
    let built = 0;
    fc.assert(
      fc.property(fc.oneof(fc.constant("api"), value), options([...CONSUL]), (service, o) => {
        if (worksOrConfigError(() => consulResolver(service as string, o as never), CONSUL)) built++;
      }),
      { numRuns: RUNS, seed: 61 },
    );
    expect(built).toBeGreaterThan(RUNS / 40); // arrays and other non-objects are refused as options
  });

  it("kongResolver(upstream, options)", () => {
    let built = 0;
    fc.assert(
      fc.property(fc.oneof(fc.constant("api"), value), options([...KONG]), (upstream, o) => {
        if (worksOrConfigError(() => kongResolver(upstream as string, o as never), KONG)) built++;
      }),
      { numRuns: RUNS, seed: 62 },
    );
    expect(built).toBeGreaterThan(RUNS / 40); // arrays and other non-objects are refused as options
  });

  it("jsonResolver(url, options)", () => {
    let built = 0;
    fc.assert(
      fc.property(
        fc.oneof(fc.constant("http://127.0.0.1:8080/nodes?x=1"), value),
        options([...JSON_KNOWN]),
        (url, o) => {
          if (worksOrConfigError(() => jsonResolver(url as string, o as never), JSON_KNOWN)) built++;
        },
      ),
      { numRuns: RUNS, seed: 63 },
    );
    expect(built).toBeGreaterThan(RUNS / 40); // arrays and other non-objects are refused as options
  });

  it("eurekaResolver(app, options)", () => {
    let built = 0;
    fc.assert(
      fc.property(fc.oneof(fc.constant("API"), value), options([...EUREKA]), (app, o) => {
        if (worksOrConfigError(() => eurekaResolver(app as string, o as never), EUREKA)) built++;
      }),
      { numRuns: RUNS, seed: 64 },
    );
    expect(built).toBeGreaterThan(RUNS / 20);
  });

  it("kubernetesResolver(service, options) (outside a cluster: apiServer mostly given)", () => {
    vi.stubEnv("KUBERNETES_SERVICE_HOST", "");
    let built = 0;
    try {
      fc.assert(
        fc.property(
          fc.oneof(fc.constant("api"), value),
          options([...KUBERNETES]).map((o) =>
            typeof o === "object" &&
            o !== null &&
            !Array.isArray(o) &&
            Math.abs(JSON.stringify(o)?.length ?? 0) % 4 !== 0
              ? { apiServer: "http://127.0.0.1:6443", serviceAccountDir: "/nonexistent", ...o }
              : o,
          ),
          (service, o) => {
            if (worksOrConfigError(() => kubernetesResolver(service as string, o as never), KUBERNETES)) built++;
          },
        ),
        { numRuns: RUNS, seed: 65 },
      );
    } finally {
      vi.unstubAllEnvs();
    }
    expect(built).toBeGreaterThan(RUNS / 20);
  });
});

describe("Watchdog", () => {
  it("fires once after ms of silence; feed() starts the silence over; cancel() disarms it", () => {
    const clock = new ManualClock();
    let fired = 0;
    const dog = new Watchdog(clock, 1_000, () => fired++);
    clock.advance(999);
    dog.feed();
    clock.advance(999);
    expect([fired, dog.expired]).toEqual([0, false]);
    clock.advance(1);
    expect([fired, dog.expired]).toEqual([1, true]);
    dog.feed(); // too late: it does not re-arm
    clock.advance(5_000);
    expect(fired).toBe(1);
    const quiet = new Watchdog(clock, 10, () => fired++);
    quiet.cancel();
    quiet.feed();
    clock.advance(100);
    expect([fired, quiet.expired, clock.pendingTimers]).toEqual([1, false, 0]);
  });
});
