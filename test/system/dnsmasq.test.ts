/**
 * System test: the real dnsmasq (Debian package) on 127.0.0.1 and a high
 * port, SRV records from a conf file. Restarted with changed records (SIGHUP
 * does not reload SRV records), killed to prove the last good set is kept,
 * started again to prove the resolver recovers. The test spawns dnsmasq as a
 * child and waits for its exit when stopping it.
 *
 * Started without `--local=/test/`, dnsmasq with `--no-resolv` answers
 * REFUSED for a record type a name lacks (AAAA of an A-only name): family 0
 * must publish the A answer and report the AAAA failure as ERR_DNS_PARTIAL.
 *
 * Needs dnsmasq: `scripts/install-test-deps.sh` (Debian's `dnsmasq-base`, the
 * binary without the system service). Set SWITCHYARD_SKIP_DNSMASQ=1 to skip on
 * a machine without it. The script's own test (test/system/install-test-deps.test.ts)
 * runs either way.
 */
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { Resolver as NodeDnsResolver } from "node:dns/promises";
import { once } from "node:events";
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DnsError, Endpoint, Upstream } from "../../src/index.js";
import { createUpstream, dnsHostResolver, dnsSrvResolver } from "../../src/index.js";
import { seededRandom } from "../../src/testing/index.js";
import { activeHandles, expectNoNewHandles } from "../helpers/dns-server.js";
import { pickCounts } from "../helpers/picks.js";

const SKIP = process.env.SWITCHYARD_SKIP_DNSMASQ === "1";
const NAME = "_api._tcp.svc.test";

function findDnsmasq(): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/sbin"];
  for (const dir of dirs) {
    if (dir === "") continue;
    const candidate = join(dir, "dnsmasq");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

/** A UDP and TCP port both free on 127.0.0.1. */
async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = createSocket("udp4");
    await new Promise<void>((resolve) => udp.bind(0, "127.0.0.1", resolve));
    const port = udp.address().port;
    const tcp = createServer();
    const ok = await new Promise<boolean>((resolve) => {
      tcp.once("error", () => resolve(false));
      tcp.listen(port, "127.0.0.1", () => resolve(true));
    });
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (ok) await new Promise<void>((resolve) => tcp.close(() => resolve()));
    if (ok && port > 1024) return port;
  }
  throw new Error("no free port for dnsmasq");
}

/** How dnsmasq is started: its `host-record=` lines, and whether it answers for `.test` only (`--local=/test/`). */
interface StartOptions {
  /** `host-record=` lines. Default: `a.svc.test,127.0.0.11` (A only). */
  readonly hostRecords?: readonly string[];
  /**
   * `--local=/test/`: names under .test it has no record for are NXDOMAIN, a
   * type a name lacks NODATA. Without it (and with `--no-resolv`) both are
   * REFUSED. Default true.
   */
  readonly local?: boolean;
}

/** dnsmasq as a child process serving `srv-host=` lines on `port`. */
class Dnsmasq {
  #child: ChildProcess | undefined;
  #stderr = "";

  constructor(
    readonly binary: string,
    readonly dir: string,
    readonly port: number,
  ) {}

  /** Writes the conf file, spawns dnsmasq (stopping one still running), and waits until it answers `NAME`. */
  async start(srvHosts: readonly string[], options: StartOptions = {}): Promise<void> {
    await this.stop();
    const conf = join(this.dir, "dnsmasq.conf");
    const hostRecords = options.hostRecords ?? ["a.svc.test,127.0.0.11"];
    writeFileSync(
      conf,
      [...srvHosts.map((line) => `srv-host=${line}`), ...hostRecords.map((line) => `host-record=${line}`), ""].join(
        "\n",
      ),
    );
    this.#stderr = "";
    const child = spawn(
      this.binary,
      [
        "--keep-in-foreground",
        `--conf-file=${conf}`,
        "--listen-address=127.0.0.1",
        "--bind-interfaces",
        `--port=${this.port}`,
        "--no-resolv",
        "--no-hosts",
        "--no-poll",
        ...(options.local === false ? [] : ["--local=/test/"]),
        `--pid-file=${join(this.dir, "dnsmasq.pid")}`,
        "--log-facility=-",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    child.stderr?.on("data", (chunk: Buffer) => {
      this.#stderr += chunk.toString();
    });
    this.#child = child;
    const probe = new NodeDnsResolver({ timeout: 100, tries: 1 });
    probe.setServers([`127.0.0.1:${this.port}`]);
    const deadline = performance.now() + 5_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`dnsmasq exited with ${child.exitCode}: ${this.#stderr}`);
      try {
        await probe.resolveSrv(NAME);
        return;
      } catch (error) {
        if (performance.now() > deadline) throw new Error(`dnsmasq not answering after 5 s: ${error} ${this.#stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }

  /** SIGTERM, then waits for the exit event. */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    await exited;
  }
}

/** Resolves with the next `event` from `emitter`, or rejects after `ms` of real time. */
function next<T>(emitter: Upstream, event: "endpoints" | "resolverError", ms = 5_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, done);
      reject(new Error(`no ${event} event within ${ms} ms`));
    }, ms);
    const done = (value: unknown) => {
      clearTimeout(timer);
      emitter.off(event, done);
      resolve(value as T);
    };
    emitter.on(event, done);
  });
}

const ids = (endpoints: readonly Endpoint[]) => endpoints.map((e) => `${e.id} w${e.weight} p${e.priority}`);

const binary = findDnsmasq();

describe.skipIf(SKIP)("dnsmasq system test", () => {
  let dir: string;
  let dnsmasq: Dnsmasq;

  beforeAll(async () => {
    if (binary === undefined) {
      throw new Error(
        "dnsmasq not found: run scripts/install-test-deps.sh (apt-get install dnsmasq-base), or set SWITCHYARD_SKIP_DNSMASQ=1 to skip",
      );
    }
    dir = mkdtempSync(join(tmpdir(), "switchyard-dnsmasq-"));
    dnsmasq = new Dnsmasq(binary, dir, await freePort());
  });

  afterAll(async () => {
    await dnsmasq?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("serves SRV discovery; restarts with new records; keeps the last good set while it is down; recovers", async () => {
    const before = await activeHandles();
    // KrakenD's documented example: 10/1, 10/2, 20/1 → 1:2:0. srv-host=name,target,port,priority,weight
    await dnsmasq.start([
      `${NAME},a.svc.test,8001,10,1`,
      `${NAME},b.svc.test,8002,10,2`,
      `${NAME},c.svc.test,8003,20,1`,
    ]);
    const resolver = dnsSrvResolver(NAME, {
      servers: `127.0.0.1:${dnsmasq.port}`,
      intervalMs: 100,
      jitter: 0,
      retries: 0,
      timeoutMs: 200,
      tries: 1,
    });
    const upstream = createUpstream({ name: "api", resolver, random: seededRandom(9) });
    try {
      await upstream.ready({ timeoutMs: 5_000 });
      expect(ids(upstream.endpoints)).toEqual([
        "a.svc.test:8001 w1 p10",
        "b.svc.test:8002 w2 p10",
        "c.svc.test:8003 w1 p20",
      ]);
      expect(pickCounts(upstream, 300, (e) => e.host)).toEqual({ "a.svc.test": 100, "b.svc.test": 200 });

      // Unchanged answers cause no event (shuffled answers: test/resolvers/dns/srv.test.ts).
      let changes = 0;
      const count = () => changes++;
      upstream.on("endpoints", count);
      for (let i = 0; i < 10; i++) await resolver.refresh();
      upstream.off("endpoints", count);
      expect(changes).toBe(0);

      // Restart with changed records.
      await dnsmasq.stop();
      const changed = next<unknown>(upstream, "endpoints");
      await dnsmasq.start([
        `${NAME},a.svc.test,8001,10,1`,
        `${NAME},b.svc.test,8002,10,5`,
        `${NAME},d.svc.test,8004,10,0`,
      ]);
      await changed;
      expect(ids(upstream.endpoints)).toEqual([
        "a.svc.test:8001 w1 p10",
        "b.svc.test:8002 w5 p10",
        "d.svc.test:8004 w1 p10",
      ]);

      // Down: errors, and the last good set stays.
      const failed = next<DnsError>(upstream, "resolverError");
      await dnsmasq.stop();
      const error = await failed;
      expect(["ERR_DNS_LOOKUP", "ERR_DNS_TIMEOUT"]).toContain(error.code);
      expect(error.message).toContain(`127.0.0.1:${dnsmasq.port}`);
      await next(upstream, "resolverError");
      expect(ids(upstream.endpoints)).toEqual([
        "a.svc.test:8001 w1 p10",
        "b.svc.test:8002 w5 p10",
        "d.svc.test:8004 w1 p10",
      ]);
      // ...and is served: one full cycle (3 endpoints × weight 7) of weighted round robin.
      expect(pickCounts(upstream, 21, (e) => e.port)).toEqual({ 8001: 3, 8002: 15, 8004: 3 });

      // Back: the resolver recovers on its next refresh.
      const recovered = next<unknown>(upstream, "endpoints");
      await dnsmasq.start([`${NAME},e.svc.test,8005,0,3`]);
      await recovered;
      expect(ids(upstream.endpoints)).toEqual(["e.svc.test:8005 w3 p0"]);
    } finally {
      await upstream.close();
    }
    await dnsmasq.stop();
    expectNoNewHandles(before, await activeHandles());
  });

  it("resolveTargets against dnsmasq: SRV port and weight on the target's address, hostname kept", async () => {
    await dnsmasq.start([`${NAME},a.svc.test,8443,0,7`]);
    const resolver = dnsSrvResolver(NAME, { servers: `127.0.0.1:${dnsmasq.port}`, resolveTargets: true, family: 4 });
    try {
      const upstream = createUpstream({ name: "api", resolver });
      await upstream.ready({ timeoutMs: 5_000 });
      expect(upstream.endpoints.map((e) => [e.id, e.weight, e.hostname])).toEqual([
        ["127.0.0.11:8443", 7, "a.svc.test"],
      ]);
      await upstream.close();
    } finally {
      await resolver.close();
      await dnsmasq.stop();
    }
  });

  it("resolveTargets, family 0: a dual-stack target takes its SRV weight's share, not one share per address", async () => {
    // a.svc.test has A only (AAAA is NODATA under --local), b.svc.test A and AAAA; equal SRV weights.
    await dnsmasq.start([`${NAME},a.svc.test,8001,0,1`, `${NAME},b.svc.test,8002,0,1`], {
      hostRecords: ["a.svc.test,127.0.0.11", "b.svc.test,127.0.0.12,fd00::12"],
    });
    const resolver = dnsSrvResolver(NAME, { servers: `127.0.0.1:${dnsmasq.port}`, resolveTargets: true, jitter: 0 });
    const upstream = createUpstream({ name: "api", resolver, random: seededRandom(3) });
    try {
      await upstream.ready({ timeoutMs: 5_000 });
      expect(upstream.endpoints.map((e) => [e.id, e.weight, e.hostname])).toEqual([
        ["127.0.0.11:8001", 2, "a.svc.test"],
        ["127.0.0.12:8002", 1, "b.svc.test"],
        ["[fd00::12]:8002", 1, "b.svc.test"],
      ]);
      // Equal shares: the weighted round robin's random start leaves the first window one pick off, no more.
      expect(pickCounts(upstream, 4_000, (e) => e.hostname ?? e.host)).toEqual({
        "a.svc.test": 2_001,
        "b.svc.test": 1_999,
      });
      expect(upstream.snapshot().lastResolverError).toBeUndefined();
    } finally {
      await upstream.close();
      await dnsmasq.stop();
    }
  });

  it("family 0 against dnsmasq --no-resolv, which refuses AAAA: the A answer is published at once, ERR_DNS_PARTIAL after", async () => {
    await dnsmasq.start([`${NAME},a.svc.test,8443,0,7`], { local: false });
    const servers = `127.0.0.1:${dnsmasq.port}`;
    // What dnsmasq itself does: A answered, AAAA refused.
    const probe = new NodeDnsResolver({ timeout: 1_000, tries: 1 });
    probe.setServers([servers]);
    expect(await probe.resolve4("a.svc.test")).toEqual(["127.0.0.11"]);
    expect(await probe.resolve6("a.svc.test").catch((e: NodeJS.ErrnoException) => e.code)).toBe("EREFUSED");
    const host = dnsHostResolver("a.svc.test", { servers, port: 443 }); // default retries and backoff: none spent
    const srv = dnsSrvResolver(NAME, { servers, resolveTargets: true });
    for (const [resolver, ids] of [
      [host, ["127.0.0.11:443 w100 a.svc.test"]],
      [srv, ["127.0.0.11:8443 w7 a.svc.test"]],
    ] as const) {
      const upstream = createUpstream({ name: "api", resolver });
      const errors: DnsError[] = [];
      upstream.on("resolverError", (e) => errors.push(e as DnsError));
      try {
        const started = performance.now();
        await upstream.ready({ timeoutMs: 5_000 });
        expect(performance.now() - started).toBeLessThan(1_000); // was ~2.9 s of retries, then ERR_DNS_REFUSED
        await resolver.whenIdle();
        expect(upstream.endpoints.map((e) => `${e.id} w${e.weight} ${e.hostname}`)).toEqual(ids);
        expect(errors.map((e) => [e.code, e.rrtype, e.record, e.failures.map((f) => f.code)])).toEqual([
          ["ERR_DNS_PARTIAL", "AAAA", "a.svc.test", ["ERR_DNS_REFUSED"]],
        ]);
        expect(upstream.snapshot().lastResolverError?.code).toBe("ERR_DNS_PARTIAL");
      } finally {
        await upstream.close();
      }
    }
    await dnsmasq.stop();
  });
});
