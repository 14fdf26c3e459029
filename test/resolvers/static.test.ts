import { describe, expect, it, vi } from "vitest";
import { InvalidEndpointError, staticResolver } from "../../src/index.js";

describe("staticResolver()", () => {
  it("KrakenD sd static: host[] with sd_scheme", () => {
    const resolver = staticResolver(["my-service-01.api.com:9000", "http://my-service-02.api.com:9000"], {
      scheme: "https",
    });
    const seen = vi.fn();
    resolver.on("endpoints", seen);
    resolver.start();
    expect(seen).toHaveBeenCalledTimes(1);
    expect(resolver.endpoints?.map((e) => [e.id, e.scheme])).toEqual([
      ["my-service-01.api.com:9000", "https"],
      ["my-service-02.api.com:9000", "http"],
    ]);
  });

  it("set() before start() takes effect at start; after start it publishes only real changes", () => {
    const resolver = staticResolver(["a:1"]);
    const seen = vi.fn();
    resolver.on("endpoints", seen);
    resolver.set(["b:1"]);
    expect(seen).not.toHaveBeenCalled();
    resolver.start();
    expect(resolver.endpoints?.map((e) => e.id)).toEqual(["b:1"]);
    resolver.set(["b:1"]);
    expect(seen).toHaveBeenCalledTimes(1);
    resolver.set(["b:1", { host: "c", port: 1, weight: 5 }]);
    expect(seen).toHaveBeenCalledTimes(2);
  });

  it("bad input throws InvalidEndpointError and keeps the current list", () => {
    const resolver = staticResolver(["a:1"]);
    resolver.start();
    expect(() => resolver.set(["b:1", "http://:80"])).toThrow(InvalidEndpointError);
    expect(() => resolver.set([{ host: "b", port: 1, weight: 70000 }])).toThrow(/weight/);
    expect(() => resolver.set("a:1" as never)).toThrow(TypeError);
    expect(resolver.endpoints?.map((e) => e.id)).toEqual(["a:1"]);
    expect(() => staticResolver(["a:99999"])).toThrow(InvalidEndpointError);
  });

  it("merges duplicate ids deterministically: lowest priority, then highest weight", () => {
    const resolver = staticResolver([
      { host: "a", port: 1, weight: 5, priority: 1 },
      { host: "a", port: 1, weight: 1, priority: 0 },
      { host: "a", port: 1, weight: 9, priority: 0 },
    ]);
    resolver.start();
    expect(resolver.endpoints?.map((e) => [e.id, e.priority, e.weight])).toEqual([["a:1", 0, 9]]);
  });

  it("emits nothing after close()", async () => {
    const resolver = staticResolver(["a:1"]);
    await resolver.close();
    resolver.start();
    expect(resolver.endpoints).toBeUndefined();
    expect(resolver.closed).toBe(true);
  });
});
