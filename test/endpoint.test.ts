import { describe, expect, it } from "vitest";
import { sameEndpoint } from "../src/endpoint.js";
import { endpoint, endpointId, InvalidArgumentError, InvalidEndpointError, parseEndpoint } from "../src/index.js";
import { thrown } from "./helpers/errors.js";

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

  it("copies metadata's own string keys only, __proto__ included", () => {
    const metadata = JSON.parse('{"__proto__":"x","k":"v"}') as Record<string, string>;
    const e = endpoint({ host: "a", port: 1, metadata: { ...metadata, [Symbol("s") as never]: 5 } });
    expect(Object.keys(e.metadata)).toEqual(["__proto__", "k"]);
    expect(Object.getOwnPropertySymbols(e.metadata)).toEqual([]);
    expect(Object.getPrototypeOf(e.metadata)).toBe(Object.prototype);
  });

  it("a weight or priority of -0 is stored as 0", () => {
    const e = endpoint({ host: "a", port: 1, weight: -0, priority: -0 });
    expect(Object.is(e.weight, 0)).toBe(true);
    expect(Object.is(e.priority, 0)).toBe(true);
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
    // biome-ignore lint/suspicious/noSparseArray: a hole in tags is the input under test
    [{ host: "a", port: 80, tags: [, "v1"] }, /tags must be an array of strings/],
    [{ host: "a", port: 80, metadata: ["v1"] }, /metadata must be an object of string values/],
    [{ host: "a", port: 80, metadata: new Map([["k", "v"]]) }, /metadata must be an object of string values/],
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
    ["http://", /has no host/],
    ["http://a.test/path", /without path/],
    ["http://a.test?x=1", /without path/],
    ["http://user:pw@a.test:80", /credentials/],
    ["grpc://a.test", /no port and scheme "grpc" has no default/],
    ["http://a.test:70000", /port must be an integer in 1..65535, got 70000/],
    ["http://a.test:0", /port must be an integer in 1..65535, got 0/],
  ])("rejects %j", (text, message) => {
    expect(() => parseEndpoint(text)).toThrow(InvalidEndpointError);
    expect(() => parseEndpoint(text)).toThrow(message);
  });

  it("an error names the string as given in `input`", () => {
    const error = thrown(() => parseEndpoint("http://a.test:0")) as InvalidEndpointError;
    expect(error.input).toBe("http://a.test:0");
  });
});

describe("one host grammar for strings and objects", () => {
  // Each of these was rewritten by the WHATWG URL parser in the string form
  // (10.1 -> 10.0.0.1, 2130706433 -> 127.0.0.1, %41 -> A, tab dropped, "@host"
  // read as empty credentials, 0x7f.1 -> 127.0.0.1, IDN -> punycode) while the
  // object form rejected or kept them: now both reject.
  it.each([
    ["10.1", /invalid IPv4 address "10.1"/],
    ["2130706433", /invalid IPv4 address "2130706433"/],
    ["0x7f.1", /invalid IPv4 address "0x7f.1"/],
    ["0x7f000001", /invalid IPv4 address "0x7f000001"/],
    ["010.0.0.1", /invalid IPv4 address "010.0.0.1"/],
    ["api.1", /invalid hostname "api.1": its last label is a number/],
    ["ex%41mple.com", /invalid hostname "ex%41mple.com"/],
    ["a\tb.example", /invalid hostname/],
    ["bücher.example", /invalid hostname "bücher.example".*punycode/],
    ["a..b", /invalid hostname/],
    ["-a.example", /invalid hostname/],
  ])("rejects host %j in both forms", (host, message) => {
    const fromObject = thrown(() => endpoint({ host, port: 80 }));
    const fromString = thrown(() => parseEndpoint(`${host}:80`));
    const fromUrl = thrown(() => parseEndpoint(`http://${host}:80`));
    for (const error of [fromObject, fromString, fromUrl]) {
      expect(error).toBeInstanceOf(InvalidEndpointError);
      expect(error.message).toMatch(message);
    }
  });

  it.each([
    ["@host:80", /credentials/],
    ["http://@host:80", /credentials/],
    ["a.test:", /port must be an integer in 1..65535, got ""/],
    ["a.test: 80", /port must be an integer in 1..65535, got " 80"/],
    ["a.test:0x50", /port must be an integer in 1..65535, got "0x50"/],
    ["a.test:80:90", /more than one ":".*brackets/],
    ["::1:80", /more than one ":".*brackets/],
    ["[::1", /"\[" without "\]"/],
    ["[::1]x", /after "\]"/],
    ["a b.test:80", /invalid hostname "a b.test"/],
    ["a.test :80", /invalid hostname "a.test "/],
    ["a.test\\:80", /invalid hostname/],
    ["http://a.test#x", /without path, query or fragment/],
  ])("rejects the string %j", (text, message) => {
    const error = thrown(() => parseEndpoint(text));
    expect(error).toBeInstanceOf(InvalidEndpointError);
    expect(error.message).toMatch(message);
  });

  it("brackets are for IPv6 only, in both forms", () => {
    expect(thrown(() => endpoint({ host: "[10.0.0.1]", port: 80 })).message).toMatch(/brackets are for IPv6/);
    expect(thrown(() => endpoint({ host: "[a.test]", port: 80 })).message).toMatch(/brackets are for IPv6/);
    expect(thrown(() => parseEndpoint("[10.0.0.1]:80")).message).toMatch(/brackets are for IPv6/);
  });

  it("rejects IPv6 zone ids with a message that says so, in both forms", () => {
    for (const fn of [
      () => endpoint({ host: "fe80::1%eth0", port: 80 }),
      () => endpoint({ host: "[fe80::1%25eth0]", port: 80 }),
      () => parseEndpoint("[fe80::1%eth0]:80"),
      () => parseEndpoint("http://[fe80::1%25eth0]:80"),
    ]) {
      const error = thrown(fn);
      expect(error).toBeInstanceOf(InvalidEndpointError);
      expect(error.message).toMatch(/IPv6 zone ids \(%eth0\) are not supported/);
    }
  });

  it("rejects characters the URL parser would strip from an IPv6 address", () => {
    expect(thrown(() => endpoint({ host: "::\t1", port: 80 })).message).toMatch(/invalid IPv6 address/);
    expect(thrown(() => parseEndpoint("[::\n1]:80")).message).toMatch(/invalid IPv6 address/);
  });

  it("surrounding whitespace: trimmed around a string, rejected around an object's host", () => {
    expect(parseEndpoint(" \ta.test:80\n").id).toBe("a.test:80");
    expect(thrown(() => endpoint({ host: " a.test", port: 80 })).message).toMatch(/invalid hostname " a.test"/);
  });

  it.each([
    ["A.Example.TEST.", "a.example.test"],
    ["10.0.0.1", "10.0.0.1"],
    ["[0:0:0:0:0:0:0:1]", "::1"],
    ["::FFFF:10.0.0.1", "::ffff:a00:1"],
    ["_svc.example", "_svc.example"],
    ["3com.example", "3com.example"],
    ["localhost", "localhost"],
  ])("accepts %j the same way in both forms", (host, normalized) => {
    const fromObject = endpoint({ host, port: 80 });
    const text = host.includes(":") && !host.startsWith("[") ? `[${host}]:80` : `${host}:80`;
    expect(fromObject.host).toBe(normalized);
    expect(parseEndpoint(text)).toEqual(fromObject);
  });

  it("the scheme is case-insensitive in both forms and kept lower-case", () => {
    expect(endpoint({ host: "a", port: 1, scheme: "HTTPS" }).scheme).toBe("https");
    expect(parseEndpoint("HTTPS://a:1").scheme).toBe("https");
  });

  it("defaults that are not an object, or hold a bad value, throw InvalidArgumentError", () => {
    for (const [defaults, argument] of [
      [null, "defaults"],
      [5, "defaults"],
      [{ scheme: "h t" }, "defaults.scheme"],
      [{ weight: -1 }, "defaults.weight"],
      [{ priority: 1.5 }, "defaults.priority"],
    ] as const) {
      for (const fn of [
        () => endpoint({ host: "a", port: 1 }, defaults as never),
        () => parseEndpoint("a:1", defaults as never),
      ]) {
        const error = thrown(fn);
        expect(error).toBeInstanceOf(InvalidArgumentError);
        expect((error as InvalidArgumentError).argument).toBe(argument);
      }
    }
    // An unknown default scheme is not a key of Object.prototype either.
    expect(thrown(() => parseEndpoint("a", { scheme: "constructor" })).message).toMatch(
      /scheme "constructor" has no default/,
    );
  });
});

describe("endpointId()", () => {
  it("gives the id endpoint() would give", () => {
    expect(endpointId("Api.Test.", 80)).toBe("api.test:80");
    expect(endpointId("[0::1]", 80)).toBe("[::1]:80");
    expect(endpointId("10.0.0.1", 65535)).toBe("10.0.0.1:65535");
  });

  it.each([
    [123, 80, /needs a host/],
    ["a b", 80, /invalid hostname/],
    ["10.1", 80, /invalid IPv4/],
    ["a", 0, /port must be an integer in 1..65535/],
    ["a", "80", /port must be an integer in 1..65535/],
  ])("rejects %j, %j with InvalidEndpointError", (host, port, message) => {
    const error = thrown(() => endpointId(host as never, port as never));
    expect(error).toBeInstanceOf(InvalidEndpointError);
    expect(error.message).toMatch(message);
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
