/**
 * etcdResolver() against a fake of etcd 3.4's JSON gateway
 * (test/helpers/etcd-server.ts, answering in the shapes etcd gave on this
 * machine) on 127.0.0.1: the list and its pages, the watch from the next
 * revision, events applied, resume after a broken watch, compaction and
 * re-list, stalls on the ManualClock, bad values, empty sets, failover,
 * etcd authentication, close(). The real etcd runs in test/system/etcd.test.ts.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { inspect } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Endpoint, EtcdResolverOptions, RegistryError } from "../../../src/index.js";
import { createUpstream, type EtcdResolver, etcdResolver } from "../../../src/index.js";
import { ManualClock, seededRandom } from "../../../src/testing/index.js";
import { expectConfigErrors } from "../../helpers/config-errors.js";
import { activeHandles, expectNoNewHandles, until } from "../../helpers/dns-server.js";
import { EtcdFake } from "../../helpers/etcd-server.js";
import { closedPort, json, RegistryServer, recordResolver } from "../../helpers/registry-server.js";

const PREFIX = "/svc/api/";
const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

let server: RegistryServer;
let etcd: EtcdFake;
let clock: ManualClock;
const open: EtcdResolver[] = [];

beforeEach(async () => {
  server = await RegistryServer.start();
  etcd = new EtcdFake(server);
  clock = new ManualClock();
});

afterEach(async () => {
  for (const r of open.splice(0)) await r.close();
  await server.close();
});

function resolver(options: EtcdResolverOptions = {}, prefix = PREFIX): EtcdResolver {
  const r = etcdResolver(prefix, {
    endpoints: server.url,
    clock,
    random: seededRandom(1),
    jitter: 0,
    retries: 0,
    ...options,
  });
  open.push(r);
  return r;
}

const ids = (endpoints: readonly Endpoint[] | undefined) => endpoints?.map((e) => `${e.id} w${e.weight}`);
const bodiesOf = (path: string) => etcd.bodies.filter((b) => b.path === path).map((b) => b.body);
const instance = (host: string, port: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ host, port, ...extra });

/**
 * Waits until `condition` holds, running the ManualClock's due timers at
 * each look: the refresh loop schedules its next lookup (the watch after a
 * list, the next wait after each change) with a 0 ms timer.
 */
function settle(condition: () => boolean): Promise<void> {
  return until(() => {
    clock.advance(0);
    return condition();
  });
}

/** Starts `r` and waits until its first list is published and its watch is open. */
async function started(r: EtcdResolver): Promise<void> {
  r.start();
  await settle(() => etcd.watchers.size === 1);
}

describe("etcdResolver()", () => {
  it("lists the keys under the prefix, then watches them from the next revision", async () => {
    etcd.put("/svc/api/a", instance("10.0.0.1", 8080));
    etcd.put("/svc/api/b", "10.0.0.2:8080");
    etcd.put("/svc/api0", instance("10.0.0.3", 8080)); // the range end: not under the prefix
    etcd.put("/svc/apix/c", instance("10.0.0.4", 8080));
    etcd.put("/svc/ap", instance("10.0.0.5", 8080));
    const r = resolver();
    const seen = recordResolver(r);
    await started(r);
    expect(ids(r.endpoints)).toEqual(["10.0.0.1:8080 w100", "10.0.0.2:8080 w100"]);
    expect([r.revision, r.lists, r.url, r.registry, r.name]).toEqual([
      6n,
      1,
      `${server.url}/`,
      "etcd",
      "etcd:/svc/api/",
    ]);
    expect(bodiesOf("/v3/kv/range")).toEqual([{ key: b64(PREFIX), range_end: b64("/svc/api0"), limit: "1000" }]);
    expect(bodiesOf("/v3/watch")).toEqual([
      { create_request: { key: b64(PREFIX), range_end: b64("/svc/api0"), start_revision: "7", progress_notify: true } },
    ]);
    const range = server.requests.find((q) => q.path === "/v3/kv/range");
    expect([range?.method, range?.headers["content-type"], range?.headers.accept]).toEqual([
      "POST",
      "application/json",
      "application/json",
    ]);
    expect(seen.errors).toEqual([]);
  });

  it("applies each event: a put adds or changes an instance, a delete or a lease expiry removes it", async () => {
    etcd.put("/svc/api/a", instance("10.0.0.1", 8080));
    const r = resolver();
    const seen = recordResolver(r);
    await started(r);
    etcd.put("/svc/api/b", instance("10.0.0.2", 8080, { weight: 5, zone: "z1", tags: ["v2"], metadata: { v: "2" } }));
    await settle(() => r.endpoints?.length === 2);
    expect(r.endpoints?.[1]).toEqual({
      id: "10.0.0.2:8080",
      host: "10.0.0.2",
      port: 8080,
      weight: 5,
      priority: 0,
      scheme: "http",
      zone: "z1",
      tags: ["v2"],
      metadata: { v: "2" },
    });
    etcd.put("/svc/api/b", instance("10.0.0.2", 8080, { weight: 7 }));
    await settle(() => r.endpoints?.[1]?.weight === 7);
    etcd.put("/svc/other", instance("10.0.0.9", 8080)); // not watched
    etcd.delete("/svc/api/a");
    await settle(() => r.endpoints?.length === 1);
    expect(ids(r.endpoints)).toEqual(["10.0.0.2:8080 w7"]);
    etcd.leases.set("77", { ttl: 2, keys: new Set() });
    etcd.put("/svc/api/c", "10.0.0.3:9000", "77");
    await settle(() => r.endpoints?.length === 2);
    etcd.expire("77");
    await settle(() => r.endpoints?.length === 1);
    expect(ids(r.endpoints)).toEqual(["10.0.0.2:8080 w7"]);
    expect(seen.sets.map(ids)).toEqual([
      ["10.0.0.1:8080 w100"],
      ["10.0.0.1:8080 w100", "10.0.0.2:8080 w5"],
      ["10.0.0.1:8080 w100", "10.0.0.2:8080 w7"],
      ["10.0.0.2:8080 w7"],
      ["10.0.0.2:8080 w7", "10.0.0.3:9000 w100"],
      ["10.0.0.2:8080 w7"],
    ]);
    expect(r.revision).toBe(BigInt(etcd.revision));
    expect([seen.errors, r.lists, etcd.count("/v3/watch")]).toEqual([[], 1, 1]);
  });

  it("lists in pages of pageSize, every page at the first page's revision", async () => {
    for (const k of ["e", "a", "d", "b", "c"]) etcd.put(`/svc/api/${k}`, `10.0.0.${k.charCodeAt(0) - 96}:80`);
    const r = resolver({ pageSize: 2 });
    r.start();
    await settle(() => etcd.watchers.size === 1);
    expect(ids(r.endpoints)).toEqual([
      "10.0.0.1:80 w100",
      "10.0.0.2:80 w100",
      "10.0.0.3:80 w100",
      "10.0.0.4:80 w100",
      "10.0.0.5:80 w100",
    ]);
    const keyAfter = (k: string) => Buffer.concat([Buffer.from(`/svc/api/${k}`), Buffer.of(0)]).toString("base64");
    const end = b64("/svc/api0");
    expect(bodiesOf("/v3/kv/range")).toEqual([
      { key: b64(PREFIX), range_end: end, limit: "2" },
      { key: keyAfter("b"), range_end: end, limit: "2", revision: "6" },
      { key: keyAfter("d"), range_end: end, limit: "2", revision: "6" },
    ]);
  });

  it("a value that is not an instance is dropped and reported, the others published; fixing it clears the report", async () => {
    etcd.put("/svc/api/good", instance("10.0.0.1", 8080));
    etcd.put("/svc/api/bad-port", instance("10.0.0.2", 0));
    etcd.put("/svc/api/not-json", "{oops");
    const r = resolver();
    const seen = recordResolver(r);
    await started(r);
    expect(ids(r.endpoints)).toEqual(["10.0.0.1:8080 w100"]);
    expect(seen.errors.map((e) => e.code)).toEqual(["ERR_REGISTRY_INVALID_INSTANCE"]);
    // V8's JSON message ends the text (Node 22 adds "(line 1 column 2)"): its start is the same everywhere.
    expect(seen.errors[0]?.message).toMatch(
      /^etcd:\/svc\/api\/: 2 instance\(s\) dropped: key "\/svc\/api\/bad-port" \(port must be an integer in 1\.\.65535, got 0\); key "\/svc\/api\/not-json" \(the value is not JSON \(Expected property name or '\}' in JSON at position 1[ )]/,
    );
    expect(r.droppedRecords).toEqual(seen.errors[0]?.dropped);
    etcd.put("/svc/api/bad-port", instance("10.0.0.2", 81));
    etcd.delete("/svc/api/not-json");
    await settle(() => r.endpoints?.length === 2 && r.droppedRecords.length === 0);
    // A bad value arriving by the watch: reported, the set kept.
    etcd.put(b64("/svc/api/worse"), Buffer.from([0xff, 0xfe]).toString("base64"), undefined, true);
    await settle(() => seen.errors.length === 2);
    expect(seen.errors[1]?.dropped).toEqual([{ record: 'key "/svc/api/worse"', reason: "the value is not UTF-8" }]);
    expect(ids(r.endpoints)).toEqual(["10.0.0.1:8080 w100", "10.0.0.2:81 w100"]);
  });

  it("two keys with one host:port are one endpoint: the higher weight wins, then the smaller key", async () => {
    etcd.put("/svc/api/b", instance("10.0.0.1", 8080, { weight: 5 }));
    etcd.put("/svc/api/a", instance("10.0.0.1", 8080, { weight: 5 }));
    const r = resolver();
    const seen = recordResolver(r);
    await started(r);
    expect(ids(r.endpoints)).toEqual(["10.0.0.1:8080 w5"]);
    expect(r.droppedRecords).toEqual([
      { record: 'key "/svc/api/b"', reason: 'duplicate of key "/svc/api/a" (10.0.0.1:8080)' },
    ]);
    etcd.put("/svc/api/b", instance("10.0.0.1", 8080, { weight: 9 }));
    await settle(() => r.endpoints?.[0]?.weight === 9);
    expect(r.droppedRecords).toEqual([
      { record: 'key "/svc/api/a"', reason: 'duplicate of key "/svc/api/b" (10.0.0.1:8080)' },
    ]);
    expect(seen.errors.map((e) => e.code)).toEqual(["ERR_REGISTRY_INVALID_INSTANCE", "ERR_REGISTRY_INVALID_INSTANCE"]);
  });

  it("publishes each watch batch as what it changed, and the set stays what a fresh list gives", async () => {
    etcd.put("/svc/api/a", instance("10.0.0.1", 8080));
    etcd.put("/svc/api/b", instance("10.0.0.2", 8080, { weight: 3 }));
    const r = resolver();
    const deltas: (string | undefined)[] = [];
    r.on("endpoints", (_set, d) =>
      deltas.push(d && `+${d.upserts.map((e) => `${e.id} w${e.weight}`).join(",")} -${d.removals.join(",")}`),
    );
    await started(r);
    const steps: [() => void, string][] = [
      [() => etcd.put("/svc/api/c", instance("10.0.0.3", 8080)), "+10.0.0.3:8080 w100 -"],
      [() => etcd.put("/svc/api/b", instance("10.0.0.2", 8080, { weight: 7 })), "+10.0.0.2:8080 w7 -"],
      // A second key for 10.0.0.1 with a higher weight takes over that endpoint.
      [() => etcd.put("/svc/api/d", instance("10.0.0.1", 8080, { weight: 200 })), "+10.0.0.1:8080 w200 -"],
      [() => etcd.delete("/svc/api/d"), "+10.0.0.1:8080 w100 -"],
      [() => etcd.put("/svc/api/c", instance("10.0.0.9", 8080)), "+10.0.0.9:8080 w100 -10.0.0.3:8080"], // the key moved
      [() => etcd.delete("/svc/api/a"), "+ -10.0.0.1:8080"],
    ];
    for (const [change, expected] of steps) {
      const before = deltas.length;
      change();
      await settle(() => deltas.length > before);
      expect(deltas.at(-1)).toBe(expected);
    }
    expect(deltas[0]).toBeUndefined(); // the list: a whole set
    const fresh = resolver();
    fresh.start();
    await settle(() => fresh.endpoints !== undefined);
    expect(ids(r.endpoints)).toEqual(["10.0.0.2:8080 w7", "10.0.0.9:8080 w100"]);
    expect(ids(fresh.endpoints)).toEqual(ids(r.endpoints));
  });

  it("a broken watch resumes from the revision after the last one seen: changes made meanwhile arrive, nothing is listed again", async () => {
    etcd.put("/svc/api/a", instance("10.0.0.1", 8080));
    const r = resolver({ retries: 1, retryDelayMs: 0 });
    const seen = recordResolver(r);
    await started(r);
    etcd.put("/svc/api/b", instance("10.0.0.2", 8080));
    await settle(() => r.endpoints?.length === 2);
    const seenUpTo = etcd.revision;
    // etcd stopping writes a stream error; the resolver opens the watch again at once (a retry without delay).
    etcd.endWatches("error");
    await settle(() => etcd.count("/v3/watch") === 2 && etcd.watchers.size === 1);
    etcd.endWatches("cut");
    etcd.put("/svc/api/c", instance("10.0.0.3", 8080)); // while no watch is open
    etcd.delete("/svc/api/a");
    await settle(
      () => etcd.count("/v3/watch") === 3 && r.endpoints?.length === 2 && r.endpoints[1]?.host === "10.0.0.3",
    );
    expect(ids(r.endpoints)).toEqual(["10.0.0.2:8080 w100", "10.0.0.3:8080 w100"]);
    const starts = bodiesOf("/v3/watch").map((b) => (b.create_request as { start_revision: string }).start_revision);
    expect(starts).toEqual(["3", String(seenUpTo + 1), String(seenUpTo + 1)]);
    expect([r.lists, etcd.count("/v3/kv/range"), seen.errors]).toEqual([1, 1, []]);
  });

  it("a progress notification moves the resume revision on", async () => {
    etcd.put("/svc/api/a", instance("10.0.0.1", 8080));
    const r = resolver({ retries: 1, retryDelayMs: 0 });
    await started(r);
    // Not watched: only a progress notification tells the resolver that nothing it watches changed up to revision 4.
    etcd.put("/svc/other", "x");
    etcd.put("/svc/other", "y");
    etcd.progress();
    // Resumed from revision 4 itself (a replayed change is harmless), so the view is known complete up to 3.
    await settle(() => r.revision === 3n);
    etcd.endWatches("cut");
    await settle(() => etcd.count("/v3/watch") === 2 && etcd.watchers.size === 1);
    const starts = bodiesOf("/v3/watch").map((b) => (b.create_request as { start_revision: string }).start_revision);
    expect(starts).toEqual(["3", "4"]);
  });

  it("refresh() lists again now and watches on from that list", async () => {
    etcd.put("/svc/api/a", instance("10.0.0.1", 8080));
    const r = resolver();
    await started(r);
    const refreshed = r.refresh();
    await settle(() => r.lists === 2);
    await refreshed;
    await settle(() => etcd.watchers.size === 1 && etcd.count("/v3/watch") === 2);
    expect(bodiesOf("/v3/kv/range")).toHaveLength(2);
    etcd.put("/svc/api/b", instance("10.0.0.2", 8080));
    await settle(() => r.endpoints?.length === 2);
  });

  it("a watch whose revision was compacted makes the resolver list again", async () => {
    etcd.put("/svc/api/a", instance("10.0.0.1", 8080));
    etcd.put("/svc/api/b", instance("10.0.0.2", 8080));
    const r = resolver({ retries: 1, retryDelayMs: 0 });
    const seen = recordResolver(r);
    await started(r);
    // Down for a while: changes, then a compaction past the revision the watch would resume from.
    server.faults.push({ status: 503, body: "{}" }); // the first retry fails: the next refresh comes after intervalMs
    etcd.endWatches("cut");
    await settle(() => seen.errors.length === 1);
    expect(seen.errors[0]?.code).toBe("ERR_REGISTRY_HTTP");
    etcd.delete("/svc/api/a");
    etcd.put("/svc/api/c", instance("10.0.0.3", 8080));
    etcd.compact(etcd.revision);
    clock.advance(30_000);
    await settle(() => r.lists === 2 && etcd.watchers.size === 1);
    expect(ids(r.endpoints)).toEqual(["10.0.0.2:8080 w100", "10.0.0.3:8080 w100"]);
    expect(r.revision).toBe(BigInt(etcd.revision));
    const starts = bodiesOf("/v3/watch").map((b) => (b.create_request as { start_revision: string }).start_revision);
    expect(starts).toEqual(["4", "4", String(etcd.revision + 1)]);
    expect(seen.errors.map((e) => e.code)).toEqual(["ERR_REGISTRY_HTTP"]);
  });

  it("a watch silent for stallFactor × progressIntervalMs is torn down, reported at once, and resumed", async () => {
    etcd.put("/svc/api/a", instance("10.0.0.1", 8080));
    const r = resolver({ progressIntervalMs: 1_000, stallFactor: 3, retries: 2, retryDelayMs: 5_000 });
    const seen = recordResolver(r);
    await started(r);
    // Progress notifications are signs of life.
    clock.advance(2_000);
    etcd.progress();
    await new Promise((resolve) => setTimeout(resolve, 20));
    clock.advance(2_999);
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen.errors).toEqual([]);
    clock.advance(1);
    await settle(() => seen.errors.length === 1 && etcd.count("/v3/watch") === 2 && etcd.watchers.size === 1);
    const stall = seen.errors[0] as RegistryError;
    expect([stall.code, stall.message]).toEqual([
      "ERR_REGISTRY_STALLED",
      `etcd:/svc/api/: POST ${server.url}/v3/watch: the watch was silent for 3000 ms (3 × the 1000 ms progress interval); it is opened again`,
    ]);
    expect(ids(r.endpoints)).toEqual(["10.0.0.1:8080 w100"]);
    // The resumed watch works; its creation re-announces the set (a resolution again).
    etcd.put("/svc/api/b", instance("10.0.0.2", 8080));
    await settle(() => r.endpoints?.length === 2);
    expect(seen.errors).toHaveLength(1);
  });

  it("a resumed watch is a resolution again: it clears the upstream's last resolver error", async () => {
    etcd.put("/svc/api/a", instance("10.0.0.1", 8080));
    const r = resolver({ intervalMs: 5_000 });
    const upstream = createUpstream({ name: "api", resolver: r, clock, random: seededRandom(2) });
    await upstream.ready();
    await settle(() => etcd.watchers.size === 1);
    etcd.endWatches("cut");
    await settle(() => upstream.lastResolverError !== undefined);
    expect(upstream.lastResolverError?.message).toBe(
      `etcd:/svc/api/: POST ${server.url}/v3/watch: connection failed: other side closed (UND_ERR_SOCKET)`,
    );
    clock.advance(5_000);
    await settle(() => etcd.watchers.size === 1 && upstream.lastResolverError === undefined);
    expect(upstream.endpoints.map((e) => e.id)).toEqual(["10.0.0.1:8080"]);
    await upstream.close();
  });

  it("an empty set is confirmed by listing again before it empties the service", async () => {
    etcd.put("/svc/api/a", instance("10.0.0.1", 8080));
    const r = resolver({ confirmEmpty: 2, confirmEmptyDelayMs: 5_000 });
    const seen = recordResolver(r);
    await started(r);
    etcd.delete("/svc/api/a");
    await settle(() => seen.errors.length === 1);
    expect(seen.errors[0]?.message).toBe(
      "etcd:/svc/api/: the registry lists no instance; keeping the last good set of 1 endpoint(s) until 2 more refresh(es) confirm the empty answer",
    );
    expect(ids(r.endpoints)).toEqual(["10.0.0.1:8080 w100"]);
    clock.advance(5_000);
    await settle(() => r.lists === 2 && seen.errors.length === 2);
    clock.advance(5_000);
    await settle(() => r.lists === 3 && r.endpoints?.length === 0);
    await settle(() => etcd.watchers.size === 1);
    etcd.put("/svc/api/b", instance("10.0.0.2", 8080));
    await settle(() => r.endpoints?.length === 1);
    expect(seen.sets.map(ids)).toEqual([["10.0.0.1:8080 w100"], [], ["10.0.0.2:8080 w100"]]);
  });

  it("an empty prefix at start fails ready(); the watch then brings the first instance", async () => {
    const r = resolver();
    const upstream = createUpstream({ name: "api", resolver: r, clock, random: seededRandom(2) });
    await expect(upstream.ready()).rejects.toMatchObject({
      code: "ERR_REGISTRY_EMPTY",
      message: "etcd:/svc/api/: the registry lists no instance",
    });
    await settle(() => etcd.watchers.size === 1);
    etcd.put("/svc/api/a", instance("10.0.0.1", 8080));
    await settle(() => upstream.endpoints.length === 1);
    await upstream.close();
  });

  it("fails over between members: a refused connection is retried on the next endpoint", async () => {
    etcd.put("/svc/api/a", instance("10.0.0.1", 8080));
    const down = `http://127.0.0.1:${await closedPort()}`;
    const r = resolver({ endpoints: [down, server.url], retries: 1, retryDelayMs: 0 });
    const seen = recordResolver(r);
    expect(r.url).toBe(`${down}/`);
    await started(r);
    expect([ids(r.endpoints), r.url, seen.errors]).toEqual([["10.0.0.1:8080 w100"], `${server.url}/`, []]);
  });

  it("etcd authentication: a token from /v3/auth/authenticate in Authorization, asked again when etcd says it is invalid", async () => {
    etcd.users = new Map([["svc", "s3cret-pw"]]);
    etcd.put("/svc/api/a", instance("10.0.0.1", 8080));
    const r = resolver({ username: "svc", password: "s3cret-pw", retries: 1, retryDelayMs: 0 });
    const seen = recordResolver(r);
    await started(r);
    expect(ids(r.endpoints)).toEqual(["10.0.0.1:8080 w100"]);
    expect(bodiesOf("/v3/auth/authenticate")).toEqual([{ name: "svc", password: "s3cret-pw" }]);
    const watchRequest = server.requests.find((q) => q.path === "/v3/watch");
    expect(watchRequest?.headers.authorization).toBe("tok1xyz.2");
    // The token expires; the watch breaks and its successor is canceled for it: a new token, once.
    etcd.tokens.clear();
    etcd.endWatches("cut");
    await settle(() => etcd.watchers.size === 1);
    expect(etcd.count("/v3/auth/authenticate")).toBe(2);
    expect(server.requests.filter((q) => q.path === "/v3/watch").map((q) => q.headers.authorization)).toEqual([
      "tok1xyz.2",
      "tok1xyz.2",
      "tok2xyz.2",
    ]);
    expect(seen.errors).toEqual([]);
  });

  it("a wrong password fails ready() with etcd's message; the password is nowhere in it", async () => {
    etcd.users = new Map([["svc", "s3cret-pw"]]);
    const r = resolver({ username: "svc", password: "wrong-pw" });
    const upstream = createUpstream({ name: "api", resolver: r, clock });
    const error = (await upstream.ready().catch((e: unknown) => e)) as RegistryError;
    expect([error.code, error.status, error.message]).toEqual([
      "ERR_REGISTRY_HTTP",
      400,
      `etcd:/svc/api/: POST ${server.url}/v3/auth/authenticate: HTTP 400 Bad Request: etcdserver: authentication failed, invalid user ID or password`,
    ]);
    expect(JSON.stringify({ ...error, message: error.message, snapshot: upstream.snapshot() })).not.toContain(
      "wrong-pw",
    );
    await upstream.close();
  });

  it("etcd's password and tokens appear in no error, whatever its answers quote", async () => {
    etcd.users = new Map([["svc", "s3cret-pw"]]);
    etcd.put("/svc/api/a", instance("10.0.0.1", 8080));
    const r = resolver({ username: "svc", password: "s3cret-pw" });
    const seen = recordResolver(r);
    await started(r);
    const token = "tok1xyz.2";
    expect(server.requests.find((q) => q.path === "/v3/watch")?.headers.authorization).toBe(token);
    /** A fault that answers once it has the request, quoting its Authorization. */
    const quoting = (answer: (auth: string, res: ServerResponse) => void) => ({
      handle: (req: IncomingMessage, res: ServerResponse) => {
        req.resume();
        req.on("end", () => answer(String(req.headers.authorization), res));
      },
    });
    const canceled = (auth: string) => ({
      result: { header: etcd.header(), canceled: true, cancel_reason: `no ${auth}` },
    });
    server.faults.push(
      quoting((auth, res) =>
        json(res, 500, { error: "x", message: `token ${auth} of svc:s3cret-pw refused`, code: 13 }),
      ),
      quoting((auth, res) =>
        res.end(
          `${JSON.stringify({ result: { header: etcd.header(), created: true } })}\n${JSON.stringify(canceled(auth))}\n`,
        ),
      ),
      quoting((_auth, res) => res.end("x s3cret-pw\n")),
      quoting((auth, res) => {
        res.writeHead(307, { location: `http://127.0.0.1:1/${auth}/s3cret-pw` });
        res.end();
      }),
      // A stream error line (etcd's grpc-gateway) quoting the token.
      quoting((auth, res) =>
        res.end(
          `${JSON.stringify({ result: { header: etcd.header(), created: true } })}\n${JSON.stringify({ error: { grpc_code: 14, http_code: 503, message: `lost ${auth}` } })}\n`,
        ),
      ),
    );
    etcd.endWatches("cut");
    await settle(() => seen.errors.length === 1);
    for (let n = 2; n <= 6; n++) {
      clock.advance(30_000);
      await settle(() => seen.errors.length === n);
    }
    expect(seen.errors.map((e) => [e.code, e.detail])).toEqual([
      ["ERR_REGISTRY_CONNECT", "connection failed: other side closed (UND_ERR_SOCKET)"],
      ["ERR_REGISTRY_HTTP", "HTTP 500 Internal Server Error: token <redacted> of svc:<redacted> refused"],
      ["ERR_REGISTRY_HTTP", "etcd canceled the watch: no <redacted>"],
      ["ERR_REGISTRY_BODY", `body of 11 bytes is not JSON (Unexpected token 'x', "x <redacted>" is not valid JSON)`],
      [
        "ERR_REGISTRY_HTTP",
        "HTTP 307 Temporary Redirect: redirect to http://127.0.0.1:1/<redacted>/<redacted> not followed",
      ],
      ["ERR_REGISTRY_CONNECT", "the watch stream failed: lost <redacted>"],
    ]);
    const text = seen.errors.map((e) => `${e.message} ${JSON.stringify(e)} ${inspect(e, { depth: 5 })}`).join("\n");
    for (const secret of ["s3cret-pw", token]) expect(text.includes(secret), secret).toBe(false);
    clock.advance(30_000);
    await settle(() => etcd.watchers.size === 1);
  });

  it("a watch not created within timeoutMs is ERR_REGISTRY_TIMEOUT, and opened again", async () => {
    etcd.put("/svc/api/a", instance("10.0.0.1", 8080));
    const r = resolver({ timeoutMs: 2_000 });
    const seen = recordResolver(r);
    const watch = server.routes.get("/v3/watch");
    server.routes.set("/v3/watch", () => {}); // the request is held: etcd never says the watch is created
    r.start();
    await settle(() => server.count("/v3/watch") === 1);
    clock.advance(1_999);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen.errors).toEqual([]);
    clock.advance(1);
    await settle(() => seen.errors.length === 1);
    expect([seen.errors[0]?.code, seen.errors[0]?.message]).toEqual([
      "ERR_REGISTRY_TIMEOUT",
      `etcd:/svc/api/: POST ${server.url}/v3/watch: the watch was not created within 2000 ms`,
    ]);
    server.routes.set("/v3/watch", watch as NonNullable<typeof watch>);
    clock.advance(30_000);
    await settle(() => etcd.watchers.size === 1);
    etcd.put("/svc/api/b", instance("10.0.0.2", 8080));
    await settle(() => r.endpoints?.length === 2);
    expect([r.lists, seen.errors.length]).toEqual([1, 1]);
  });

  it("bad answers are typed errors and keep the last good set: a body that is not JSON, a garbage watch line, a message over the cap", async () => {
    etcd.put("/svc/api/a", instance("10.0.0.1", 8080));
    server.faults.push({ status: 200, body: "not json" });
    const r = resolver({ maxBodyBytes: 4_096, retries: 1, retryDelayMs: 0 });
    const seen = recordResolver(r);
    r.start();
    await settle(() => seen.errors.length === 1);
    expect([seen.errors[0]?.code, seen.errors[0]?.message]).toEqual([
      "ERR_REGISTRY_BODY",
      `etcd:/svc/api/: POST ${server.url}/v3/kv/range: body of 8 bytes is not JSON (Unexpected token 'o', "not json" is not valid JSON)`,
    ]);
    clock.advance(30_000);
    await settle(() => etcd.watchers.size === 1 && r.endpoints?.length === 1);
    // A watch line that is not a watch message: the watch is dropped and resumed (one retry), the set kept.
    for (const w of etcd.watchers) w.res.write('{"result":{"header":{},"events":{}}}\n');
    await settle(() => seen.errors.length === 2);
    expect(seen.errors[1]?.detail).toBe("events is an object, not an array");
    clock.advance(30_000);
    await settle(() => etcd.watchers.size === 1);
    etcd.put("/svc/api/big", instance("10.0.0.2", 8080, { metadata: { pad: "x".repeat(5_000) } }));
    await settle(() => seen.errors.length === 3);
    expect([seen.errors[2]?.code, seen.errors[2]?.detail]).toEqual([
      "ERR_REGISTRY_TOO_LARGE",
      "a streamed message is over maxBodyBytes (4096)",
    ]);
    expect(ids(r.endpoints)).toEqual(["10.0.0.1:8080 w100"]);
  });

  it("close() ends the watch: its connection closes, no timer or handle is left", async () => {
    etcd.put("/svc/api/a", instance("10.0.0.1", 8080));
    const before = await activeHandles();
    const r = resolver();
    await started(r);
    await r.close();
    await settle(() => etcd.watchers.size === 0);
    expect(clock.pendingTimers).toBe(0);
    await server.close();
    expectNoNewHandles(before, await activeHandles());
    server = await RegistryServer.start(); // for afterEach
  });

  it("refuses bad options with InvalidConfigError naming the option", () => {
    expectConfigErrors(
      (prefix: unknown, options?: unknown) => etcdResolver(prefix as string, options as EtcdResolverOptions),
      [
        ["", undefined, "prefix"],
        [1, undefined, "prefix"],
        [PREFIX, { endpoints: [] }, "endpoints"],
        [PREFIX, { endpoints: "ftp://x" }, "endpoints"],
        [PREFIX, { endpoints: "http://u:p@127.0.0.1:2379" }, "endpoints"],
        [PREFIX, { username: "u" }, "password"],
        [PREFIX, { password: "p" }, "username"],
        [PREFIX, { username: "u", password: "" }, "password"],
        [PREFIX, { pageSize: 0 }, "pageSize"],
        [PREFIX, { pageSize: 100_001 }, "pageSize"],
        [PREFIX, { progressIntervalMs: 0 }, "progressIntervalMs"],
        [PREFIX, { stallFactor: 2 }, "stallFactor"],
        [PREFIX, { minIntervalMs: -1 }, "minIntervalMs"],
        [PREFIX, { headers: { "bad header": "x" } }, "headers"],
        [PREFIX, { timeoutMs: 0 }, "timeoutMs"],
        [PREFIX, null, "options"],
      ],
    );
  });
});
