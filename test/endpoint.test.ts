import { describe, expect, it } from "vitest";
import { sameEndpoint } from "../src/endpoint.js";
import { endpoint, endpointId, InvalidEndpointError, parseEndpoint } from "../src/index.js";

describe("endpoint()", () => {
  it("fills Kong's defaults: weight 100, priority 0, scheme http", () => {
    const e = endpoint({ host: "10.0.0.1", port: 8080 });
    expect(e).toEqual({
      id: "10.0.0.1:8080",
      host: "10.0.0.1",
      port: 8080,
      weight: 100,
      priority: 0,
      scheme: "http",
      tags: [],
      metadata: {},
    });
    expect(Object.isFrozen(e)).toBe(true);
    expect(Object.isFrozen(e.tags)).toBe(true);
  });

  it("keeps zone, tags, metadata and hostname, copying them", () => {
    const tags = ["v2"];
    const e = endpoint({
      host: "Api.Internal.",
      port: 443,
      scheme: "https",
      weight: 0,
      priority: 2,
      zone: "eu-1a",
      tags,
      metadata: { version: "2.1.0" },
      hostname: "api.example.test",
    });
    tags.push("mutated");
    expect(e.id).toBe("api.internal:443");
    expect(e.tags).toEqual(["v2"]);
    expect(e).toMatchObject({ weight: 0, priority: 2, zone: "eu-1a", hostname: "api.example.test" });
  });

  it("brackets IPv6 ids and canonicalizes the address", () => {
    const e = endpoint({ host: "[0:0:0:0:0:0:0:1]", port: 80 });
    expect(e.host).toBe("::1");
    expect(e.id).toBe("[::1]:80");
    expect(endpointId("fe80::1", 9)).toBe("[fe80::1]:9");
  });

  it.each([
    [{ host: "", port: 80 }, /needs a host/],
    [{ port: 80 }, /needs a host/],
    [{ host: "a b", port: 80 }, /invalid hostname/],
    [{ host: "300.1.1.1", port: 80 }, /invalid IPv4/],
    [{ host: "::zz", port: 80 }, /invalid IPv6/],
    [{ host: "a", port: 0 }, /port must be an integer in 1..65535, got 0/],
    [{ host: "a", port: 65536 }, /port must be an integer in 1..65535/],
    [{ host: "a", port: 8.5 }, /port must be an integer/],
    [{ host: "a", port: "80" }, /port must be an integer in 1..65535, got "80"/],
    [{ host: "a", port: 80, weight: -1 }, /weight must be an integer in 0..65535, got -1/],
    [{ host: "a", port: 80, weight: 1.5 }, /weight must be an integer/],
    [{ host: "a", port: 80, weight: 65536 }, /weight must be an integer in 0..65535/],
    [{ host: "a", port: 80, priority: -1 }, /priority must be an integer >= 0/],
    [{ host: "a", port: 80, scheme: "ht tp" }, /invalid scheme/],
    [{ host: "a", port: 80, tags: "v1" }, /tags must be an array of strings/],
    [{ host: "a", port: 80, metadata: { v: 1 } }, /metadata must be an object of string values/],
    [null, /must be a string or an object/],
  ])("rejects %j with a typed error", (input, message) => {
    let error: unknown;
    try {
      endpoint(input as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidEndpointError);
    expect((error as InvalidEndpointError).code).toBe("ERR_INVALID_ENDPOINT");
    expect((error as InvalidEndpointError).input).toBe(input);
    expect((error as Error).message).toMatch(message);
  });
});

describe("parseEndpoint()", () => {
  it.each([
    ["http://10.0.0.1:8080", { id: "10.0.0.1:8080", scheme: "http", port: 8080 }],
    ["https://api.test", { id: "api.test:443", scheme: "https", port: 443 }],
    ["http://api.test", { id: "api.test:80", scheme: "http", port: 80 }],
    ["http://api.test:80/", { id: "api.test:80", port: 80 }],
    ["HTTPS://API.test:8443", { id: "api.test:8443", scheme: "https" }],
    ["api.test:9000", { id: "api.test:9000", scheme: "http" }],
    ["[::1]:8080", { id: "[::1]:8080", host: "::1" }],
    ["http://[::1]", { id: "[::1]:80" }],
    ["  10.0.0.2:81 ", { id: "10.0.0.2:81" }],
  ])("parses %s", (text, expected) => {
    expect(parseEndpoint(text)).toMatchObject(expected);
  });

  it("uses the default scheme for bare host:port", () => {
    expect(parseEndpoint("a.test:1", { scheme: "https" }).scheme).toBe("https");
    expect(parseEndpoint("a.test", { scheme: "https" }).port).toBe(443);
  });

  it.each([
    ["", /non-empty/],
    ["http://", /cannot parse/],
    ["http://a.test/path", /without path/],
    ["http://a.test?x=1", /without path/],
    ["http://user:pw@a.test:80", /credentials/],
    ["grpc://a.test", /no port and scheme "grpc" has no default/],
    ["http://a.test:70000", /cannot parse/],
    ["http://a.test:0", /port must be an integer in 1..65535, got 0/],
  ])("rejects %j", (text, message) => {
    expect(() => parseEndpoint(text)).toThrow(InvalidEndpointError);
    expect(() => parseEndpoint(text)).toThrow(message);
  });
});

describe("sameEndpoint()", () => {
  const base = endpoint({ host: "a", port: 1, tags: ["x"], metadata: { k: "v" } });
  it("compares every field", () => {
    expect(sameEndpoint(base, endpoint({ host: "a", port: 1, tags: ["x"], metadata: { k: "v" } }))).toBe(true);
    expect(sameEndpoint(base, endpoint({ host: "a", port: 1, weight: 5, tags: ["x"], metadata: { k: "v" } }))).toBe(
      false,
    );
    expect(sameEndpoint(base, endpoint({ host: "a", port: 1, tags: ["y"], metadata: { k: "v" } }))).toBe(false);
    expect(sameEndpoint(base, endpoint({ host: "a", port: 1, tags: ["x"], metadata: { k: "w" } }))).toBe(false);
    expect(sameEndpoint(base, endpoint({ host: "a", port: 1, tags: ["x"], metadata: { k: "v", j: "v" } }))).toBe(false);
    expect(sameEndpoint(base, endpoint({ host: "a", port: 1, tags: ["x"], metadata: { k: "v" }, zone: "z" }))).toBe(
      false,
    );
  });
});
