import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ActiveHealthChecksOptions } from "../../src/index.js";
import { activeHealthChecks, InvalidConfigError } from "../../src/index.js";
import { expectConfigErrors } from "../helpers/config-errors.js";
import { thrown } from "../helpers/errors.js";

const ON = { healthy: { intervalMs: 1000 } };

describe("activeHealthChecks(): options", () => {
  it("throws InvalidConfigError naming the option path for each bad option", () => {
    expectConfigErrors(
      (o: unknown) => activeHealthChecks(o as ActiveHealthChecksOptions),
      [
        [7, "options"],
        [{}, "healthy.intervalMs"], // Kong's defaults: both intervals 0, nothing would be probed
        [{ healthy: { intervalMs: 0 }, unhealthy: { intervalMs: 0 } }, "healthy.intervalMs"],
        [{ ...ON, name: "" }, "name"],
        [{ ...ON, type: "grpc" }, "type"],
        [{ ...ON, timeoutMs: 0 }, "timeoutMs"],
        [{ ...ON, timeoutMs: Number.NaN }, "timeoutMs"],
        [{ ...ON, concurrency: 0 }, "concurrency"],
        [{ ...ON, concurrency: 1.5 }, "concurrency"],
        [{ ...ON, httpPath: "health" }, "httpPath"],
        [{ ...ON, httpPath: "/a b" }, "httpPath"],
        [{ ...ON, httpPath: "/a\nb" }, "httpPath"],
        [{ ...ON, headers: [] }, "headers"],
        [{ ...ON, headers: { "bad name": "x" } }, "headers.bad name"],
        [{ ...ON, headers: { "x-a": "1\r\nx-b: 2" } }, "headers.x-a"],
        [{ ...ON, headers: { "x-a": [] } }, "headers.x-a"],
        [{ ...ON, headers: { "x-a": [1] } }, "headers.x-a"],
        [{ ...ON, headers: { "X-A": "1", "x-a": "2" } }, "headers.x-a"],
        [{ ...ON, headers: { Connection: "keep-alive" } }, "headers.Connection"],
        [{ ...ON, headers: { host: ["a", "b"] } }, "headers.host"],
        [{ ...ON, httpsVerifyCertificate: "no" }, "httpsVerifyCertificate"],
        [{ ...ON, httpsSni: "" }, "httpsSni"],
        [{ ...ON, httpsSni: "10.0.0.1" }, "httpsSni"],
        [{ ...ON, jitter: -0.1 }, "jitter"],
        [{ ...ON, jitter: 1.5 }, "jitter"],
        [{ ...ON, onHealthChange: "log" }, "onHealthChange"],
        [{ ...ON, onProbe: 1 }, "onProbe"],
        [{ healthy: 5 }, "healthy"],
        [{ healthy: { intervalMs: -1 } }, "healthy.intervalMs"],
        [{ healthy: { intervalMs: 2 ** 31 } }, "healthy.intervalMs"],
        [{ healthy: { intervalMs: 1000, successes: 256 } }, "healthy.successes"],
        [{ healthy: { intervalMs: 1000, successes: -1 } }, "healthy.successes"],
        [{ healthy: { intervalMs: 1000, httpStatuses: 200 } }, "healthy.httpStatuses"],
        [{ healthy: { intervalMs: 1000, httpStatuses: [200, 1000] } }, "healthy.httpStatuses"],
        [{ ...ON, unhealthy: { intervalMs: "1s" } }, "unhealthy.intervalMs"],
        [{ ...ON, unhealthy: { httpFailures: 2.5 } }, "unhealthy.httpFailures"],
        [{ ...ON, unhealthy: { tcpFailures: 300 } }, "unhealthy.tcpFailures"],
        [{ ...ON, unhealthy: { timeouts: true } }, "unhealthy.timeouts"],
        [{ ...ON, unhealthy: { httpStatuses: [99] } }, "unhealthy.httpStatuses"],
        [{ ...ON, unhealthy: { httpStatuses: ["500"] } }, "unhealthy.httpStatuses"],
        // Kong's field names are not ignored in silence.
        [{ ...ON, http_path: "/health" }, "http_path"],
        [{ ...ON, timeout: 1 }, "timeout"],
        [{ healthy: { interval: 5 } }, "healthy.interval"],
        [{ ...ON, unhealthy: { http_failures: 3 } }, "unhealthy.http_failures"],
      ],
    );
  });

  it("names Kong's field and the switchyard option in the message", () => {
    const e = thrown(() => activeHealthChecks({ healthy: { interval: 5 } } as never)) as InvalidConfigError;
    expect(e).toBeInstanceOf(InvalidConfigError);
    expect(e.message).toBe(
      "healthy.interval: is not an option of activeHealthChecks(): did you mean healthy.intervalMs (milliseconds)?",
    );
    const e2 = thrown(() => activeHealthChecks({ ...ON, https_sni: "a" } as never));
    expect(e2.message).toBe("https_sni: is not an option of activeHealthChecks(): did you mean httpsSni?");
    const e3 = thrown(() => activeHealthChecks({ ...ON, unhealthy: { httpStatuses: [500, 42] } }));
    expect(e3.message).toBe("unhealthy.httpStatuses: must hold HTTP statuses (integers 100..999), got 42");
  });

  it("takes Kong's shape: header values as a string or a list; every field at its bounds", () => {
    const plugin = activeHealthChecks({
      type: "tcp",
      timeoutMs: 2 ** 31 - 1,
      concurrency: 65535,
      httpPath: "/health?full=1",
      headers: { "x-a": "1", "x-b": ["2", "3"], Host: "api.test" },
      httpsVerifyCertificate: false,
      httpsSni: "api.test",
      jitter: 1,
      healthy: { intervalMs: 0, successes: 255, httpStatuses: [] },
      unhealthy: { intervalMs: 1, httpFailures: 255, tcpFailures: 0, timeouts: 255, httpStatuses: [100, 999] },
    });
    expect(plugin.name).toBe("active-health");
    expect(activeHealthChecks({ ...ON, name: "probes" }).name).toBe("probes");
  });

  it("fuzz: 5,000 random option objects each make a plug-in or throw InvalidConfigError", () => {
    const maybe = <T>(a: fc.Arbitrary<T>) =>
      fc.oneof({ weight: 12, arbitrary: a }, { weight: 1, arbitrary: fc.anything() });
    const statuses = maybe(fc.array(fc.integer({ min: 98, max: 1000 }), { maxLength: 3 }));
    const threshold = maybe(fc.integer({ min: -1, max: 256 }));
    const healthy = fc.record(
      {
        intervalMs: maybe(fc.double({ min: -1, max: 1e4, noNaN: true })),
        successes: threshold,
        httpStatuses: statuses,
      },
      { requiredKeys: [] },
    );
    const unhealthy = fc.record(
      {
        intervalMs: maybe(fc.double({ min: -1, max: 1e4, noNaN: true })),
        httpFailures: threshold,
        tcpFailures: threshold,
        timeouts: threshold,
        httpStatuses: statuses,
      },
      { requiredKeys: [] },
    );
    const options = fc.record(
      {
        type: maybe(fc.constantFrom("http", "https", "tcp", "grpc")),
        timeoutMs: maybe(fc.double({ min: -1, max: 1e5 })),
        concurrency: maybe(fc.integer({ min: 0, max: 66_000 })),
        httpPath: maybe(fc.constantFrom("/", "/health", "/health?x=1", "/a b")),
        headers: maybe(
          fc.dictionary(fc.constantFrom("x-a", "x-b", "Host", "bad name"), fc.string({ maxLength: 3 }), { maxKeys: 2 }),
        ),
        httpsSni: maybe(fc.constantFrom("api.test", "sni.test", "10.0.0.1")),
        jitter: maybe(fc.double({ min: -0.1, max: 1.1 })),
        healthy: maybe(healthy),
        unhealthy: maybe(unhealthy),
      },
      { requiredKeys: [] },
    );
    let made = 0;
    fc.assert(
      fc.property(fc.oneof({ weight: 9, arbitrary: options }, { weight: 1, arbitrary: fc.anything() }), (o) => {
        try {
          activeHealthChecks(o as never);
          made++;
        } catch (e) {
          expect(e).toBeInstanceOf(InvalidConfigError);
        }
      }),
      { numRuns: 5000, seed: 88 },
    );
    expect(made).toBeGreaterThan(50);
  });
});
