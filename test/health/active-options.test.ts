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
});
