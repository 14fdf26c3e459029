/**
 * The HTTP layer every registry resolver shares (src/resolvers/registry/http.ts),
 * through the resolvers, against loopback HTTP(S) servers on 127.0.0.1
 * (test/helpers/registry-server.ts) that misbehave on demand: hangs, 5xx,
 * 4xx, connections cut before or during the body, bodies that are too
 * large, not JSON, or compressed past the cap, redirects, a certificate
 * Node does not trust. Consul and Kong cannot run here; the server plays
 * their documented APIs. Deadlines run on a ManualClock; sockets are real.
 */
import { readFileSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import { inspect } from "node:util";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { JsonResolverOptions, RegistryError, Resolver } from "../../../src/index.js";
import { consulResolver, createUpstream, type JsonResolver, jsonResolver } from "../../../src/index.js";
import { ManualClock, seededRandom } from "../../../src/testing/index.js";
import { until } from "../../helpers/dns-server.js";
import { closedPort, consulEntry, json, RegistryServer } from "../../helpers/registry-server.js";

let server: RegistryServer;
let clock: ManualClock;
const open: Resolver[] = [];
const NODES = [
  { host: "10.0.0.1", port: 8080 },
  { host: "10.0.0.2", port: 8080 },
];

beforeEach(async () => {
  server = await RegistryServer.start();
  clock = new ManualClock();
  server.routes.set("/nodes", (_req, res) => json(res, 200, NODES));
});

afterEach(async () => {
  for (const r of open.splice(0)) await r.close();
  await server.close();
});

function resolver(options: Partial<JsonResolverOptions> = {}, url = `${server.url}/nodes`): JsonResolver {
  const r = jsonResolver(url, {
    map: (body) => body as never,
    clock,
    random: seededRandom(1),
    jitter: 0,
    retries: 0,
    ...options,
  });
  open.push(r);
  return r;
}

/** Starts `r`, waits for its first good answer, and records its errors from then on. */
async function started(r: Resolver & { whenIdle(): Promise<void> }): Promise<RegistryError[]> {
  const errors: RegistryError[] = [];
  r.on("error", (e) => errors.push(e as RegistryError));
  r.start();
  await r.whenIdle();
  expect(r.endpoints).toHaveLength(2);
  return errors;
}

describe("registry HTTP layer", () => {
  it("a registry that hangs is ERR_REGISTRY_TIMEOUT at timeoutMs on the injected clock, and the request is aborted", async () => {
    const r = resolver({ timeoutMs: 2_000 });
    const errors = await started(r);
    server.faults.push({ hang: true });
    const refresh = r.refresh();
    await until(() => server.held === 1);
    clock.advance(1_999);
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors).toEqual([]);
    clock.advance(1);
    await refresh;
    expect(errors.map((e) => [e.code, e.message])).toEqual([
      [
        "ERR_REGISTRY_TIMEOUT",
        `json:${server.url.slice(7)}/nodes: GET ${server.url}/nodes: no complete answer within 2000 ms`,
      ],
    ]);
    expect(errors[0]?.retryable).toBe(true);
    await until(() => server.held === 0);
    expect(r.endpoints).toHaveLength(2);
  });

  it("HTTP 500 is retried with backoff on the clock, then reported with its status and the registry's words", async () => {
    const r = resolver({ retries: 2, retryDelayMs: 1_000 });
    const errors = await started(r);
    // Every timer the resolver sets: request deadlines (timeoutMs, 10 s) and backoff sleeps.
    const delays: number[] = [];
    const setTimer = clock.setTimer.bind(clock);
    clock.setTimer = (callback, ms) => {
      delays.push(ms);
      return setTimer(callback, ms);
    };
    for (let i = 0; i < 3; i++) server.faults.push({ status: 500, body: "rpc error: No cluster leader" });
    const refresh = r.refresh();
    await until(() => delays.includes(1_000));
    clock.advance(999);
    expect(server.requests).toHaveLength(2);
    clock.advance(1);
    await until(() => delays.includes(2_000));
    expect(server.requests).toHaveLength(3);
    clock.advance(1_999);
    await new Promise((resolve) => setImmediate(resolve));
    expect(server.requests).toHaveLength(3);
    clock.advance(1);
    await refresh;
    expect(server.requests).toHaveLength(4);
    expect(delays).toEqual([10_000, 1_000, 10_000, 2_000, 10_000, 30_000]);
    expect(errors.map((e) => [e.code, e.status, e.detail])).toEqual([
      ["ERR_REGISTRY_HTTP", 500, "HTTP 500 Internal Server Error: rpc error: No cluster leader"],
    ]);
    expect(r.endpoints).toHaveLength(2);
  });

  it("401, 403 and 404 are answers, not retried", async () => {
    const r = resolver({ retries: 3 });
    const errors = await started(r);
    for (const status of [401, 403, 404]) {
      server.faults.push({ status, body: '{"message":"no"}' });
      await r.refresh();
    }
    expect(errors.map((e) => [e.code, e.status, e.retryable])).toEqual([
      ["ERR_REGISTRY_HTTP", 401, false],
      ["ERR_REGISTRY_HTTP", 403, false],
      ["ERR_REGISTRY_HTTP", 404, false],
    ]);
    expect(server.requests).toHaveLength(4);
  });

  it("a connection cut before the headers or in the middle of the body is ERR_REGISTRY_CONNECT", async () => {
    const r = resolver();
    const errors = await started(r);
    server.faults.push({ destroy: "before-headers" });
    await r.refresh();
    server.faults.push({ destroy: "mid-body" });
    await r.refresh();
    expect(errors.map((e) => e.code)).toEqual(["ERR_REGISTRY_CONNECT", "ERR_REGISTRY_CONNECT"]);
    expect(errors[0]?.detail).toMatch(/^connection failed: /);
    const port = await closedPort();
    const refused = resolver({}, `http://127.0.0.1:${port}/nodes`);
    const refusedErrors: RegistryError[] = [];
    refused.on("error", (e) => refusedErrors.push(e as RegistryError));
    refused.start();
    await refused.whenIdle();
    expect(refusedErrors.map((e) => [e.code, e.detail])).toEqual([
      ["ERR_REGISTRY_CONNECT", `connection failed: connect ECONNREFUSED 127.0.0.1:${port} (ECONNREFUSED)`],
    ]);
  });

  it("a body over maxBodyBytes is refused: by Content-Length before reading, by count while reading, and counted decoded when compressed", async () => {
    const r = resolver({ maxBodyBytes: 100_000 });
    const errors = await started(r);
    const big = JSON.stringify(
      Array.from({ length: 5_000 }, (_, i) => ({ host: `10.0.${i >> 8}.${i & 255}`, port: 80 })),
    );
    server.faults.push({ status: 200, body: big }); // with Content-Length
    await r.refresh();
    server.faults.push({
      handle: (_req, res) => {
        res.writeHead(200, { "content-type": "application/json" }); // chunked: no Content-Length
        res.write(big.slice(0, 60_000));
        setImmediate(() => res.end(big.slice(60_000)));
      },
    });
    await r.refresh();
    const zipped = gzipSync(Buffer.from(`[${" ".repeat(2_000_000)}]`));
    server.faults.push({
      handle: (_req, res) => {
        res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" });
        res.end(zipped);
      },
    });
    await r.refresh();
    expect(zipped.length).toBeLessThan(100_000);
    expect(errors.map((e) => e.code)).toEqual(Array(3).fill("ERR_REGISTRY_TOO_LARGE"));
    expect(errors[0]?.detail).toBe(`body of ${big.length} bytes is over maxBodyBytes (100000)`);
    expect(errors[1]?.detail).toMatch(/^body is over maxBodyBytes \(100000\): \d+ bytes read so far$/);
    expect(r.endpoints).toHaveLength(2);
  });

  it("a body that is not JSON, not UTF-8 or empty is ERR_REGISTRY_BODY", async () => {
    const r = resolver();
    const errors = await started(r);
    server.faults.push({ status: 200, body: '[{"host":"10.0.0.1","port":80' }); // truncated
    await r.refresh();
    server.faults.push({ handle: (_req, res) => res.end(Buffer.from([0x5b, 0x22, 0xff, 0xfe, 0x22, 0x5d])) });
    await r.refresh();
    server.faults.push({ status: 200, body: "" });
    await r.refresh();
    server.faults.push({ status: 200, body: "<html>502 Bad Gateway</html>" });
    await r.refresh();
    expect(errors.map((e) => e.code)).toEqual(Array(4).fill("ERR_REGISTRY_BODY"));
    expect(errors[0]?.detail).toMatch(/^body of 29 bytes is not JSON \(/);
    expect(errors[1]?.detail).toBe("body of 6 bytes is not UTF-8");
    expect(r.endpoints).toHaveLength(2);
  });

  it("a redirect is not followed: ERR_REGISTRY_HTTP, and the credentials never reach the other origin", async () => {
    const other = await RegistryServer.start();
    try {
      server.faults.push({ status: 302, headers: { location: `${other.url}/nodes?token=abc` } });
      const r = resolver({ headers: { authorization: "Bearer redirect-secret" } });
      const errors: RegistryError[] = [];
      r.on("error", (e) => errors.push(e as RegistryError));
      r.start();
      await r.whenIdle();
      expect(errors.map((e) => [e.code, e.status, e.detail])).toEqual([
        ["ERR_REGISTRY_HTTP", 302, `HTTP 302 Found: redirect to ${other.url}/nodes?token=redacted not followed`],
      ]);
      expect(other.requests).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it("https verifies the certificate: a registry with a certificate Node does not trust is refused", async () => {
    const fixture = (name: string) => readFileSync(new URL(`../../fixtures/registry/${name}`, import.meta.url));
    const tls = createHttpsServer(
      { key: fixture("self-signed-key.pem"), cert: fixture("self-signed-cert.pem") },
      (_req, res) => json(res, 200, NODES),
    );
    await new Promise<void>((resolve) => tls.listen(0, "127.0.0.1", resolve));
    try {
      const port = (tls.address() as { port: number }).port;
      const r = resolver({}, `https://127.0.0.1:${port}/nodes`);
      const errors: RegistryError[] = [];
      r.on("error", (e) => errors.push(e as RegistryError));
      r.start();
      await r.whenIdle();
      expect(errors.map((e) => e.code)).toEqual(["ERR_REGISTRY_CONNECT"]);
      expect(errors[0]?.detail).toMatch(/self[- ]signed certificate/);
      expect(r.endpoints).toBeUndefined();
      await r.close();
    } finally {
      tls.closeAllConnections();
      await new Promise<void>((resolve) => tls.close(() => resolve()));
    }
  });

  it("fails over: a 5xx from one base URL is retried on the next, which is then kept", async () => {
    const other = await RegistryServer.start();
    try {
      other.routes.set("/nodes", (_req, res) => json(res, 200, NODES));
      server.faults.push({ status: 503, body: "draining" });
      const r = resolver({ retries: 1, retryDelayMs: 0 }, [`${server.url}/nodes`, `${other.url}/nodes`] as never);
      r.start();
      await r.whenIdle();
      expect(r.endpoints).toHaveLength(2);
      expect(r.url).toBe(`${other.url}/nodes`);
      await r.refresh();
      expect([server.requests.length, other.requests.length]).toEqual([1, 2]);
      await r.close();
    } finally {
      await other.close();
    }
  });

  it("credentials appear in no error, event, snapshot or inspection, whatever fails", async () => {
    const TOKEN = "tok-5ecret-0123456789";
    const KEY = "key-5ecret-abcdefgh";
    const USER = "user-5ecret";
    const PASS = "pass-5ecret";
    const secrets = [TOKEN, KEY, USER, PASS, Buffer.from(`${USER}:${PASS}`).toString("base64")];
    server.setConsul("api", [consulEntry({ address: "10.0.0.1" }), consulEntry({ address: "10.0.0.2" })]);
    // Every request's headers echoed in error bodies: a registry that quotes what it was sent.
    const echo = (status: number) => ({
      handle: (req: { headers: unknown }, res: import("node:http").ServerResponse) =>
        json(res, status, { got: req.headers }),
    });
    const base = server.url.replace("http://", `http://${USER}:${PASS}@`);
    const options = {
      token: TOKEN,
      headers: { "x-api-key": KEY },
      clock,
      jitter: 0,
      retries: 0,
      waitMs: 1_000,
      minIntervalMs: 0,
      maxBodyBytes: 4_000,
      confirmEmpty: 1,
      timeoutMs: 1_000,
    };
    const r = consulResolver("api", { ...options, address: base });
    const refused = consulResolver("api", { ...options, address: base.replace(/:\d+$/, `:${await closedPort()}`) });
    open.push(r, refused);
    const upstream = createUpstream({ name: "api", resolver: r, clock });
    const seen: unknown[] = [];
    r.on("error", (e) => seen.push(e));
    upstream.on("resolverError", (e) => seen.push(e));
    refused.on("error", (e) => seen.push(e));
    refused.start();
    await refused.whenIdle();
    await upstream.ready();
    expect(server.requests[0]?.headers["x-consul-token"]).toBe(TOKEN);
    expect(server.requests[0]?.headers.authorization).toBe(`Basic ${secrets[4]}`);
    const faults = [
      echo(403),
      echo(500),
      { status: 200, body: `not json ${TOKEN} ${KEY}` },
      { status: 200, body: JSON.stringify({ token: TOKEN }) },
      { status: 200, body: JSON.stringify([{ Service: { Address: TOKEN, Port: 0 } }]) },
      { status: 200, body: "x".repeat(5_000) },
      { status: 302, body: "", headers: { location: `http://${USER}:${PASS}@127.0.0.1:1/?token=${TOKEN}` } },
      { status: 200, body: "[]" },
    ];
    for (const fault of faults) {
      server.faults.push(fault as never);
      await r.refresh();
    }
    server.faults.push({ hang: true });
    const hung = r.refresh();
    await until(() => server.held === 1);
    clock.advance(1_000);
    await hung;
    server.silent = "blocking";
    await r.refresh(); // index held: the next query blocks
    clock.advance(0);
    await until(() => server.held === 1);
    clock.advance(5_000); // stalls
    await until(() => seen.some((e) => (e as RegistryError).code === "ERR_REGISTRY_STALLED"));
    const codes = new Set(seen.map((e) => (e as RegistryError).code));
    for (const code of [
      "ERR_REGISTRY_HTTP",
      "ERR_REGISTRY_CONNECT",
      "ERR_REGISTRY_BODY",
      "ERR_REGISTRY_INVALID_INSTANCE",
      "ERR_REGISTRY_TOO_LARGE",
      "ERR_REGISTRY_EMPTY",
      "ERR_REGISTRY_TIMEOUT",
      "ERR_REGISTRY_STALLED",
    ]) {
      expect(codes.has(code as never), code).toBe(true);
    }
    const texts = [
      ...seen.map((e) => inspect(e, { depth: 20, showHidden: true })),
      ...seen.map((e) => JSON.stringify(e)),
      ...seen.map((e) => `${(e as Error).message} ${(e as Error).stack}`),
      JSON.stringify(upstream.snapshot()),
      inspect(upstream, { depth: 6, showHidden: true }),
      inspect(r, { depth: 6, showHidden: true }),
      inspect(refused, { depth: 6, showHidden: true }),
      r.url,
      refused.url,
      r.name,
    ].join("\n");
    for (const secret of secrets) expect(texts.includes(secret), secret).toBe(false);
    expect(texts).toContain("<redacted>"); // the echoed headers were there, redacted
    await upstream.close();
  });
});
