/**
 * A loopback HTTP server (127.0.0.1, a free port) that plays Consul's and
 * Kong's Admin HTTP APIs for the registry resolvers' tests, following their
 * documented semantics with recorded bodies in their documented shapes
 * (test/fixtures/registry/):
 *
 * - Consul `GET /v1/health/service/<name>`: `X-Consul-Index`; blocking
 *   queries (`index`, `wait`: held until the service changes or the wait
 *   passes); `passing` and `tag` filters; `X-Consul-Token` when a token is
 *   set. Tests can set the index (to make it go backwards), answer every
 *   query at once whatever its index (a misbehaving server), or go silent.
 * - Kong `GET /upstreams/<name>/targets` and `/health`: paging with `size`
 *   (default 100, at most 1000), `offset` and `next`; `Kong-Admin-Token`;
 *   404 for an unknown upstream.
 * - Eureka `GET /eureka/apps/<APP>` and `/eureka/v2/apps/<APP>`: the
 *   application's instances, `instance` an array, or a single object when
 *   there is one (`eurekaSingleObject`); the name matched in upper case;
 *   404 for an application Eureka does not know; XML unless the request
 *   accepts `application/json` (Eureka's default).
 * - `faults`: one-shot misbehaviour for the next request (any status and
 *   body, a hang, a connection destroyed before or during the body).
 * - `routes`: any other path, for the generic JSON resolver.
 *
 * Every request is recorded. `close()` ends held requests and connections.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:http";
import type { Socket } from "node:net";
import type { Endpoint, RegistryError, Resolver } from "../../src/index.js";

/** One request as the server saw it. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** A one-shot misbehaviour, taken by the next request. */
export type Fault =
  | { readonly status: number; readonly body?: string; readonly headers?: Record<string, string> }
  | { readonly hang: true }
  | { readonly destroy: "before-headers" | "mid-body" }
  | { readonly handle: (req: IncomingMessage, res: ServerResponse) => void };

/** A Consul service as the server holds it. */
interface ConsulService {
  index: number;
  entries: unknown[];
}

/** A Kong upstream as the server holds it. */
export interface KongUpstream {
  targets: unknown[];
  health?: unknown[];
}

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

export class RegistryServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly requests: RecordedRequest[] = [];
  /** One-shot faults, taken in order by the next requests. */
  readonly faults: Fault[] = [];
  /** Handlers of other paths (exact pathname). */
  readonly routes = new Map<string, Handler>();
  /** Consul: hold blocking queries forever ("blocking"), or every query ("all"). */
  silent: false | "blocking" | "all" = false;
  /** Consul: answer blocking queries at once, whatever their index (a misbehaving server). */
  ignoreIndex = false;
  /** Consul: the `X-Consul-Index` header to send instead of the service's index (`null`: none). */
  indexHeader: string | null | undefined;
  /** Consul: the ACL token required, if any. */
  consulToken: string | undefined;
  /** Kong: the admin token required, if any. */
  kongToken: string | undefined;
  readonly kong = new Map<string, KongUpstream>();
  /** Eureka: the instances of each application (by upper-case name). */
  readonly eureka = new Map<string, unknown[]>();
  /** Eureka: an application with one instance has `instance` as a single object, not an array of one. */
  eurekaSingleObject = true;
  readonly #consul = new Map<string, ConsulService>();
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #server;
  readonly #sockets = new Set<Socket>();
  readonly #held = new Set<ServerResponse>();

  private constructor(server: ReturnType<typeof createServer>, port: number) {
    this.#server = server;
    this.url = `http://127.0.0.1:${port}`;
    server.on("connection", (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
    });
  }

  /** Starts a server on 127.0.0.1 and a free port. */
  static async start(): Promise<RegistryServer> {
    let self: RegistryServer | undefined;
    const server = createServer((req, res) => self?.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    self = new RegistryServer(server, address.port);
    return self;
  }

  /** Open client connections right now. */
  get connections(): number {
    return this.#sockets.size;
  }

  /** Requests held open right now (blocking queries, hangs). */
  get held(): number {
    return this.#held.size;
  }

  /** Requests for `path` so far. */
  count(path: string): number {
    return this.requests.filter((r) => r.path === path).length;
  }

  /** Sets a Consul service's entries; its index grows by one (or is set to `index`) and held queries answer. */
  setConsul(name: string, entries: unknown[], index?: number): void {
    const current = this.#consul.get(name);
    // An unknown service answers with index 1: its first entries come at 2.
    this.#consul.set(name, { entries, index: index ?? (current?.index ?? 1) + 1 });
    const waiters = this.#waiters.get(name);
    this.#waiters.delete(name);
    for (const wake of waiters ?? []) wake();
  }

  /** A Consul service's index now. */
  consulIndex(name: string): number {
    return this.#consul.get(name)?.index ?? 0;
  }

  /** Ends held requests and every connection, and stops listening. */
  async close(): Promise<void> {
    for (const res of this.#held) res.destroy();
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", this.url);
    this.requests.push({ method: req.method ?? "", path: url.pathname, query: url.searchParams, headers: req.headers });
    const fault = this.faults.shift();
    if (fault !== undefined) {
      this.#fault(fault, req, res);
      return;
    }
    const route = this.routes.get(url.pathname);
    if (route !== undefined) {
      route(req, res, url);
      return;
    }
    const consul = /^\/v1\/health\/service\/([^/]+)$/.exec(url.pathname);
    if (consul) {
      this.#consulHealth(decodeURIComponent(consul[1] as string), req, res, url);
      return;
    }
    const eureka = /^\/eureka(?:\/v2)?\/apps\/([^/]+)\/?$/.exec(url.pathname);
    if (eureka) {
      this.#eureka(decodeURIComponent(eureka[1] as string).toUpperCase(), req, res);
      return;
    }
    const kong = /^\/upstreams\/([^/]+)\/(targets|health)\/?$/.exec(url.pathname);
    if (kong) {
      this.#kong(decodeURIComponent(kong[1] as string), kong[2] as "targets" | "health", req, res, url);
      return;
    }
    json(res, 404, { message: "Not found" });
  }

  #fault(fault: Fault, req: IncomingMessage, res: ServerResponse): void {
    if ("handle" in fault) {
      fault.handle(req, res);
      return;
    }
    if ("hang" in fault) {
      this.#hold(res);
      return;
    }
    if ("destroy" in fault) {
      if (fault.destroy === "before-headers") {
        req.socket.destroy();
        return;
      }
      res.writeHead(200, { "content-type": "application/json", "content-length": "1000" });
      res.write('[{"Node":');
      setImmediate(() => req.socket.destroy());
      return;
    }
    const body = fault.body ?? "";
    res.writeHead(fault.status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      ...fault.headers,
    });
    res.end(body);
  }

  #hold(res: ServerResponse): void {
    this.#held.add(res);
    res.on("close", () => this.#held.delete(res));
  }

  #consulHealth(name: string, req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (this.consulToken !== undefined && req.headers["x-consul-token"] !== this.consulToken) {
      res.writeHead(403, { "content-type": "text/plain" });
      res.end("ACL not found");
      return;
    }
    const q = url.searchParams;
    const blocking = q.has("index") && Number(q.get("index")) > 0;
    if (this.silent === "all" || (this.silent === "blocking" && blocking)) {
      this.#hold(res);
      return;
    }
    const answer = () => {
      const service = this.#consul.get(name) ?? { index: 1, entries: [] };
      const passing = q.has("passing") && q.get("passing") !== "false";
      const tags = q.getAll("tag");
      const entries = service.entries.filter((e) => {
        const entry = e as { Checks?: { Status?: string }[]; Service?: { Tags?: string[] } };
        if (passing && !(entry.Checks ?? []).every((c) => c.Status === "passing")) return false;
        return tags.every((t) => entry.Service?.Tags?.includes(t));
      });
      const header = this.indexHeader === undefined ? String(service.index) : this.indexHeader;
      json(res, 200, entries, header === null ? {} : { "X-Consul-Index": header });
    };
    const held = this.#consul.get(name)?.index ?? 1;
    if (!blocking || this.ignoreIndex || Number(q.get("index")) < held) {
      answer();
      return;
    }
    // Held until the service changes or the wait passes (Consul's default 5 m; at most 10 m).
    this.#hold(res);
    let timer: NodeJS.Timeout | undefined;
    const wake = () => {
      clearTimeout(timer);
      this.#waiters.get(name)?.delete(wake);
      if (!res.destroyed) answer();
    };
    timer = setTimeout(wake, Math.min(parseWait(q.get("wait")), 600_000));
    res.on("close", () => {
      clearTimeout(timer);
      this.#waiters.get(name)?.delete(wake);
    });
    const waiters = this.#waiters.get(name) ?? new Set();
    waiters.add(wake);
    this.#waiters.set(name, waiters);
  }

  #eureka(name: string, req: IncomingMessage, res: ServerResponse): void {
    const instances = this.eureka.get(name);
    if (instances === undefined) {
      res.writeHead(404);
      res.end();
      return;
    }
    if (!(req.headers.accept ?? "").includes("application/json")) {
      res.writeHead(200, { "content-type": "application/xml" });
      res.end(`<application><name>${name}</name></application>`);
      return;
    }
    const instance = instances.length === 1 && this.eurekaSingleObject ? instances[0] : instances;
    json(res, 200, { application: { name, instance } });
  }

  #kong(name: string, what: "targets" | "health", req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (this.kongToken !== undefined && req.headers["kong-admin-token"] !== this.kongToken) {
      json(res, 401, { message: "Invalid credentials. Token or User credentials required" });
      return;
    }
    const upstream = this.kong.get(name);
    if (upstream === undefined) {
      json(res, 404, { message: "Not found" });
      return;
    }
    const all = what === "targets" ? upstream.targets : (upstream.health ?? []);
    const size = Math.min(1000, Number(url.searchParams.get("size") ?? 100) || 100);
    const offset = url.searchParams.get("offset");
    const start = offset === null ? 0 : Number(Buffer.from(offset, "base64").toString());
    const data = all.slice(start, start + size);
    const more = start + size < all.length;
    const token = Buffer.from(String(start + size)).toString("base64");
    const body: Record<string, unknown> = {
      data,
      next: more ? `/upstreams/${encodeURIComponent(name)}/${what}?offset=${encodeURIComponent(token)}` : null,
    };
    if (more) body.offset = token;
    if (what === "health") {
      body.total = all.length;
      body.node_id = "cbb297c0-14a9-46bc-ad91-1d0ef9b42df9";
    }
    json(res, 200, body);
  }
}

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago): connections to it are refused. */
export async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Sends `body` as JSON with `status`. */
export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Consul's `wait` ("60s", "5m", "500ms"); 5 minutes when absent. */
function parseWait(wait: string | null): number {
  const m = /^(\d+)(ms|s|m)$/.exec(wait ?? "");
  if (!m) return 300_000;
  const n = Number(m[1]);
  return m[2] === "ms" ? n : m[2] === "s" ? n * 1000 : n * 60_000;
}

/** A Consul health entry in the documented shape (the fixture's), with what a test varies. */
export function consulEntry(fields: {
  node?: string;
  nodeAddress?: string;
  id?: string;
  service?: string;
  address?: string;
  port?: unknown;
  tags?: unknown;
  meta?: unknown;
  weights?: unknown;
  checks?: readonly string[];
}): unknown {
  const node = fields.node ?? "node-1";
  const service = fields.service ?? "api";
  const id = fields.id ?? `${service}-${fields.address ?? fields.nodeAddress ?? node}-${String(fields.port ?? 8080)}`;
  const entry = {
    Node: {
      ID: "40e4a748-2192-161a-0510-9bf59fe950b5",
      Node: node,
      Address: fields.nodeAddress ?? "10.1.10.12",
      Datacenter: "dc1",
      TaggedAddresses: { lan: fields.nodeAddress ?? "10.1.10.12", wan: fields.nodeAddress ?? "10.1.10.12" },
      Meta: { instance_type: "t2.medium" },
    },
    Service: {
      ID: id,
      Service: service,
      Tags: fields.tags === undefined ? [] : fields.tags,
      Address: fields.address ?? "",
      Meta: fields.meta === undefined ? null : fields.meta,
      Port: fields.port === undefined ? 8080 : fields.port,
      Weights: fields.weights === undefined ? { Passing: 1, Warning: 1 } : fields.weights,
      Namespace: "default",
    },
    Checks: (fields.checks ?? ["passing", "passing"]).map((status, i) => ({
      Node: node,
      CheckID: i === 0 ? `service:${id}` : "serfHealth",
      Name: i === 0 ? `Service '${service}' check` : "Serf Health Status",
      Status: status,
      Notes: "",
      Output: "",
      ServiceID: i === 0 ? id : "",
      ServiceName: i === 0 ? service : "",
      ServiceTags: [],
      Namespace: "default",
    })),
  };
  return entry;
}

/** A Eureka instance in the documented shape (the fixture's), with what a test varies. */
export function eurekaInstance(fields: {
  ip?: unknown;
  hostName?: unknown;
  status?: unknown;
  port?: unknown;
  portEnabled?: unknown;
  securePort?: unknown;
  securePortEnabled?: unknown;
  metadata?: unknown;
  app?: string;
}): unknown {
  const ip = fields.ip ?? "10.0.1.5";
  const port = fields.port ?? 8080;
  const host = fields.hostName ?? `host-${String(ip)}`;
  return {
    instanceId: `${String(ip)}:${(fields.app ?? "API").toLowerCase()}:${String(port)}`,
    hostName: host,
    app: fields.app ?? "API",
    ipAddr: ip,
    status: fields.status ?? "UP",
    overriddenStatus: "UNKNOWN",
    port: { $: port, "@enabled": fields.portEnabled ?? "true" },
    securePort: { $: fields.securePort ?? 443, "@enabled": fields.securePortEnabled ?? "false" },
    countryId: 1,
    dataCenterInfo: { "@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo", name: "MyOwn" },
    leaseInfo: {
      renewalIntervalInSecs: 30,
      durationInSecs: 90,
      registrationTimestamp: 1700000000000,
      lastRenewalTimestamp: 1700000030000,
      evictionTimestamp: 0,
      serviceUpTimestamp: 1700000000000,
    },
    metadata: fields.metadata === undefined ? { "@class": "java.util.Collections$EmptyMap" } : fields.metadata,
    homePageUrl: `http://${String(host)}:${String(port)}/`,
    statusPageUrl: `http://${String(host)}:${String(port)}/info`,
    healthCheckUrl: `http://${String(host)}:${String(port)}/health`,
    vipAddress: "api",
    secureVipAddress: "api",
    isCoordinatingDiscoveryServer: "false",
    lastUpdatedTimestamp: "1700000000000",
    lastDirtyTimestamp: "1700000000000",
    actionType: "ADDED",
  };
}

/** A Kong target in the documented shape (the fixture's). */
export function kongTarget(target: string, weight: unknown = 100, tags: unknown = null): unknown {
  return {
    id: `id-${target}`,
    target,
    weight,
    upstream: { id: "e9792ef5-d5bd-4a57-9ae8-ee7f13e8dd4e" },
    tags,
    created_at: 1422386534,
    updated_at: 1422386534,
  };
}

/** A Kong health entry in the documented shape (the fixture's). */
export function kongHealth(target: string, health: string, weight = 100): unknown {
  const [ip, port] = target.split(":");
  return {
    created_at: 1485524883980,
    id: `id-${target}`,
    health,
    target,
    upstream_id: "07131005-ba30-4204-a29f-0927d53257b4",
    weight,
    data: {
      addresses: [{ ip, port: Number(port), weight, health }],
      dns: "ACQUIRED",
      weight: {
        available: health === "HEALTHY" ? weight : 0,
        total: weight,
        unavailable: health === "HEALTHY" ? 0 : weight,
      },
    },
  };
}

/** Records a resolver's `endpoints` sets and its errors, in order. */
export function recordResolver(r: Resolver): { sets: (readonly Endpoint[])[]; errors: RegistryError[] } {
  const sets: (readonly Endpoint[])[] = [];
  const errors: RegistryError[] = [];
  r.on("endpoints", (e) => sets.push(e));
  r.on("error", (e) => errors.push(e as RegistryError));
  return { sets, errors };
}
