/**
 * The etcd parsers, pure functions, on the answers etcd 3.4.23 gave on this
 * machine (test/fixtures/registry/etcd-gateway.json) and on variants of
 * them: base64 keys and values, int64 as strings, fields left out at their
 * zero value, watch messages (PUT without a type, DELETE, progress,
 * compaction, cancel, stream error), instance values.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { RegistryError } from "../../../src/index.js";
import { etcdInstance, readEtcdInstance } from "../../../src/resolvers/registry/etcd-instance.js";
import { parseEtcdRange } from "../../../src/resolvers/registry/etcd-kv.js";
import { parseEtcdWatchMessage } from "../../../src/resolvers/registry/etcd-watch-message.js";
import {
  decodeUtf8,
  encodeText,
  int64,
  isBase64,
  keyAfter,
  prefixRangeEnd,
  showKey,
} from "../../../src/resolvers/registry/etcd-wire.js";
import { readLines } from "../../../src/resolvers/registry/lines.js";
import { thrown } from "../../helpers/errors.js";

const recorded = JSON.parse(
  readFileSync(resolve(import.meta.dirname, "../../fixtures/registry/etcd-gateway.json"), "utf8"),
) as Record<string, unknown>;
const CONTEXT = { resolver: "etcd:/svc/api/", registry: "etcd", url: "http://127.0.0.1:2379/v3/watch", method: "POST" };
const text = (base64: string) => Buffer.from(base64, "base64").toString("utf8");

function bodyError(parse: () => unknown, detail: string): void {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(RegistryError);
    expect([(error as RegistryError).code, (error as RegistryError).detail]).toEqual(["ERR_REGISTRY_BODY", detail]);
    return;
  }
  throw new Error("did not throw");
}

describe("etcd wire encoding", () => {
  it("a prefix's range end: the last byte below 0xff incremented, what follows dropped; all 0xff: every key from it on", () => {
    expect(text(prefixRangeEnd(Buffer.from("/svc/api/")))).toBe("/svc/api0");
    expect([...Buffer.from(prefixRangeEnd(Uint8Array.of(0x61, 0xff, 0xff)), "base64")]).toEqual([0x62]);
    expect([...Buffer.from(prefixRangeEnd(Uint8Array.of(0x61, 0xfe)), "base64")]).toEqual([0x61, 0xff]);
    expect(prefixRangeEnd(Uint8Array.of(0xff, 0xff))).toBe("AA==");
    expect(prefixRangeEnd(new Uint8Array(0))).toBe("AA==");
  });

  it("the key after a key (the next page's start) is the key with a 0 byte appended", () => {
    expect([...Buffer.from(keyAfter(encodeText("/a")), "base64")]).toEqual([0x2f, 0x61, 0]);
  });

  it("int64 fields: decimal strings as sent, safe integers tolerated, absent is undefined, anything else a body error", () => {
    expect(int64("42", "x", CONTEXT)).toBe(42n);
    expect(int64("-1", "x", CONTEXT)).toBe(-1n);
    expect(int64("9223372036854775807", "x", CONTEXT)).toBe(2n ** 63n - 1n);
    expect(int64("4111120342996095752", "ID", CONTEXT)).toBe(4111120342996095752n);
    expect(int64(7, "x", CONTEXT)).toBe(7n);
    expect(int64(undefined, "x", CONTEXT)).toBeUndefined();
    expect(int64(null, "x", CONTEXT)).toBeUndefined();
    bodyError(
      () => int64("9223372036854775808", "header.revision", CONTEXT),
      'header.revision is "9223372036854775808", not an int64',
    );
    bodyError(() => int64("1e3", "x", CONTEXT), 'x is "1e3", not an int64');
    bodyError(() => int64(" 1", "x", CONTEXT), 'x is " 1", not an int64');
    bodyError(() => int64(1.5, "x", CONTEXT), "x is 1.5, not an int64");
    bodyError(() => int64(2 ** 53, "x", CONTEXT), "x is 9007199254740992, not an int64");
    bodyError(() => int64({}, "x", CONTEXT), "x is an object, not an int64");
  });

  it("base64 as the gateway writes it: the standard alphabet with padding", () => {
    expect(["", "eA==", "eDox", "L3N2Yy9hcGkvYQ=="].map(isBase64)).toEqual([true, true, true, true]);
    expect(["eA", "e A=", "eA=x", "-_8=", 1, null].map(isBase64)).toEqual([false, false, false, false, false, false]);
    expect(decodeUtf8(encodeText("héllo"))).toBe("héllo");
    expect(decodeUtf8(Buffer.from([0xc3, 0x28]).toString("base64"))).toBeUndefined();
    expect(showKey(encodeText("/svc/api/a"))).toBe('"/svc/api/a"');
  });
});

describe("parseEtcdRange", () => {
  it("reads recorded answers: an empty range has no kvs and no count", () => {
    expect(parseEtcdRange(recorded["range.empty"], CONTEXT)).toEqual({ revision: 1n, kvs: [], more: false });
    expect(parseEtcdRange(recorded["range.one"], CONTEXT)).toEqual({
      revision: 2n,
      kvs: [{ key: "L3N2Yy9hcGkvYQ==", value: "eyJob3N0IjoiMTI3LjAuMC4xIiwicG9ydCI6ODAwMX0=", modRevision: 2n }],
      more: false,
    });
  });

  it("a value left out is the empty value; more: true says a page follows", () => {
    const body = { header: { revision: "9" }, kvs: [{ key: "eA==", mod_revision: "3" }], more: true, count: "2" };
    expect(parseEtcdRange(body, CONTEXT)).toEqual({
      revision: 9n,
      kvs: [{ key: "eA==", value: "", modRevision: 3n }],
      more: true,
    });
  });

  it("refuses anything else as ERR_REGISTRY_BODY, naming what is wrong", () => {
    bodyError(() => parseEtcdRange([], CONTEXT), "expected a range answer object, got an array");
    bodyError(() => parseEtcdRange({}, CONTEXT), "header is none, not an object");
    bodyError(() => parseEtcdRange({ header: { revision: "x" } }, CONTEXT), 'header.revision is "x", not an int64');
    bodyError(() => parseEtcdRange({ header: {}, kvs: {} }, CONTEXT), "kvs is an object, not an array");
    bodyError(() => parseEtcdRange({ header: {}, kvs: [3] }, CONTEXT), "kvs[0] is 3, not an object");
    bodyError(() => parseEtcdRange({ header: {}, kvs: [{ key: "" }] }, CONTEXT), 'kvs[0].key is "", not a base64 key');
    bodyError(
      () => parseEtcdRange({ header: {}, kvs: [{ key: "eA==", value: "not base64" }] }, CONTEXT),
      'kvs[0].value is "not base64", not base64',
    );
    bodyError(() => parseEtcdRange({ header: {}, more: "yes" }, CONTEXT), 'more is "yes", not a boolean');
  });
});

describe("parseEtcdWatchMessage", () => {
  it("reads every recorded watch line: created, PUT (no type), DELETE, lease expiry, progress", () => {
    expect(parseEtcdWatchMessage(recorded["watch.created"], CONTEXT)).toEqual({ kind: "created", revision: 2n });
    expect(parseEtcdWatchMessage(recorded["watch.put"], CONTEXT)).toEqual({
      kind: "events",
      revision: 2n,
      events: [
        {
          type: "put",
          kv: { key: "L3N2Yy9hcGkvYQ==", value: "eyJob3N0IjoiMTI3LjAuMC4xIiwicG9ydCI6ODAwMX0=", modRevision: 2n },
        },
      ],
    });
    expect(parseEtcdWatchMessage(recorded["watch.put.lease"], CONTEXT)).toEqual({
      kind: "events",
      revision: 3n,
      events: [{ type: "put", kv: { key: "L3N2Yy9hcGkvYg==", value: "eDox", modRevision: 3n } }],
    });
    expect(parseEtcdWatchMessage(recorded["watch.delete"], CONTEXT)).toEqual({
      kind: "events",
      revision: 4n,
      events: [{ type: "delete", kv: { key: "L3N2Yy9hcGkvYQ==", value: "", modRevision: 4n } }],
    });
    expect(parseEtcdWatchMessage(recorded["watch.delete.lease-expired"], CONTEXT)).toEqual({
      kind: "events",
      revision: 5n,
      events: [{ type: "delete", kv: { key: "L3N2Yy9hcGkvYg==", value: "", modRevision: 5n } }],
    });
    expect(parseEtcdWatchMessage(recorded["watch.progress"], CONTEXT)).toEqual({ kind: "progress", revision: 5n });
  });

  it("a compacted start revision (whose header has no revision); a cancel with its reason", () => {
    expect(parseEtcdWatchMessage(recorded["watch.compacted"], CONTEXT)).toEqual({
      kind: "compacted",
      compactRevision: 4n,
    });
    expect(parseEtcdWatchMessage(recorded["watch.canceled.auth"], CONTEXT)).toEqual({
      kind: "canceled",
      reason: "rpc error: code = Unauthenticated desc = etcdserver: invalid auth token",
    });
    expect(parseEtcdWatchMessage({ result: { header: {}, canceled: true } }, CONTEXT)).toEqual({
      kind: "canceled",
      reason: "canceled by etcd",
    });
  });

  it("a stream error (etcd stopping) is ERR_REGISTRY_CONNECT, retried like a lost connection", () => {
    const error = thrown(() => parseEtcdWatchMessage(recorded["watch.error.stopping"], CONTEXT)) as RegistryError;
    expect(error).toBeInstanceOf(RegistryError);
    expect([error.code, error.retryable, error.message]).toEqual([
      "ERR_REGISTRY_CONNECT",
      true,
      "etcd:/svc/api/: POST http://127.0.0.1:2379/v3/watch: the watch stream failed: transport is closing",
    ]);
  });

  it("refuses what is not a watch message", () => {
    bodyError(() => parseEtcdWatchMessage([], CONTEXT), "watch message is an array, not an object");
    bodyError(() => parseEtcdWatchMessage({}, CONTEXT), "watch message result is none, not an object");
    bodyError(
      () => parseEtcdWatchMessage({ result: { header: {}, events: {} } }, CONTEXT),
      "events is an object, not an array",
    );
    bodyError(
      () => parseEtcdWatchMessage({ result: { header: {}, events: [1] } }, CONTEXT),
      "events[0] is 1, not an object",
    );
    bodyError(
      () =>
        parseEtcdWatchMessage({ result: { header: {}, events: [{ type: "PATCH", kv: { key: "eA==" } }] } }, CONTEXT),
      'events[0].type is "PATCH"',
    );
    bodyError(
      () => parseEtcdWatchMessage({ result: { header: {}, events: [{ kv: {} }] } }, CONTEXT),
      "events[0].kv.key is none, not a base64 key",
    );
    bodyError(
      () => parseEtcdWatchMessage({ result: { header: {}, compact_revision: "x" } }, CONTEXT),
      'compact_revision is "x", not an int64',
    );
  });
});

describe("etcdInstance (the value format)", () => {
  it("a JSON object: host and port required; weight, priority, scheme, zone, tags, metadata; other fields ignored", () => {
    expect(
      etcdInstance(
        '{"host":"10.0.0.1","port":8080,"weight":50,"priority":1,"zone":"a","tags":["v2"],"metadata":{"v":"2.1"},"id":"x"}',
        "http",
      ),
    ).toEqual({
      id: "10.0.0.1:8080",
      host: "10.0.0.1",
      port: 8080,
      weight: 50,
      priority: 1,
      scheme: "http",
      zone: "a",
      tags: ["v2"],
      metadata: { v: "2.1" },
    });
    expect(etcdInstance(' {"host":"a.test","port":443,"scheme":"HTTPS"}\n', "http")).toMatchObject({
      id: "a.test:443",
      scheme: "https",
      weight: 100,
    });
  });

  it("an address as parseEndpoint reads it, bare or as a JSON string; the resolver's scheme by default", () => {
    expect(etcdInstance("10.0.0.1:8080", "https")).toMatchObject({ id: "10.0.0.1:8080", scheme: "https" });
    expect(etcdInstance('"[fd00::1]:80"', "http")).toMatchObject({ id: "[fd00::1]:80", host: "fd00::1" });
    expect(etcdInstance("http://a.test:81", "https")).toMatchObject({ id: "a.test:81", scheme: "http" });
  });

  it("a value that is not an instance: the reason, never another error", () => {
    const reason = (value: string) => {
      const read = readEtcdInstance(Buffer.from(value).toString("base64"), "http");
      return "reason" in read ? read.reason : read.endpoint.id;
    };
    expect(reason("")).toBe("the value is empty");
    expect(reason("  ")).toBe("the value is empty");
    // V8's own words follow (Node 22 adds "(line 1 column 2)"): only their start is the same everywhere.
    expect(reason("{oops")).toMatch(
      /^the value is not JSON \(Expected property name or '\}' in JSON at position 1[ )]/,
    );
    expect(reason("[1]")).toBe('invalid host "[1]": brackets are for IPv6 addresses only');
    expect(reason("true")).toBe('the value "true" has no port: write "host:port" or a JSON object');
    expect(reason('"a.test"')).toBe('the value "a.test" has no port: write "host:port" or a JSON object');
    expect(reason("null")).toBe('the value "null" has no port: write "host:port" or a JSON object');
    expect(reason('{"host":"10.0.0.1","port":0}')).toBe("port must be an integer in 1..65535, got 0");
    expect(reason('{"host":"10.0.0.1","port":"80"}')).toBe('port must be an integer in 1..65535, got "80"');
    expect(reason('{"port":80}')).toBe("endpoint needs a host, got undefined");
    expect(reason('{"host":"10.0.0.1","port":80,"weight":70000}')).toBe(
      "weight must be an integer in 0..65535, got 70000",
    );
    expect(reason('{"host":"10.0.0.1","port":80,"tags":"v2"}')).toBe("tags must be an array of strings");
    expect(reason("1.2.3.4:99999")).toBe("port must be an integer in 1..65535, got 99999");
    const notUtf8 = readEtcdInstance(Buffer.from([0xff, 0xfe]).toString("base64"), "http");
    expect(notUtf8).toEqual({ reason: "the value is not UTF-8" });
  });
});

describe("readLines (streams of one JSON message per line)", () => {
  const streamOf = (chunks: readonly string[]) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (const c of chunks) controller.enqueue(new TextEncoder().encode(c));
        controller.close();
      },
    });
  const linesOf = async (chunks: readonly string[], max = 100, stopAt?: string) => {
    const out: string[] = [];
    await readLines(streamOf(chunks), max, (line) => {
      const s = Buffer.from(line).toString();
      out.push(s);
      return s !== stopAt;
    });
    return out;
  };

  it("splits lines across and within chunks; skips blank lines; a last line without a newline counts", async () => {
    expect(await linesOf(['{"a":1}\n{"b"', ':2}\n\n  \r\n{"c"', ":3}"])).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
    expect(await linesOf(["a", "b", "c\nd\n"])).toEqual(["abc", "d"]);
  });

  it("stops when onLine returns false", async () => {
    expect(await linesOf(["1\n2\n3\n"], 100, "2")).toEqual(["1", "2"]);
  });

  it("a line over the cap fails, whether it arrives in one chunk or many", async () => {
    await expect(linesOf(["x".repeat(101)], 100)).rejects.toThrow("a streamed message is over maxBodyBytes (100)");
    await expect(linesOf(["x".repeat(60), `${"x".repeat(60)}\n`], 100)).rejects.toThrow("over maxBodyBytes");
    expect(await linesOf([`${"x".repeat(100)}\n`], 100)).toEqual(["x".repeat(100)]);
  });
});
