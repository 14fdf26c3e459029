import { describe, expect, it, vi } from "vitest";
import {
  InvalidArgumentError,
  InvalidConfigError,
  InvalidEndpointError,
  type StaticResolver,
  staticResolver,
} from "../../src/index.js";
import { thrown } from "../helpers/errors.js";

/** `[id, weight]` of every published endpoint. */
function weights(resolver: StaticResolver): [string, number][] | undefined {
  return resolver.endpoints?.map((e) => [e.id, e.weight]);
}

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
    expect(() => resolver.set("a:1" as never)).toThrow(InvalidArgumentError);
    expect(resolver.endpoints?.map((e) => e.id)).toEqual(["a:1"]);
    expect(() => staticResolver(["a:99999"])).toThrow(InvalidEndpointError);
  });

  it("a list that is not an array throws InvalidArgumentError, from the factory and from set()", () => {
    for (const bad of ["a:1", undefined, null, 5, { 0: "a:1", length: 1 }, new Set(["a:1"])]) {
      const created = thrown(() => staticResolver(bad as never));
      expect(created).toBeInstanceOf(InvalidArgumentError);
      expect((created as InvalidArgumentError).code).toBe("ERR_INVALID_ARGUMENT");
      expect((created as InvalidArgumentError).argument).toBe("hosts");
      expect(created.message).toMatch(/hosts: must be an array/);
      const resolver = staticResolver(["a:1"]);
      resolver.start();
      expect(thrown(() => resolver.set(bad as never))).toBeInstanceOf(InvalidArgumentError);
      expect(resolver.endpoints?.map((e) => e.id)).toEqual(["a:1"]);
    }
  });

  it("a hole, undefined or null entry throws InvalidEndpointError naming its index, and set() keeps the list", () => {
    // biome-ignore lint/suspicious/noSparseArray: the sparse array is the input under test
    const sparse = [, "a:1"];
    for (const [hosts, index] of [
      [sparse, 0],
      [["a:1", undefined], 1],
      [["a:1", "b:1", null], 2],
    ] as const) {
      const created = thrown(() => staticResolver(hosts as never));
      expect(created).toBeInstanceOf(InvalidEndpointError);
      expect(created.message).toMatch(new RegExp(`^hosts\\[${index}\\]: endpoint must be a string or an object`));
      const resolver = staticResolver(["c:1"]);
      resolver.start();
      const error = thrown(() => resolver.set(hosts as never));
      expect(error).toBeInstanceOf(InvalidEndpointError);
      expect(error.message).toMatch(`hosts[${index}]`);
      expect(resolver.endpoints?.map((e) => e.id)).toEqual(["c:1"]);
    }
  });

  it("every entry's error names its index and keeps the entry as `input`", () => {
    const entry = { host: "b", port: 1, weight: 70000 };
    const error = thrown(() => staticResolver(["a:1", entry])) as InvalidEndpointError;
    expect(error.message).toMatch(/^hosts\[1\]: weight must be an integer in 0..65535, got 70000/);
    expect(error.input).toBe(entry);
  });

  it("a failed set() before start() keeps the pending list", () => {
    const resolver = staticResolver(["a:1"]);
    expect(() => resolver.set(["b:1", "c:0"])).toThrow(InvalidEndpointError);
    expect(() => resolver.set(["http://b:1", "https://b:1"])).toThrow(InvalidEndpointError);
    resolver.start();
    expect(resolver.endpoints?.map((e) => e.id)).toEqual(["a:1"]);
  });

  it("the same host:port with two schemes is an error naming both entries, never a silent loss", () => {
    const error = thrown(() => staticResolver(["http://a:80", "b:80", "https://a:80"])) as InvalidEndpointError;
    expect(error).toBeInstanceOf(InvalidEndpointError);
    expect(error.message).toBe(
      'hosts[0] ("http://a:80") and hosts[2] ("https://a:80") are both endpoint a:80 but differ in scheme ("http" and "https"); entries with the same id are one endpoint and may differ only in weight (their weights add up)',
    );
    expect(error.input).toEqual(["http://a:80", "https://a:80"]);
    // sd_scheme applies to entries without a scheme: "a:80" is https here, so it clashes with http://a:80.
    expect(() => staticResolver(["a:80", "http://a:80"], { scheme: "https" })).toThrow(/differ in scheme/);
    const resolver = staticResolver(["http://a:80"]);
    resolver.start();
    expect(() => resolver.set(["http://a:80", "https://a:80"])).toThrow(InvalidEndpointError);
    expect(resolver.endpoints?.map((e) => [e.id, e.scheme])).toEqual([["a:80", "http"]]);
  });

  it("duplicates add their weights: a host listed twice takes twice the share (KrakenD habit)", () => {
    const resolver = staticResolver(["a:1", "a:1", "b:1"]);
    resolver.start();
    expect(weights(resolver)).toEqual([
      ["a:1", 200],
      ["b:1", 100],
    ]);
    resolver.set(["A:1", { host: "a", port: 1, weight: 5 }, "http://a:1/", { host: "b", port: 1, weight: 0 }]);
    expect(weights(resolver)).toEqual([
      ["a:1", 205],
      ["b:1", 0],
    ]);
  });

  it("duplicates that differ in anything but weight are an error naming the field", () => {
    for (const [other, field] of [
      [{ priority: 1 }, /differ in priority \(0 and 1\)/],
      [{ zone: "z" }, /differ in zone \(undefined and "z"\)/],
      [{ hostname: "x.test" }, /differ in hostname/],
      [{ tags: ["v2"] }, /differ in tags/],
      [{ metadata: { k: "v" } }, /differ in metadata/],
      [{ scheme: "https" }, /differ in scheme/],
    ] as const) {
      const second = { host: "a", port: 1, ...other };
      const error = thrown(() => staticResolver(["a:1", second])) as InvalidEndpointError;
      expect(error).toBeInstanceOf(InvalidEndpointError);
      expect(error.message).toMatch(field);
      expect(error.message).toMatch(/^hosts\[0\] \("a:1"\) and hosts\[1\] are both endpoint a:1/);
      expect(error.input).toEqual(["a:1", second]);
    }
    // Equal tags and metadata in separate objects are the same endpoint.
    const resolver = staticResolver([
      { host: "a", port: 1, tags: ["v"], metadata: { k: "v" } },
      { host: "a", port: 1, tags: ["v"], metadata: { k: "v" }, weight: 1 },
    ]);
    resolver.start();
    expect(weights(resolver)).toEqual([["a:1", 101]]);
  });

  it("duplicates whose weights add up above 65535 are an error, not a silent cap", () => {
    const error = thrown(() =>
      staticResolver([{ host: "a", port: 1, weight: 40000 }, "b:1", { host: "a", port: 1, weight: 30000 }]),
    );
    expect(error).toBeInstanceOf(InvalidEndpointError);
    expect(error.message).toMatch(/hosts\[2\]: the weights of endpoint a:1 add up to 70000, above 65535/);
    const resolver = staticResolver([
      { host: "a", port: 1, weight: 40000 },
      { host: "a", port: 1, weight: 25535 },
    ]);
    resolver.start();
    expect(weights(resolver)).toEqual([["a:1", 65535]]);
  });

  it("bad options throw InvalidConfigError", () => {
    for (const [options, option] of [
      [null, "options"],
      ["https", "options"],
      [{ scheme: "h t" }, "scheme"],
      [{ scheme: 5 }, "scheme"],
      [{ name: "" }, "name"],
      [{ name: 5 }, "name"],
    ] as const) {
      // Checked even when there is no host to apply the scheme to yet.
      const error = thrown(() => staticResolver([], options as never));
      expect(error).toBeInstanceOf(InvalidConfigError);
      expect((error as InvalidConfigError).option).toBe(option);
    }
    expect(staticResolver(["a:1"], { scheme: "HTTPS", name: "api" })).toMatchObject({ name: "api" });
    const upper = staticResolver(["a:1"], { scheme: "HTTPS" });
    upper.start();
    expect(upper.endpoints?.[0]?.scheme).toBe("https");
  });

  it("emits nothing after close()", async () => {
    const resolver = staticResolver(["a:1"]);
    await resolver.close();
    resolver.start();
    expect(resolver.endpoints).toBeUndefined();
    expect(resolver.closed).toBe(true);
  });
});
