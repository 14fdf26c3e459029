/**
 * A loopback HTTP server (127.0.0.1, a free port) that plays the write side
 * of three registries for the registrars' tests (none of them can run on the
 * test machines), following their documented semantics:
 *
 * - a **Consul agent** (Consul's "Service - Agent HTTP API" and "Check -
 *   Agent HTTP API"): `PUT /v1/agent/service/register` (200, empty body;
 *   400 without a `Name`), TTL checks that turn `critical` when no update
 *   came within their TTL and whose service is removed once critical for
 *   `DeregisterCriticalServiceAfter` (Consul's reaper, here exact rather than
 *   every 30 s), `PUT /v1/agent/check/pass|warn|fail/<id>` (404 "Unknown
 *   check ID" for a check it does not have, or the 500 "does not have
 *   associated TTL" of agents before 1.11 with `legacy`), `PUT
 *   /v1/agent/service/deregister/<id>` (404 for an unknown one, as Consul
 *   1.11+), `X-Consul-Token` (403 "Permission denied");
 * - **Kong's Admin API** (targets since Kong 2.2, unique per upstream):
 *   `POST /upstreams/<u>/targets` (201 with the target; 409 "unique
 *   constraint violation" when it is there; 404 for an unknown upstream),
 *   `PATCH` and `DELETE /upstreams/<u>/targets/<target>` (200 / 204; 404
 *   when absent), an optional `/<workspace>` prefix, `Kong-Admin-Token`
 *   (401);
 * - **Eureka** (Netflix's "Eureka REST operations", under `/eureka` or
 *   `/eureka/v2`): `POST /apps/<APP>` (204; 400 for a document without
 *   instanceId, hostName, ipAddr, a matching app, or dataCenterInfo), `PUT
 *   /apps/<APP>/<id>` renewals (200; 404 when the instance is unknown or its
 *   lease of `durationInSecs` ran out: evicted, here exactly at expiry
 *   rather than by a task every 60 s), `DELETE /apps/<APP>/<id>` (200; 404).
 *
 * Time is the test's (`now`, a ManualClock's), so TTLs, reaping and lease
 * expiry are exact. `faults` misbehave once each (any status and body, a
 * hang, a connection cut before the answer). Every request is recorded with
 * its method, path, query, headers, parsed JSON body and time.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:http";
import type { Socket } from "node:net";
import { afterEach, beforeEach } from "vitest";
import type { Registrar } from "../../src/index.js";
import { ManualClock } from "../../src/testing/index.js";

/** One request as the server saw it. */
export interface Call {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The parsed JSON body, if any. */
  readonly body: unknown;
  /** The test clock's time when it arrived. */
  readonly at: number;
}

/** A one-shot misbehaviour, taken by the next request. */
export type Fault =
  | { readonly status: number; readonly body?: string; readonly contentType?: string }
  | { readonly hang: true }
  | { readonly destroy: true };

type Reply = (status: number, body?: unknown, contentType?: string) => void;

/** A Consul TTL check as the agent holds it. */
export interface ConsulCheck {
  readonly id: string;
  readonly ttlMs: number;
  status: string;
  updatedAt: number;
  criticalSince: number | undefined;
  readonly reapMs: number | undefined;
}

/** The Consul agent's local services and their TTL checks. */
export class FakeConsulAgent {
  readonly services = new Map<string, { definition: Record<string, unknown>; check: ConsulCheck | undefined }>();
  /** Answer a TTL update for an unknown check as agents before 1.11 did (500 "does not have associated TTL"). */
  legacy = false;
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** A check's status now (after TTL expiry and reaping). */
  status(serviceId: string): string | undefined {
    this.sweep();
    return this.services.get(serviceId)?.check?.status;
  }

  /** Applies TTL expiry (critical) and Consul's reaper (deregister after DeregisterCriticalServiceAfter). */
  sweep(): void {
    const now = this.#now();
    for (const [id, service] of this.services) {
      const check = service.check;
      if (check === undefined) continue;
      const expiry = check.updatedAt + check.ttlMs;
      if (check.status !== "critical" && now >= expiry) {
        check.status = "critical";
        check.criticalSince = expiry;
      }
      if (
        check.reapMs !== undefined &&
        check.criticalSince !== undefined &&
        now >= check.criticalSince + check.reapMs
      ) {
        this.services.delete(id);
      }
    }
  }

  handle(method: string, path: string, body: unknown, reply: Reply): boolean {
    this.sweep();
    const now = this.#now();
    if (method === "PUT" && path === "/v1/agent/service/register") {
      const d = (body ?? {}) as Record<string, unknown>;
      if (typeof d.Name !== "string" || d.Name === "") {
        reply(400, "Missing service name", "text/plain");
        return true;
      }
      const id = typeof d.ID === "string" && d.ID !== "" ? d.ID : d.Name;
      const c = d.Check as Record<string, unknown> | undefined;
      let check: ConsulCheck | undefined;
      if (c !== undefined) {
        const status = typeof c.Status === "string" && c.Status !== "" ? c.Status : "critical";
        check = {
          id: typeof c.CheckID === "string" ? c.CheckID : `service:${id}`,
          ttlMs: parseDuration(c.TTL),
          status,
          updatedAt: now,
          criticalSince: status === "critical" ? now : undefined,
          reapMs:
            c.DeregisterCriticalServiceAfter === undefined
              ? undefined
              : parseDuration(c.DeregisterCriticalServiceAfter),
        };
      }
      this.services.set(id, { definition: d, check });
      reply(200);
      return true;
    }
    const ttl = /^\/v1\/agent\/check\/(pass|warn|fail)\/(.+)$/.exec(path);
    if (method === "PUT" && ttl) {
      const checkId = decodeURIComponent(ttl[2] as string);
      const check = [...this.services.values()].find((s) => s.check?.id === checkId)?.check;
      if (check === undefined) {
        if (this.legacy) reply(500, `CheckID "${checkId}" does not have associated TTL`, "text/plain");
        else
          reply(
            404,
            `Unknown check ID "${checkId}". Ensure that the check ID is passed, not the check name.`,
            "text/plain",
          );
        return true;
      }
      const status = ttl[1] === "pass" ? "passing" : ttl[1] === "warn" ? "warning" : "critical";
      if (status === "critical" && check.status !== "critical") check.criticalSince = now;
      if (status !== "critical") check.criticalSince = undefined;
      check.status = status;
      check.updatedAt = now;
      reply(200);
      return true;
    }
    const deregister = /^\/v1\/agent\/service\/deregister\/(.+)$/.exec(path);
    if (method === "PUT" && deregister) {
      const id = decodeURIComponent(deregister[1] as string);
      if (!this.services.delete(id)) {
        reply(
          404,
          `Unknown service ID "${id}". Ensure that the service ID is passed, not the service name.`,
          "text/plain",
        );
        return true;
      }
      reply(200);
      return true;
    }
    return false;
  }
}

/** A Kong target as the Admin API holds it. */
export interface KongTargetEntity {
  id: string;
  target: string;
  weight: number;
  tags: string[] | null;
  upstream: { id: string };
  created_at: number;
  updated_at: number;
}

/** Kong's upstreams (keyed `"<workspace or default>/<name>"`) and their targets. */
export class FakeKong {
  readonly upstreams = new Map<string, Map<string, KongTargetEntity>>();
  #ids = 0;

  /** Creates an upstream (in `workspace`, default `default`). */
  addUpstream(name: string, workspace = "default"): void {
    this.upstreams.set(`${workspace}/${name}`, new Map());
  }

  /** The targets of an upstream, as `"target w<weight>"`. */
  targets(name: string, workspace = "default"): string[] {
    return [...(this.upstreams.get(`${workspace}/${name}`)?.values() ?? [])].map((t) => `${t.target} w${t.weight}`);
  }

  handle(method: string, path: string, body: unknown, reply: Reply): boolean {
    const m = /^(?:\/([^/]+))?\/upstreams\/([^/]+)\/targets(?:\/([^/]+))?\/?$/.exec(path);
    if (!m) return false;
    const upstream = this.upstreams.get(`${m[1] ?? "default"}/${decodeURIComponent(m[2] as string)}`);
    if (upstream === undefined) {
      reply(404, { message: "Not found" });
      return true;
    }
    const b = (body ?? {}) as { target?: string; weight?: number; tags?: string[] };
    if (m[3] === undefined && method === "POST") {
      const target = String(b.target);
      if (upstream.has(target)) {
        reply(409, {
          code: 5,
          name: "unique constraint violation",
          message: `UNIQUE violation detected on '{target="${target}",upstream={id="e9792ef5"}}'`,
          fields: { target, upstream: { id: "e9792ef5" } },
        });
        return true;
      }
      const entity: KongTargetEntity = {
        id: `target-${++this.#ids}`,
        target,
        weight: b.weight ?? 100,
        tags: b.tags ?? null,
        upstream: { id: "e9792ef5" },
        created_at: 1_700_000_000,
        updated_at: 1_700_000_000,
      };
      upstream.set(target, entity);
      reply(201, entity);
      return true;
    }
    if (m[3] === undefined) return false;
    const target = decodeURIComponent(m[3]);
    const entity = upstream.get(target);
    if (entity === undefined) {
      reply(404, { message: "Not found" });
      return true;
    }
    if (method === "PATCH") {
      if (b.weight !== undefined) entity.weight = b.weight;
      if (b.tags !== undefined) entity.tags = b.tags;
      reply(200, entity);
      return true;
    }
    if (method === "DELETE") {
      upstream.delete(target);
      reply(204);
      return true;
    }
    return false;
  }
}

/** An instance as Eureka holds it. */
export interface EurekaLeaseHeld {
  instance: Record<string, unknown>;
  renewedAt: number;
  durationMs: number;
}

/** Eureka's registry: apps (upper-case) to instances by id, with leases. */
export class FakeEureka {
  readonly apps = new Map<string, Map<string, EurekaLeaseHeld>>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** The instance `id` of `app`, unless its lease ran out (evicted). */
  instance(app: string, id: string): EurekaLeaseHeld | undefined {
    this.evict();
    return this.apps.get(app)?.get(id);
  }

  /** Removes instances whose lease ran out. */
  evict(): void {
    const now = this.#now();
    for (const instances of this.apps.values()) {
      for (const [id, lease] of instances) if (now > lease.renewedAt + lease.durationMs) instances.delete(id);
    }
  }

  handle(method: string, path: string, body: unknown, reply: Reply): boolean {
    const m = /^\/eureka(?:\/v2)?\/apps\/([^/]+)(?:\/([^/]+))?$/.exec(path);
    if (!m) return false;
    this.evict();
    const app = decodeURIComponent(m[1] as string).toUpperCase();
    if (m[2] === undefined && method === "POST") {
      const i = ((body ?? {}) as { instance?: Record<string, unknown> }).instance ?? {};
      const missing = !i.instanceId
        ? "Missing instanceId"
        : !i.hostName
          ? "Missing hostname"
          : !i.ipAddr
            ? "Missing ip address"
            : i.app !== app
              ? `Mismatched appName, expecting ${app} but was ${String(i.app)}`
              : !(i.dataCenterInfo as { name?: string } | undefined)?.name
                ? "Missing dataCenterInfo Name"
                : undefined;
      if (missing !== undefined) {
        reply(400, missing, "text/plain");
        return true;
      }
      const lease = i.leaseInfo as { durationInSecs?: number } | undefined;
      const instances = this.apps.get(app) ?? new Map<string, EurekaLeaseHeld>();
      instances.set(String(i.instanceId), {
        instance: i,
        renewedAt: this.#now(),
        durationMs: (lease?.durationInSecs ?? 90) * 1000,
      });
      this.apps.set(app, instances);
      reply(204);
      return true;
    }
    if (m[2] === undefined) return false;
    const id = decodeURIComponent(m[2]);
    const held = this.apps.get(app)?.get(id);
    if (held === undefined) {
      reply(404);
      return true;
    }
    if (method === "PUT") {
      held.renewedAt = this.#now();
      reply(200);
      return true;
    }
    if (method === "DELETE") {
      this.apps.get(app)?.delete(id);
      reply(200);
      return true;
    }
    return false;
  }
}

export class RegistrarServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly calls: Call[] = [];
  readonly faults: Fault[] = [];
  readonly consul: FakeConsulAgent;
  readonly kong = new FakeKong();
  readonly eureka: FakeEureka;
  /** A token header every request must carry, if set: Consul answers 403, Kong 401, others 401. */
  token: { header: string; value: string } | undefined;
  readonly #now: () => number;
  readonly #server;
  readonly #sockets = new Set<Socket>();
  readonly #held = new Set<ServerResponse>();

  private constructor(server: ReturnType<typeof createServer>, port: number, now: () => number) {
    this.#server = server;
    this.#now = now;
    this.url = `http://127.0.0.1:${port}`;
    this.consul = new FakeConsulAgent(now);
    this.eureka = new FakeEureka(now);
    server.on("connection", (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
    });
  }

  /** Starts a server on 127.0.0.1 and a free port; `now` is the test's clock. */
  static async start(now: () => number): Promise<RegistrarServer> {
    let self: RegistrarServer | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => self?.handle(req, res, Buffer.concat(chunks).toString("utf8")));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    self = new RegistrarServer(server, address.port, now);
    return self;
  }

  /** The calls so far as `"METHOD /path?query@time"`. */
  log(): string[] {
    return this.calls.map((c) => {
      const q = c.query.toString();
      return `${c.method} ${c.path}${q === "" ? "" : `?${q}`}@${c.at}`;
    });
  }

  /** Requests held open right now (hangs). */
  get held(): number {
    return this.#held.size;
  }

  /** Ends held requests and every connection, and stops listening. */
  async close(): Promise<void> {
    for (const res of this.#held) res.destroy();
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse, text: string): void {
    const url = new URL(req.url ?? "/", this.url);
    let body: unknown;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      body = text;
    }
    const method = req.method ?? "";
    this.calls.push({
      method,
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body,
      at: this.#now(),
    });
    const reply: Reply = (status, answer, contentType = "application/json") => {
      const payload =
        answer === undefined
          ? ""
          : typeof answer === "string" && contentType !== "application/json"
            ? answer
            : JSON.stringify(answer);
      res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(payload) });
      res.end(payload);
    };
    const fault = this.faults.shift();
    if (fault !== undefined) {
      if ("hang" in fault) {
        this.#held.add(res);
        res.on("close", () => this.#held.delete(res));
      } else if ("destroy" in fault) {
        req.socket.destroy();
      } else {
        reply(fault.status, fault.body ?? "", fault.contentType ?? "text/plain");
      }
      return;
    }
    if (this.token !== undefined && req.headers[this.token.header.toLowerCase()] !== this.token.value) {
      if (url.pathname.startsWith("/v1/")) reply(403, "Permission denied", "text/plain");
      else reply(401, { message: "Invalid credentials. Token or User credentials required" });
      return;
    }
    if (this.consul.handle(method, url.pathname, body, reply)) return;
    if (this.kong.handle(method, url.pathname, body, reply)) return;
    if (this.eureka.handle(method, url.pathname, body, reply)) return;
    reply(404, { message: "Not found" });
  }
}

/** A Go duration as Consul reads it: `"15s"`, `"1m"`, `"2500ms"`, `"1m30s"`. */
export function parseDuration(value: unknown): number {
  let total = 0;
  const text = String(value);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    const n = Number(m[1]);
    total += m[2] === "ms" ? n : m[2] === "s" ? n * 1000 : m[2] === "m" ? n * 60_000 : n * 3_600_000;
    consumed += m[0].length;
  }
  if (consumed !== text.length || consumed === 0) throw new Error(`not a duration: ${text}`);
  return total;
}

/**
 * Counts a registrar's operations in progress (register, heartbeat,
 * deregister: each one or more requests and the reading of their answers),
 * so a test can wait for what a clock step started to finish (`settle`).
 * Wraps the protected methods on the instance: test-only.
 */
export function watchBusy(registrar: object): { readonly busy: number } {
  let busy = 0;
  const r = registrar as Record<string, (signal: AbortSignal) => Promise<unknown>>;
  for (const op of ["register", "heartbeat", "deregister"]) {
    const original = r[op]?.bind(registrar);
    if (original === undefined) continue;
    r[op] = async (signal: AbortSignal) => {
      busy++;
      try {
        return await original(signal);
      } finally {
        busy--;
      }
    };
  }
  return {
    get busy() {
      return busy;
    },
  };
}

/** Waits until the registrar has no operation in progress and has scheduled what comes next. */
export async function settle(watched: { readonly busy: number }, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (let quiet = 0; quiet < 2; ) {
    if (performance.now() > deadline) throw new Error(`registrar still busy after ${timeoutMs} ms`);
    await new Promise((resolve) => setImmediate(resolve));
    quiet = watched.busy === 0 ? quiet + 1 : 0;
  }
}

/** Moves `clock` forward by `ms` in steps of `stepMs`, letting the registrar finish what each step started. */
export async function advance(
  clock: { advanceAsync(ms: number): Promise<void> },
  watched: { readonly busy: number },
  ms: number,
  stepMs = 1_000,
): Promise<void> {
  for (let done = 0; done < ms; done += stepMs) {
    await clock.advanceAsync(Math.min(stepMs, ms - done));
    await settle(watched);
  }
}

/** A registrar's events as `"name@time"` (`"error@time:message"`), in order. */
export function recordEvents(registrar: Registrar, now: () => number): string[] {
  const events: string[] = [];
  for (const name of ["registered", "lost", "deregistered"] as const) {
    registrar.on(name, () => events.push(`${name}@${now()}`));
  }
  registrar.on("error", (e) => events.push(`error@${now()}:${e.message}`));
  return events;
}

/** What every registrar test works with: a `ManualClock`, a `RegistrarServer` on it, and `track()`. */
export interface RegistrarFixture {
  /** This test's clock (a new one before each test). */
  readonly clock: ManualClock;
  /** This test's server. */
  readonly server: RegistrarServer;
  /**
   * Closes `r` after the test, watches its busy state and records its events;
   * `step(ms)` moves the clock as `advance()` does.
   */
  track<R extends Registrar>(
    r: R,
  ): { r: R; watched: { readonly busy: number }; events: string[]; step: (ms: number) => Promise<void> };
}

/**
 * Registers the hooks of a registrar test file: before each test a new
 * `ManualClock` and a `RegistrarServer` on it (`prepare` sets it up, e.g.
 * the Kong upstream); after each, the tracked registrars closed at once and
 * the server closed.
 */
export function registrarFixture(prepare?: (server: RegistrarServer) => void): RegistrarFixture {
  let clock: ManualClock | undefined;
  let server: RegistrarServer | undefined;
  const open: Registrar[] = [];
  beforeEach(async () => {
    const c = new ManualClock();
    clock = c;
    server = await RegistrarServer.start(() => c.now());
    prepare?.(server);
  });
  afterEach(async () => {
    for (const r of open.splice(0)) await r.close({ timeoutMs: 0 });
    await server?.close();
  });
  return {
    get clock() {
      return clock as ManualClock;
    },
    get server() {
      return server as RegistrarServer;
    },
    track(r) {
      open.push(r);
      const c = clock as ManualClock;
      const watched = watchBusy(r);
      const events = recordEvents(r, () => c.now());
      return { r, watched, events, step: (ms: number) => advance(c, watched, ms) };
    },
  };
}
