/**
 * etcdRegistrar() against the fake of etcd 3.4's JSON gateway
 * (test/helpers/etcd-server.ts) on 127.0.0.1, with a ManualClock for the
 * heartbeats and retries: lease grant then put, keepalives every third of
 * the TTL, a lost lease (keepalive without TTL) registered again with a new
 * lease, revoke on close(), failures retried. The real etcd (a registrar's
 * process killed, its key gone at lease expiry) runs in test/system/etcd.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { EtcdRegistrar, EtcdRegistrarOptions, RegistryError } from "../../src/index.js";
import { etcdRegistrar } from "../../src/index.js";
import { ManualClock, seededRandom } from "../../src/testing/index.js";
import { expectConfigErrors } from "../helpers/config-errors.js";
import { activeHandles, expectNoNewHandles, until } from "../helpers/dns-server.js";
import { EtcdFake } from "../helpers/etcd-server.js";
import { RegistryServer } from "../helpers/registry-server.js";

const KEY = "/svc/api/10.0.0.7:8080";
const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
const text = (base64: string | undefined) => Buffer.from(base64 ?? "", "base64").toString("utf8");

let server: RegistryServer;
let etcd: EtcdFake;
/** A ManualClock that knows when its live timers are due, so a test can wait until the next heartbeat is scheduled. */
class WatchedClock extends ManualClock {
  readonly #live = new Set<{ at: number }>();

  override setTimer(callback: () => void, ms: number) {
    const entry = { at: this.now() + Math.max(0, ms) };
    this.#live.add(entry);
    const timer = super.setTimer(() => {
      this.#live.delete(entry);
      callback();
    }, ms);
    return {
      cancel: () => {
        this.#live.delete(entry);
        timer.cancel();
      },
    };
  }

  /** True when a live timer is due at `at`. */
  scheduled(at: number): boolean {
    for (const e of this.#live) if (e.at === at) return true;
    return false;
  }
}

let clock: WatchedClock;
const open: EtcdRegistrar[] = [];

beforeEach(async () => {
  server = await RegistryServer.start();
  etcd = new EtcdFake(server);
  clock = new WatchedClock();
});

afterEach(async () => {
  for (const r of open.splice(0)) await r.close();
  await server.close();
});

function registrar(options: Partial<EtcdRegistrarOptions> = {}) {
  const r = etcdRegistrar({
    endpoints: server.url,
    key: KEY,
    value: { host: "10.0.0.7", port: 8080, zone: "z1" },
    ttlSeconds: 6,
    timeoutMs: 1_000, // not the heartbeat interval (2,000 ms): a request's deadline is not taken for the next heartbeat
    clock,
    random: seededRandom(1),
    retry: { initialMs: 1_000, maxMs: 4_000, jitter: 0 },
    ...options,
  });
  open.push(r);
  const events: string[] = [];
  for (const e of ["registered", "lost", "deregistered"] as const) r.on(e, () => events.push(`${e}@${clock.now()}`));
  r.on("error", (e) => events.push(`error@${clock.now()}:${(e as RegistryError).code}`));
  return { r, events };
}

const ops = () => etcd.bodies.map((b) => b.path.slice("/v3/".length));
const stored = () => {
  const kv = etcd.kv.get(b64(KEY));
  return kv === undefined ? undefined : { value: text(kv.value), lease: kv.lease };
};

/**
 * Waits until a timer is due at `at` (the next heartbeat or retry, set once
 * the request before it has answered on its real socket), moves the clock
 * there, and waits until `condition` holds.
 */
async function at(time: number, condition: () => boolean): Promise<void> {
  await until(() => clock.scheduled(time));
  clock.advanceTo(time);
  await until(condition);
}

describe("etcdRegistrar()", () => {
  it("registers with a lease (grant, then put), keeps it alive every third of the TTL, and revokes it on close()", async () => {
    const { r, events } = registrar();
    await r.start();
    const lease = r.leaseId as string;
    expect(etcd.bodies.map((b) => [b.path, b.body])).toEqual([
      ["/v3/lease/grant", { TTL: "6" }],
      ["/v3/kv/put", { key: b64(KEY), value: b64('{"host":"10.0.0.7","port":8080,"zone":"z1"}'), lease }],
    ]);
    expect(stored()).toEqual({ value: '{"host":"10.0.0.7","port":8080,"zone":"z1"}', lease });
    expect([r.registered, r.key, r.ttlSeconds, r.name, r.url]).toEqual([true, KEY, 6, `etcd:${KEY}`, `${server.url}/`]);
    await at(2_000, () => etcd.count("/v3/lease/keepalive") === 1);
    await at(4_000, () => etcd.count("/v3/lease/keepalive") === 2);
    await until(() => clock.scheduled(6_000));
    expect(etcd.bodies.filter((b) => b.path === "/v3/lease/keepalive").map((b) => b.body)).toEqual([
      { ID: lease },
      { ID: lease },
    ]);
    await r.close();
    expect(ops()).toEqual(["lease/grant", "kv/put", "lease/keepalive", "lease/keepalive", "lease/revoke"]);
    expect([stored(), etcd.leases.size, r.leaseId]).toEqual([undefined, 0, undefined]);
    expect(events).toEqual(["registered@0", "deregistered@4000"]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("a keepalive without TTL (the lease expired) registers again at once: a new lease, the key put again (etcd3 #110, moleculer #918)", async () => {
    const { r, events } = registrar();
    await r.start();
    const first = r.leaseId as string;
    etcd.expire(first); // etcd unreachable for longer than the TTL: the lease is gone, and the key with it
    expect(stored()).toBeUndefined();
    await at(2_000, () => events.length === 3);
    const second = r.leaseId as string;
    expect(second).not.toBe(first);
    expect(stored()).toEqual({ value: '{"host":"10.0.0.7","port":8080,"zone":"z1"}', lease: second });
    expect(ops()).toEqual(["lease/grant", "kv/put", "lease/keepalive", "lease/grant", "kv/put"]);
    expect(events).toEqual(["registered@0", "lost@2000", "registered@2000"]);
  });

  it("a failed keepalive is an error event and is retried with backoff; the registration stays", async () => {
    const { r, events } = registrar();
    await r.start();
    server.faults.push({
      status: 503,
      body: '{"error":"etcdserver: leader changed","message":"etcdserver: leader changed","code":14}',
    });
    await at(2_000, () => events.length === 2);
    expect(r.lastError?.message).toBe(
      `etcd:${KEY}: POST ${server.url}/v3/lease/keepalive: HTTP 503 Service Unavailable: etcdserver: leader changed`,
    );
    await at(3_000, () => etcd.count("/v3/lease/keepalive") === 2);
    await until(() => r.lastError === undefined);
    expect([r.registered, events]).toEqual([true, ["registered@0", "error@2000:ERR_REGISTRY_HTTP"]]);
  });

  it("a failed registration is retried with backoff: a grant refused, a put whose lease is gone", async () => {
    server.faults.push({ status: 500, body: "{}" });
    const { r, events } = registrar();
    const started = r.start();
    await until(() => events.length === 1);
    // The next grant works but its lease is gone before the put (etcd answers 404 lease not found).
    server.faults.push({
      handle: (req, res) => {
        req.resume();
        req.on("end", () => {
          const id = "7587000000000000999";
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ header: etcd.header(), ID: id, TTL: "6" }));
        });
      },
    });
    await at(1_000, () => events.length === 2);
    await at(3_000, () => r.registered);
    await started;
    expect(events).toEqual(["error@0:ERR_REGISTRY_HTTP", "error@1000:ERR_REGISTRY_HTTP", "registered@3000"]);
    expect(r.lastError).toBeUndefined();
    expect(stored()?.lease).toBe(r.leaseId);
  });

  it("a lease that expired before close() is not an error: the key is already gone", async () => {
    const { r, events } = registrar();
    await r.start();
    etcd.expire(r.leaseId as string);
    await r.close();
    expect(events).toEqual(["registered@0", "deregistered@0"]);
  });

  it("close() during a registration in flight revokes the lease granted, so no key outlives it", async () => {
    const { r, events } = registrar();
    server.faults.push({ hang: true }); // the grant hangs: nothing granted
    const started = r.start().catch((e: Error) => e.name);
    await until(() => server.held === 1);
    await r.close();
    expect(await started).toBe("ClosedError");
    expect(ops()).toEqual([]);
    expect(events).toEqual(["deregistered@0"]);
    // The put hangs after a grant: close() revokes that lease.
    const second = registrar();
    let hanging = false;
    server.routes.set("/v3/kv/put", () => {
      hanging = true; // never answered: the registrar's close() aborts it
    });
    const p = second.r.start().catch((e: Error) => e.name);
    await until(() => hanging);
    await second.r.close();
    expect(await p).toBe("ClosedError");
    expect(ops()).toEqual(["lease/grant", "lease/revoke"]);
    expect(etcd.leases.size).toBe(0);
  });

  it("writes a string value as it is; authenticates when etcd asks for users", async () => {
    etcd.users = new Map([["svc", "pw-1234"]]);
    const { r } = registrar({ value: "10.0.0.7:8080", username: "svc", password: "pw-1234" });
    await r.start();
    expect(stored()?.value).toBe("10.0.0.7:8080");
    expect(ops()).toEqual(["auth/authenticate", "lease/grant", "kv/put"]);
    expect(server.requests.filter((q) => q.path === "/v3/kv/put").map((q) => q.headers.authorization)).toEqual([
      "tok1xyz.1",
    ]);
  });

  it("leaves no timer or handle after close()", async () => {
    const before = await activeHandles();
    const { r } = registrar();
    await r.start();
    await at(2_000, () => etcd.count("/v3/lease/keepalive") === 1);
    await r.close();
    expect(clock.pendingTimers).toBe(0);
    await server.close();
    expectNoNewHandles(before, await activeHandles());
    server = await RegistryServer.start();
  });

  it("refuses bad options with InvalidConfigError naming the option", () => {
    const base = { key: KEY, value: "10.0.0.7:8080" };
    expectConfigErrors(
      (options: unknown) => etcdRegistrar(options as EtcdRegistrarOptions),
      [
        [null, "options"],
        [{ value: "10.0.0.7:8080" }, "key"],
        [{ ...base, key: "" }, "key"],
        [{ key: KEY }, "value"],
        [{ ...base, value: 8080 }, "value"],
        [{ ...base, value: "10.0.0.7" }, "value"],
        [{ ...base, value: { host: "10.0.0.7" } }, "value"],
        [{ ...base, value: { host: "10.0.0.7", port: 70_000 } }, "value"],
        [{ ...base, ttlSeconds: 0 }, "ttlSeconds"],
        [{ ...base, ttlSeconds: 1.5 }, "ttlSeconds"],
        [{ ...base, ttlSeconds: 86_401 }, "ttlSeconds"],
        [{ ...base, endpoints: "ftp://x" }, "endpoints"],
        [{ ...base, username: "u" }, "password"],
        [{ ...base, timeoutMs: -1 }, "timeoutMs"],
        [{ ...base, fetch: "no" }, "fetch"],
        [{ ...base, retry: { initialMs: 0 } }, "retry.initialMs"],
        [{ ...base, clock: {} }, "clock"],
      ],
    );
  });
});
