/**
 * System test: the real etcd (Debian's `etcd-server`, 3.4) on 127.0.0.1 and
 * high ports, a temporary data dir, fast election settings, and watch
 * progress notifications every 200 ms. Instances register themselves with
 * `etcdRegistrar()` and are discovered with `etcdResolver()` through a real
 * upstream; a registrar's process is killed (SIGKILL: no deregistration)
 * and its endpoint disappears when its lease expires; a lease lost under a
 * live registrar is registered again; etcd is killed and started again on
 * the same data dir and the watch resumes where it was; a compaction while
 * the resolver is cut off makes it list again; a watch whose connection
 * goes silent is torn down at 3 × the progress interval and resumed.
 * Through `test/helpers/tcp-proxy.ts` where the network must misbehave.
 *
 * Needs etcd: `scripts/install-test-deps.sh` (Debian's `etcd-server`). Set
 * SWITCHYARD_SKIP_ETCD=1 to skip on a machine without it. Every wait is
 * bounded; etcd is killed in afterAll.
 */
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EtcdRegistrar, RegistryError, Upstream } from "../../src/index.js";
import { createUpstream, etcdRegistrar, etcdResolver } from "../../src/index.js";
import { seededRandom } from "../../src/testing/index.js";
import { activeHandles, until } from "../helpers/dns-server.js";
import { EtcdProcess, findEtcd } from "../helpers/etcd-process.js";
import { pickCounts } from "../helpers/picks.js";
import { TcpProxy } from "../helpers/tcp-proxy.js";

const SKIP = process.env.SWITCHYARD_SKIP_ETCD === "1";
const PROGRESS_MS = 200;
const binary = findEtcd();

const ids = (upstream: Upstream) => upstream.endpoints.map((e) => e.id);

/** The resolver and upstream of a test, with the events seen. */
function discover(url: string, prefix: string, options: Parameters<typeof etcdResolver>[1] = {}) {
  const resolver = etcdResolver(prefix, {
    endpoints: url,
    progressIntervalMs: PROGRESS_MS,
    stallFactor: 3,
    timeoutMs: 1_000,
    jitter: 0,
    retries: 50,
    retryDelayMs: 50,
    maxRetryDelayMs: 200,
    ...options,
  });
  const errors: RegistryError[] = [];
  resolver.on("error", (e) => errors.push(e as RegistryError));
  const upstream = createUpstream({ name: "api", resolver, random: seededRandom(3) });
  return { resolver, upstream, errors };
}

function register(url: string, key: string, port: number, ttlSeconds = 2): EtcdRegistrar {
  return etcdRegistrar({
    endpoints: url,
    key,
    value: { host: "127.0.0.1", port },
    ttlSeconds,
    retry: { initialMs: 100, maxMs: 300 },
  });
}

/** A child process that registers `key` and runs until killed; resolves once it said "registered". */
async function registeringChild(url: string, key: string, port: number): Promise<ChildProcess> {
  const fixture = resolve(import.meta.dirname, "fixtures/etcd-registrar-child.mts");
  const child = spawn(process.execPath, ["--import", "tsx", fixture], {
    env: { ...process.env, ETCD_URL: url, KEY: key, VALUE: `127.0.0.1:${port}`, TTL: "2" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  await until(() => out.includes("registered ") || child.exitCode !== null, 15_000);
  if (!out.includes("registered ")) throw new Error(`the registrar child exited: ${out}`);
  return child;
}

describe.skipIf(SKIP)("etcd system test", () => {
  let etcd: EtcdProcess;

  beforeAll(async () => {
    if (binary === undefined) {
      throw new Error(
        "etcd not found: run scripts/install-test-deps.sh (apt-get install etcd-server), or set SWITCHYARD_SKIP_ETCD=1 to skip",
      );
    }
    etcd = await EtcdProcess.create(binary, PROGRESS_MS);
    await etcd.start();
  });

  afterAll(async () => {
    await etcd?.dispose();
  });

  it("registrars register, the resolver discovers them through an upstream; close() deregisters at once", async () => {
    const a = register(etcd.url, "/t1/api/a", 9001);
    const b = register(etcd.url, "/t1/api/b", 9002);
    await Promise.all([a.start(), b.start()]);
    const { resolver, upstream, errors } = discover(etcd.url, "/t1/api/");
    try {
      await upstream.ready({ timeoutMs: 5_000 });
      expect(ids(upstream)).toEqual(["127.0.0.1:9001", "127.0.0.1:9002"]);
      expect(pickCounts(upstream, 200)).toEqual({ "127.0.0.1:9001": 100, "127.0.0.1:9002": 100 });
      await b.close();
      await until(() => ids(upstream).length === 1, 5_000);
      expect(ids(upstream)).toEqual(["127.0.0.1:9001"]);
      expect([resolver.lists, errors]).toEqual([1, []]);
    } finally {
      await Promise.all([a.close(), b.close(), upstream.close()]);
    }
  });

  it("a registrar's process killed without deregistering: its endpoint disappears when its lease expires", async () => {
    const stays = register(etcd.url, "/t2/api/stays", 9010);
    await stays.start();
    const { upstream } = discover(etcd.url, "/t2/api/");
    let child: ChildProcess | undefined;
    try {
      await upstream.ready({ timeoutMs: 5_000 });
      child = await registeringChild(etcd.url, "/t2/api/child", 9011);
      await until(() => ids(upstream).length === 2, 5_000);
      const exited = once(child, "exit");
      child.kill("SIGKILL");
      await exited;
      const killedAt = performance.now();
      await until(() => ids(upstream).length === 1, 8_000);
      const gone = performance.now() - killedAt;
      // The lease (TTL 2 s) was renewed at most 2/3 s before the kill; etcd checks expiry every 500 ms.
      expect(gone).toBeGreaterThan(1_000);
      expect(gone).toBeLessThan(4_000);
      expect(ids(upstream)).toEqual(["127.0.0.1:9010"]);
    } finally {
      if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await Promise.all([stays.close(), upstream.close()]);
    }
  });

  it("a lease lost under a live registrar is seen by its keepalive, and the instance registered again", async () => {
    const registrar = register(etcd.url, "/t3/api/a", 9020, 3);
    const events: string[] = [];
    registrar.on("lost", () => events.push("lost"));
    registrar.on("registered", () => events.push("registered"));
    await registrar.start();
    const { upstream } = discover(etcd.url, "/t3/api/");
    try {
      await upstream.ready({ timeoutMs: 5_000 });
      const first = registrar.leaseId as string;
      await etcd.revoke(first); // as if it had expired while etcd could not be reached
      await until(() => events.length === 3, 5_000); // the next keepalive (within 1 s) finds no TTL
      expect(events).toEqual(["registered", "lost", "registered"]);
      expect(registrar.leaseId).not.toBe(first);
      await until(() => ids(upstream).length === 1, 5_000);
      expect(ids(upstream)).toEqual(["127.0.0.1:9020"]);
    } finally {
      await Promise.all([registrar.close(), upstream.close()]);
    }
  });

  it("etcd killed and started again on its data dir: the watch resumes from its revision; leases survive", async () => {
    const registrar = register(etcd.url, "/t4/api/a", 9030, 5);
    await registrar.start();
    const { resolver, upstream, errors } = discover(etcd.url, "/t4/api/");
    try {
      await upstream.ready({ timeoutMs: 5_000 });
      const revision = resolver.revision;
      await etcd.kill("SIGKILL");
      await etcd.start();
      await etcd.put("/t4/api/b", '{"host":"127.0.0.1","port":9031}');
      await until(() => ids(upstream).length === 2, 10_000);
      expect(ids(upstream)).toEqual(["127.0.0.1:9030", "127.0.0.1:9031"]);
      expect(resolver.lists).toBe(1); // resumed, not listed again
      expect(resolver.revision > revision).toBe(true);
      expect(errors).toEqual([]); // retried within the refresh: nothing to report
      expect(registrar.registered).toBe(true);
    } finally {
      await Promise.all([registrar.close(), upstream.close()]);
    }
  });

  it("a compaction past the revision the watch resumes from makes the resolver list again", async () => {
    const proxy = await TcpProxy.start(etcd.clientPort);
    await etcd.put("/t5/api/a", "127.0.0.1:9040");
    await etcd.put("/t5/api/b", "127.0.0.1:9041");
    const { resolver, upstream } = discover(proxy.url, "/t5/api/");
    try {
      await upstream.ready({ timeoutMs: 5_000 });
      proxy.mode = "refuse";
      proxy.cut(); // the resolver is cut off from etcd, and keeps trying
      await etcd.delete("/t5/api/a");
      await etcd.put("/t5/api/c", "127.0.0.1:9042");
      await etcd.compact(await etcd.revision());
      proxy.mode = "forward";
      await until(() => resolver.lists === 2 && ids(upstream).length === 2, 10_000);
      expect(ids(upstream)).toEqual(["127.0.0.1:9041", "127.0.0.1:9042"]);
      await etcd.put("/t5/api/d", "127.0.0.1:9043"); // and watches again from the new list
      await until(() => ids(upstream).length === 3, 5_000);
    } finally {
      await upstream.close();
      await proxy.close();
    }
  });

  it("a watch whose connection goes silent is torn down at 3 × the progress interval, reported, and resumed", async () => {
    const proxy = await TcpProxy.start(etcd.clientPort);
    await etcd.put("/t6/api/a", "127.0.0.1:9050");
    const { resolver, upstream, errors } = discover(proxy.url, "/t6/api/");
    try {
      await upstream.ready({ timeoutMs: 5_000 });
      // Healthy: progress notifications every 200 ms keep the watch alive for longer than its stall deadline.
      await new Promise((r) => setTimeout(r, 1_000));
      expect(errors).toEqual([]);
      resolver.on("error", () => {
        proxy.mode = "forward"; // the network heals once the stall is seen: the watch opened again gets through
      });
      proxy.mode = "blackhole";
      const silentAt = performance.now();
      await until(() => errors.length === 1, 5_000);
      const detected = performance.now() - silentAt;
      // 600 ms after the last message, which came at most one interval before the silence began.
      expect(detected).toBeGreaterThan(2 * PROGRESS_MS - 50);
      expect(detected).toBeLessThan(3_000);
      expect([errors[0]?.code, errors[0]?.detail]).toEqual([
        "ERR_REGISTRY_STALLED",
        "the watch was silent for 600 ms (3 × the 200 ms progress interval); it is opened again",
      ]);
      await etcd.put("/t6/api/b", "127.0.0.1:9051");
      await until(() => ids(upstream).length === 2, 5_000);
      expect(upstream.lastResolverError).toBeUndefined();
      expect(resolver.lists).toBe(1);
    } finally {
      await upstream.close();
      await proxy.close();
    }
  });

  it("close() of registrars, resolver and upstream leaves no handle", async () => {
    const before = await activeHandles();
    const registrar = register(etcd.url, "/t7/api/a", 9060);
    await registrar.start();
    const { upstream } = discover(etcd.url, "/t7/api/");
    await upstream.ready({ timeoutMs: 5_000 });
    await registrar.close();
    await upstream.close();
    // Sockets closed by close() may take an I/O turn or two to be released: look again for up to 3 s.
    let left: Record<string, number> = {};
    for (const deadline = performance.now() + 3_000; ; ) {
      const now = await activeHandles();
      left = Object.fromEntries(Object.entries(now).filter(([kind, n]) => n > (before[kind] ?? 0)));
      if (Object.keys(left).length === 0 || performance.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(left).toEqual({});
  });
});
