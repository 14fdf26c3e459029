/**
 * `RegistryHttp.exchange()` (src/resolvers/registry/http.ts), the streaming
 * POST that etcd's watch and lease keepalive ride on, and `RequestLife`
 * (src/resolvers/registry/request-life.ts), the deadline in two phases it
 * keeps: against a loopback server on 127.0.0.1 that writes JSON lines when
 * the test says so, with deadlines on a ManualClock. The registry's hooks
 * (more redaction, its own message in error bodies) and per-request headers
 * are checked here too; the etcd client's use of them in etcd.test.ts.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RegistryError } from "../../../src/index.js";
import { Credentials } from "../../../src/resolvers/registry/credentials.js";
import type { RegistryExchangeRequest } from "../../../src/resolvers/registry/http.js";
import { RegistryHttp } from "../../../src/resolvers/registry/http.js";
import type { RegistryDeadline } from "../../../src/resolvers/registry/request-life.js";
import { RequestLife } from "../../../src/resolvers/registry/request-life.js";
import { ManualClock } from "../../../src/testing/index.js";
import { until } from "../../helpers/dns-server.js";
import { RegistryServer } from "../../helpers/registry-server.js";

const SECRET = "tok-5ecret-0123";
const CREATED: RegistryDeadline = { ms: 1_000, code: "ERR_REGISTRY_TIMEOUT", detail: "not created within 1000 ms" };
const SILENT: RegistryDeadline = { ms: 300, code: "ERR_REGISTRY_STALLED", detail: "silent for 300 ms" };

let server: RegistryServer;
let clock: ManualClock;
/** The streams the server holds open, in the order they came, with the body each request sent. */
let streams: { req: IncomingMessage; res: ServerResponse; body: string; closed: boolean }[];

beforeEach(async () => {
  server = await RegistryServer.start();
  clock = new ManualClock();
  streams = [];
  for (const path of ["/w", "/b/w"]) {
    server.routes.set(path, (req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on("end", () => {
        const stream = { req, res, body, closed: false };
        res.on("close", () => {
          stream.closed = true;
        });
        res.writeHead(200, { "content-type": "application/json" });
        res.flushHeaders();
        streams.push(stream);
      });
    });
  }
});

afterEach(async () => {
  await server.close();
});

function client(bases = [`${server.url}/`]) {
  return new RegistryHttp({
    registry: "etcd",
    resolver: "test",
    bases: bases.map((b) => new URL(b)),
    credentials: new Credentials({ authorization: "configured", "x-api-key": "key-5ecret" }),
    timeoutMs: 5_000,
    stallFactor: 1,
    maxBodyBytes: 100,
    clock,
    fetch: (input, init) => globalThis.fetch(input, init),
    onStall: () => {},
    redact: (text) => text.split(SECRET).join("<redacted>"),
    errorMessage: (body) => {
      try {
        const parsed = JSON.parse(body) as { message?: unknown };
        return typeof parsed.message === "string" ? parsed.message : undefined;
      } catch {
        return undefined;
      }
    },
  });
}

const WATCH: RegistryExchangeRequest = {
  method: "POST",
  path: "w",
  json: { create: 1 },
  headers: { authorization: SECRET },
  deadline: CREATED,
  stall: SILENT,
};

/** Runs an exchange whose reader keeps every message until the body ends, then throws (as a watch does). */
function watch(http: RegistryHttp, request = WATCH, signal = new AbortController().signal) {
  const seen: unknown[] = [];
  const done = http
    .exchange(request, signal, async ({ context, messages }) => {
      await messages((message) => {
        seen.push(message);
        return true;
      });
      throw new RegistryError("ERR_REGISTRY_CONNECT", context, "the stream ended");
    })
    .catch((error: unknown) => error as RegistryError);
  return { seen, done };
}

/** Writes `lines` to the `n`th stream and waits until the reader has `count` messages. */
async function write(n: number, text: string, seen: unknown[], count: number): Promise<void> {
  streams[n]?.res.write(text);
  await until(() => seen.length === count);
}

describe("RegistryHttp.exchange()", () => {
  it("sends the request with its own headers; a deadline until the first message, then a stall limit restarted by each", async () => {
    const http = client();
    const { seen, done } = watch(http);
    await until(() => streams.length === 1);
    const sent = streams[0]?.req;
    expect([sent?.method, sent?.headers.authorization, sent?.headers["content-type"], streams[0]?.body]).toEqual([
      "POST",
      SECRET,
      "application/json",
      '{"create":1}',
    ]);
    clock.advance(999); // the first deadline: 1 ms left
    await write(0, '{"n":1}\n\n  \r\n{"n"', seen, 1);
    clock.advance(299); // the stall limit from the first message on
    await write(0, ':2}\n{"n":3}\n', seen, 3);
    clock.advance(299);
    expect(seen).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(streams[0]?.closed).toBe(false);
    clock.advance(1);
    const error = await done;
    expect([error.code, error.message, error.retryable]).toEqual([
      "ERR_REGISTRY_STALLED",
      `test: POST ${server.url}/w: silent for 300 ms`,
      true,
    ]);
    await until(() => streams[0]?.closed === true);
    expect(clock.pendingTimers).toBe(0);
  });

  it("no first message within the first deadline is its error; without `stall` the deadline runs to the end", async () => {
    const http = client();
    const first = watch(http);
    await until(() => streams.length === 1);
    clock.advance(1_000);
    expect((await first.done).message).toBe(`test: POST ${server.url}/w: not created within 1000 ms`);
    const plain = watch(http, { path: "w" });
    await until(() => streams.length === 2);
    await write(1, '{"n":1}\n', plain.seen, 1);
    clock.advance(4_999);
    await write(1, '{"n":2}\n', plain.seen, 2);
    clock.advance(1);
    const error = await plain.done;
    expect([error.code, error.message]).toEqual([
      "ERR_REGISTRY_TIMEOUT",
      `test: GET ${server.url}/w: no complete answer within 5000 ms`,
    ]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("resolves with what the reader returns; a reader that stops early closes the connection", async () => {
    const http = client();
    const first = http.exchange(WATCH, new AbortController().signal, async ({ messages }) => {
      let got: unknown;
      await messages((message) => {
        got = message;
        return false;
      });
      return got;
    });
    await until(() => streams.length === 1);
    streams[0]?.res.write('{"result":{"TTL":"6"}}\n{"result":{}}\n');
    expect(await first).toEqual({ result: { TTL: "6" } });
    await until(() => streams[0]?.closed === true);
    expect(clock.pendingTimers).toBe(0);
  });

  it("bad messages are typed errors, the secrets redacted; a retryable failure, the reader's own included, moves to the next base URL", async () => {
    const http = client([`${server.url}/`, `${server.url}/b/`]);
    const errors: RegistryError[] = [];
    const next = async (lines: string) => {
      const { done } = watch(http);
      await until(() => streams.length === errors.length + 1);
      streams[errors.length]?.res.end(lines);
      errors.push(await done);
    };
    await next(`${"x".repeat(101)}\n`);
    await next(`x ${SECRET}\n`);
    await next('{"n":1}\n'); // then the body ends: the reader throws ERR_REGISTRY_CONNECT
    await next(`{"n":1}\n${"y".repeat(60)}`); // a last line without a newline counts
    expect(errors.map((e) => [e.code, e.url, e.detail])).toEqual([
      ["ERR_REGISTRY_TOO_LARGE", `${server.url}/w`, "a streamed message is over maxBodyBytes (100)"],
      [
        "ERR_REGISTRY_BODY",
        `${server.url}/w`,
        `body of 17 bytes is not JSON (Unexpected token 'x', "x <redacted>" is not valid JSON)`,
      ],
      ["ERR_REGISTRY_CONNECT", `${server.url}/w`, "the stream ended"],
      ["ERR_REGISTRY_BODY", `${server.url}/b/w`, expect.stringMatching(/^body of 60 bytes is not JSON \(/)],
    ]);
    expect(http.base).toBe(`${server.url}/b/`);
  });

  it("a status other than 2xx: the registry's own message, redacted and cut; a redirect refused, its location redacted", async () => {
    const http = client();
    const fail = async (fault: (typeof server.faults)[number]) => {
      server.faults.push(fault);
      return (await watch(http).done) as RegistryError;
    };
    const long = `${SECRET} ${"z".repeat(300)}`;
    const errors = [
      await fail({ status: 503, body: JSON.stringify({ error: "x", message: `leader changed ${SECRET}`, code: 14 }) }),
      await fail({ status: 400, body: JSON.stringify({ message: long }) }),
      await fail({ status: 500, body: `plain ${SECRET} key-5ecret` }),
      await fail({ status: 307, headers: { location: `http://127.0.0.1:1/${SECRET}/v3/watch?token=abc` } }),
    ];
    expect(errors.map((e) => [e.code, e.status, e.detail])).toEqual([
      ["ERR_REGISTRY_HTTP", 503, "HTTP 503 Service Unavailable: leader changed <redacted>"],
      ["ERR_REGISTRY_HTTP", 400, `HTTP 400 Bad Request: <redacted> ${"z".repeat(189)}…`],
      ["ERR_REGISTRY_HTTP", 500, "HTTP 500 Internal Server Error: plain <redacted> <redacted>"],
      [
        "ERR_REGISTRY_HTTP",
        307,
        "HTTP 307 Temporary Redirect: redirect to http://127.0.0.1:1/<redacted>/v3/watch?token=redacted not followed",
      ],
    ]);
    expect(http.redact(`${SECRET} key-5ecret configured`)).toBe("<redacted> <redacted> <redacted>");
  });

  it("the caller's signal ends it: rejects with the signal's reason, the connection closed, no timer left", async () => {
    const http = client();
    const controller = new AbortController();
    const { done } = watch(http, WATCH, controller.signal);
    await until(() => streams.length === 1);
    const reason = new Error("stopped");
    controller.abort(reason);
    expect(await done).toBe(reason);
    await until(() => streams[0]?.closed === true);
    expect(clock.pendingTimers).toBe(0);
    await expect(http.exchange(WATCH, controller.signal, async () => 1)).rejects.toBe(reason);
    expect(streams).toHaveLength(1);
  });
});

describe("RequestLife", () => {
  it("keeps the first deadline until a sign of life, then the second, restarted by each; missed says which fired", () => {
    const caller = new AbortController();
    const life = new RequestLife(clock, caller.signal, CREATED, SILENT);
    clock.advance(999);
    life.live();
    clock.advance(299);
    life.live();
    clock.advance(299);
    expect([life.missed, life.signal.aborted]).toEqual([undefined, false]);
    clock.advance(1);
    expect([life.missed, life.signal.aborted, (life.signal.reason as Error).message]).toEqual([
      SILENT,
      true,
      "ERR_REGISTRY_STALLED",
    ]);
    const late = new RequestLife(clock, caller.signal, CREATED, SILENT);
    clock.advance(1_000);
    late.live(); // too late: the first deadline stays the one missed
    expect([late.missed, clock.pendingTimers]).toEqual([CREATED, 0]);
  });

  it("without a second deadline a sign of life changes nothing; end() disarms it; the caller's abort aborts it", () => {
    const caller = new AbortController();
    const life = new RequestLife(clock, caller.signal, CREATED);
    clock.advance(600);
    life.live();
    clock.advance(400);
    expect(life.missed).toBe(CREATED);
    const ended = new RequestLife(clock, caller.signal, CREATED);
    ended.end();
    expect([ended.ended, clock.pendingTimers]).toEqual([true, 0]);
    clock.advance(1_000);
    expect(ended.missed).toBeUndefined();
    const aborted = new RequestLife(clock, caller.signal, CREATED, SILENT);
    caller.abort(new Error("bye"));
    expect([aborted.ended, (aborted.signal.reason as Error).message, clock.pendingTimers]).toEqual([true, "bye", 0]);
  });
});
