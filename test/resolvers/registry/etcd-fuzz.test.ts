/**
 * Property tests of the etcd parsers (fast-check, 10,000 inputs each): any
 * JSON value, and values close to the gateway's shapes with random fields,
 * so the deep paths are reached. A parser returns what it documents or
 * throws a `RegistryError` with its documented code: nothing else. Also the
 * wire rules: a prefix's range end covers exactly the keys under it, and a
 * stream cut into any chunks reads as the same lines; and the factories:
 * random options give a resolver or registrar, or an `InvalidConfigError`
 * naming one of their options (nothing is started).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { etcdRegistrar, etcdResolver, InvalidConfigError, RegistryError } from "../../../src/index.js";
import { readEtcdInstance } from "../../../src/resolvers/registry/etcd-instance.js";
import { parseEtcdRange } from "../../../src/resolvers/registry/etcd-kv.js";
import { parseEtcdWatchMessage } from "../../../src/resolvers/registry/etcd-watch-message.js";
import { int64, keyAfter, prefixRangeEnd } from "../../../src/resolvers/registry/etcd-wire.js";
import { readLines } from "../../../src/resolvers/registry/lines.js";

const RUNS = 10_000;
const CONTEXT = { resolver: "fuzz", registry: "etcd", url: "http://127.0.0.1:1/v3/watch", method: "POST" };
const SCHEME = /^[a-z][a-z0-9+.-]*$/;

function typed<T>(parse: () => T, codes: readonly string[]): T | undefined {
  try {
    return parse();
  } catch (error) {
    if (error instanceof RegistryError && codes.includes(error.code)) return undefined;
    throw error;
  }
}

const any = fc.jsonValue({ maxDepth: 3 });
const mostly = <T, U>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<U>) =>
  fc.oneof({ arbitrary: good, weight: 5 }, { arbitrary: bad, weight: 1 });
const base64 = fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b).toString("base64"));
const int64Text = mostly(
  fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }).map(String),
  fc.oneof(fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }).map(String), fc.string({ maxLength: 4 }), any),
);
const header = mostly(fc.record({ revision: int64Text, raft_term: int64Text }, { requiredKeys: [] }), any);
const kv = mostly(
  fc.record(
    {
      key: mostly(base64, fc.oneof(fc.string({ maxLength: 6 }), any)),
      value: mostly(base64, fc.oneof(fc.string({ maxLength: 6 }), any)),
      mod_revision: int64Text,
      create_revision: int64Text,
      lease: int64Text,
    },
    { requiredKeys: ["key"] },
  ),
  any,
);
const rangeBody = mostly(
  fc.record(
    { header, kvs: mostly(fc.array(kv, { maxLength: 4 }), any), more: mostly(fc.boolean(), any), count: int64Text },
    { requiredKeys: ["header"] },
  ),
  any,
);
const watchResult = fc.record(
  {
    header,
    created: mostly(fc.boolean(), any),
    canceled: mostly(fc.boolean(), any),
    cancel_reason: fc.oneof(fc.string({ maxLength: 20 }), any),
    compact_revision: mostly(fc.constantFrom("0", "4", "99"), int64Text),
    events: mostly(
      fc.array(
        mostly(fc.record({ type: mostly(fc.constantFrom("PUT", "DELETE"), any), kv }, { requiredKeys: ["kv"] }), any),
        { maxLength: 3 },
      ),
      any,
    ),
  },
  { requiredKeys: [] },
);
const watchLine = mostly(
  fc.oneof(
    { arbitrary: fc.record({ result: mostly(watchResult, any) }), weight: 5 },
    { arbitrary: fc.record({ error: mostly(fc.record({ message: fc.string(), grpc_code: any }), any) }), weight: 1 },
  ),
  any,
);

const host = fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain(), fc.constantFrom("a.test", "bad host", "", "[::1]"), any);
const portValue = mostly(fc.integer({ min: 1, max: 65_535 }), fc.oneof(fc.integer({ min: -2, max: 70_000 }), any));
const instanceJson = fc.record(
  {
    host,
    port: portValue,
    weight: mostly(fc.integer({ min: 0, max: 65_535 }), any),
    priority: mostly(fc.nat(10), any),
    scheme: mostly(fc.constantFrom("http", "https", "HTTPS"), any),
    zone: mostly(fc.string({ maxLength: 5 }), any),
    tags: mostly(fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }), any),
    metadata: mostly(fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }), any),
    extra: any,
  },
  { requiredKeys: [] },
);
const valueText = fc.oneof(
  instanceJson.map((o) => JSON.stringify(o)),
  fc.tuple(host, portValue).map(([h, p]) => `${typeof h === "string" ? h : JSON.stringify(h)}:${JSON.stringify(p)}`),
  fc.tuple(fc.ipV4(), fc.integer({ min: 1, max: 65_535 })).map(([h, p]) => JSON.stringify(`${h}:${p}`)),
  any.map((v) => JSON.stringify(v) ?? ""),
  fc.string({ maxLength: 30 }),
);
const valueBase64 = fc.oneof(
  { arbitrary: valueText.map((t) => Buffer.from(t, "utf8").toString("base64")), weight: 9 },
  { arbitrary: fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b).toString("base64")), weight: 1 },
);

describe("etcd parsers, random JSON", () => {
  it(`parseEtcdRange: a page of valid key-values, or ERR_REGISTRY_BODY (${RUNS} inputs)`, () => {
    let reached = 0;
    fc.assert(
      fc.property(rangeBody, (body) => {
        const page = typed(() => parseEtcdRange(body, CONTEXT), ["ERR_REGISTRY_BODY"]);
        if (page === undefined) return;
        expect(typeof page.revision).toBe("bigint");
        expect(typeof page.more).toBe("boolean");
        for (const k of page.kvs) {
          expect(k.key.length > 0 && typeof k.value === "string" && typeof k.modRevision === "bigint").toBe(true);
        }
        if (page.kvs.length > 0) reached++;
      }),
      { numRuns: RUNS, seed: 6060 },
    );
    expect(reached).toBeGreaterThan(RUNS / 20);
  });

  it(`parseEtcdWatchMessage: a message of a documented kind, or ERR_REGISTRY_BODY / ERR_REGISTRY_CONNECT (${RUNS} inputs)`, () => {
    const kinds = new Set<string>();
    fc.assert(
      fc.property(watchLine, (line) => {
        const message = typed(
          () => parseEtcdWatchMessage(line, CONTEXT),
          ["ERR_REGISTRY_BODY", "ERR_REGISTRY_CONNECT"],
        );
        if (message === undefined) return;
        kinds.add(message.kind);
        if (message.kind === "events") {
          expect(message.events.length).toBeGreaterThan(0);
          for (const e of message.events) expect(e.type === "put" || e.type === "delete").toBe(true);
        }
        if (message.kind === "compacted") expect(message.compactRevision > 0n).toBe(true);
        if (message.kind === "canceled") expect(message.reason.length).toBeGreaterThan(0);
      }),
      { numRuns: RUNS, seed: 7070 },
    );
    expect([...kinds].sort()).toEqual(["canceled", "compacted", "created", "events", "progress"]);
  });

  it(`readEtcdInstance: a valid endpoint or a reason, never a throw (${RUNS} inputs)`, () => {
    const reached = { endpoint: 0, reason: 0 };
    fc.assert(
      fc.property(valueBase64, fc.constantFrom("http", "https"), (value, scheme) => {
        const read = readEtcdInstance(value, scheme);
        if ("reason" in read) {
          expect(typeof read.reason === "string" && read.reason.length > 0).toBe(true);
          reached.reason++;
          return;
        }
        const e = read.endpoint;
        expect(typeof e.host === "string" && e.host.length > 0).toBe(true);
        expect(Number.isInteger(e.port) && e.port >= 1 && e.port <= 65_535).toBe(true);
        expect(Number.isInteger(e.weight) && e.weight >= 0 && e.weight <= 65_535).toBe(true);
        expect(SCHEME.test(e.scheme)).toBe(true);
        expect(Object.isFrozen(e)).toBe(true);
        reached.endpoint++;
      }),
      { numRuns: RUNS, seed: 8080 },
    );
    expect(reached.endpoint).toBeGreaterThan(RUNS / 20);
    expect(reached.reason).toBeGreaterThan(RUNS / 20);
  });

  it(`int64: a bigint in the int64 range, undefined, or ERR_REGISTRY_BODY (${RUNS} inputs)`, () => {
    fc.assert(
      fc.property(fc.oneof(int64Text, fc.double(), fc.integer()), (value) => {
        const n = typed(() => int64(value, "x", CONTEXT), ["ERR_REGISTRY_BODY"]);
        if (n !== undefined) expect(n >= -(2n ** 63n) && n <= 2n ** 63n - 1n).toBe(true);
      }),
      { numRuns: RUNS, seed: 9090 },
    );
  });
});

describe("etcd wire rules, random bytes", () => {
  it(`a prefix's range end covers exactly the keys that start with it (${RUNS} inputs)`, () => {
    const bytes = fc.uint8Array({ maxLength: 6 }).map((b) => Buffer.from(b));
    const edgy = fc.array(fc.constantFrom(0, 1, 0xfe, 0xff), { maxLength: 5 }).map((b) => Buffer.from(b));
    fc.assert(
      fc.property(fc.oneof(bytes, edgy), fc.oneof(bytes, edgy), (prefix, key) => {
        const end = Buffer.from(prefixRangeEnd(prefix), "base64");
        const all = end.length === 1 && end[0] === 0;
        const inRange = Buffer.compare(key, prefix) >= 0 && (all || Buffer.compare(key, end) < 0);
        const starts = key.subarray(0, prefix.length).equals(prefix);
        // Every key under the prefix is in the range; a prefix of 0xff bytes ranges to the end of the keyspace.
        if (starts) expect(inRange).toBe(true);
        else if (!all) expect(inRange).toBe(false);
        const after = Buffer.from(keyAfter(key.toString("base64")), "base64");
        expect(Buffer.compare(after, key)).toBe(1);
      }),
      { numRuns: RUNS, seed: 1111 },
    );
  });

  it(`readLines: a stream cut into any chunks reads as the same lines (${RUNS / 10} inputs)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.string({ maxLength: 12 }).map((s) => s.replace(/\n/g, "")),
          { maxLength: 6 },
        ),
        fc.array(fc.nat(40), { maxLength: 8 }),
        async (lines, cuts) => {
          const whole = Buffer.from(lines.map((l) => `${l}\n`).join(""));
          const points = [...new Set(cuts.map((c) => Math.min(c, whole.length)))].sort((a, b) => a - b);
          const chunks: Uint8Array[] = [];
          let from = 0;
          for (const p of [...points, whole.length]) {
            chunks.push(whole.subarray(from, p));
            from = p;
          }
          const stream = new ReadableStream<Uint8Array>({
            start(controller) {
              for (const c of chunks) if (c.length > 0) controller.enqueue(c);
              controller.close();
            },
          });
          const out: string[] = [];
          await readLines(stream, 1_000, (line) => {
            out.push(Buffer.from(line).toString());
            return true;
          });
          expect(out).toEqual(lines.filter((l) => !/^[ \t\r]*$/.test(l)));
        },
      ),
      { numRuns: RUNS / 10, seed: 1212 },
    );
  });
});

const SHARED = [
  "options",
  "name",
  "headers",
  "timeoutMs",
  "fetch",
  "clock",
  "random",
  "endpoints",
  "username",
  "password",
];
const RESOLVER = new Set([
  ...SHARED,
  "prefix",
  "maxBodyBytes",
  "signal",
  "scheme",
  "intervalMs",
  "jitter",
  "retries",
  "retryDelayMs",
  "maxRetryDelayMs",
  "confirmEmpty",
  "confirmEmptyDelayMs",
  "pageSize",
  "progressIntervalMs",
  "stallFactor",
  "minIntervalMs",
]);
const REGISTRAR = new Set([
  ...SHARED,
  "key",
  "value",
  "ttlSeconds",
  "retry",
  "retry.initialMs",
  "retry.maxMs",
  "retry.factor",
  "retry.jitter",
]);
const optionValue = fc.oneof(
  fc.anything(),
  fc.constantFrom(
    "http://127.0.0.1:2379",
    "https://u:p@etcd.test:2379",
    "ftp://x",
    "",
    "/svc/api/",
    "10.0.0.7:8080",
    0,
    1,
    -1,
    1.5,
    2.5,
    86_401,
    true,
    null,
  ),
  fc.constantFrom({ host: "10.0.0.7", port: 8080 }, { host: "10.0.0.7" }, { initialMs: 0 }, { initialMs: 10 }),
  fc.array(fc.constantFrom("http://127.0.0.1:1", "", 5), { maxLength: 3 }),
);
const optionsOf = (keys: readonly string[]) =>
  fc.oneof(fc.anything(), fc.dictionary(fc.constantFrom(...keys), optionValue, { maxKeys: 5 }));

/** `create()` works (closed again at once) or throws an InvalidConfigError naming a known option. */
function worksOrConfigError(create: () => { close(): Promise<void> }, known: ReadonlySet<string>): boolean {
  try {
    void create().close();
    return true;
  } catch (error) {
    if (!(error instanceof InvalidConfigError)) throw error;
    expect(known.has(error.option), error.option).toBe(true);
    return false;
  }
}

describe(`etcd factories: ${RUNS} random arguments each, a resolver or registrar, or an InvalidConfigError`, () => {
  it("etcdResolver(prefix, options)", () => {
    let built = 0;
    fc.assert(
      fc.property(fc.oneof(fc.constant("/svc/api/"), optionValue), optionsOf([...RESOLVER]), (prefix, o) => {
        if (worksOrConfigError(() => etcdResolver(prefix as string, o as never), RESOLVER)) built++;
      }),
      { numRuns: RUNS, seed: 1313 },
    );
    expect(built).toBeGreaterThan(RUNS / 20);
  });

  it("etcdRegistrar(options)", () => {
    let built = 0;
    const base = fc.record({ key: fc.constant("/svc/api/a"), value: fc.constant("10.0.0.7:8080") });
    fc.assert(
      fc.property(
        fc.oneof(
          optionsOf([...REGISTRAR]),
          fc.tuple(base, optionsOf([...REGISTRAR])).map(([b, o]) => ({ ...b, ...(o as object) })),
        ),
        (o) => {
          if (worksOrConfigError(() => etcdRegistrar(o as never), REGISTRAR)) built++;
        },
      ),
      { numRuns: RUNS, seed: 1414 },
    );
    expect(built).toBeGreaterThan(RUNS / 20);
  });
});
