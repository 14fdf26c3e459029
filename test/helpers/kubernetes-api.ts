/**
 * The EndpointSlice part of a Kubernetes API server (`discovery.k8s.io/v1`),
 * for the Kubernetes resolver's tests: a real cluster cannot run on the test
 * machines. It follows the documented semantics ("API Concepts": efficient
 * detection of changes, watch bookmarks, 410 Gone) with objects in the
 * documented shapes (test/fixtures/registry/kubernetes-*.json):
 *
 * - `GET /apis/discovery.k8s.io/v1/namespaces/<ns>/endpointslices?labelSelector=k=v`:
 *   an `EndpointSliceList` with the current `resourceVersion` (paged with
 *   `continue` when `pageSize` is set, as a server honouring `limit` would);
 * - the same with `watch=1&resourceVersion=N`: a streamed answer (chunked,
 *   one JSON event per line) that first replays the events after N, then
 *   sends each change as it happens (ADDED, MODIFIED, DELETED), bookmarks
 *   on demand (`bookmark()`), ERROR events (`error()`), raw text
 *   (`raw()`); a resourceVersion older than `compactedTo` is Gone: an HTTP
 *   410 or an ERROR event with code 410 (`goneAs`);
 * - `muted`: open watches receive nothing more (a watch gone silent; the
 *   changes still reach lists and new watches); `endWatches()` ends them
 *   as the server's `timeoutSeconds` would;
 * - `token`: the bearer token required (401 with a Status otherwise).
 *
 * `install()` serves it on a `RegistryServer` (whose faults then apply to
 * it), `handle()` on any server (an https one for the CA tests).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RegistryServer } from "./registry-server.js";

/** An endpoint of a slice, as a test describes it. */
export interface SliceEndpoint {
  readonly ip: string;
  readonly ready?: boolean | null;
  readonly serving?: boolean | null;
  readonly terminating?: boolean | null;
  readonly zone?: string;
  readonly node?: string;
  readonly pod?: string;
}

/** A watch request held open. */
interface Watcher {
  readonly res: ServerResponse;
  readonly selector: string;
}

/** An EndpointSlice in the documented shape. */
export function endpointSlice(
  name: string,
  service: string,
  endpoints: readonly SliceEndpoint[],
  options: {
    ports?: unknown;
    addressType?: string;
    labels?: Record<string, string>;
    namespace?: string;
  } = {},
): Record<string, unknown> {
  return {
    kind: "EndpointSlice",
    apiVersion: "discovery.k8s.io/v1",
    metadata: {
      name,
      namespace: options.namespace ?? "default",
      labels: {
        "kubernetes.io/service-name": service,
        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
        ...options.labels,
      },
    },
    addressType: options.addressType ?? "IPv4",
    ports: options.ports ?? [{ name: "http", protocol: "TCP", port: 8080 }],
    endpoints: endpoints.map((e) => {
      const conditions: Record<string, unknown> = {};
      for (const key of ["ready", "serving", "terminating"] as const)
        if (e[key] !== undefined) conditions[key] = e[key];
      const out: Record<string, unknown> = { addresses: [e.ip], conditions };
      if (e.zone !== undefined) out.zone = e.zone;
      if (e.node !== undefined) out.nodeName = e.node;
      if (e.pod !== undefined) {
        out.targetRef = { kind: "Pod", name: e.pod, namespace: options.namespace ?? "default", uid: `uid-${e.pod}` };
      }
      return out;
    }),
  };
}

export class KubernetesApi {
  /** The current resourceVersion: every change adds one. */
  resourceVersion = 1000;
  /** Watches from a resourceVersion below this are Gone (410). */
  compactedTo = 0;
  /** How a Gone watch is answered: an HTTP 410, or a 200 whose first line is an ERROR event with code 410. */
  goneAs: "status" | "event" = "event";
  /** Open watches get nothing more: a watch gone silent. */
  muted = false;
  /** The bearer token required, if any. */
  token: string | undefined;
  /** Items per page of a list (with `continue`); none: the whole list. */
  pageSize: number | undefined;
  /** Every list and watch request, in order: `"list"` or `"watch <resourceVersion>"`. */
  readonly calls: string[] = [];
  /** The `Authorization` header of each request, in order. */
  readonly authorizations: (string | undefined)[] = [];
  readonly #slices = new Map<string, Record<string, unknown>>();
  readonly #history: { rv: number; line: string; service: string }[] = [];
  readonly #watchers = new Set<Watcher>();

  /** Serves the API on `server` for `namespace`. */
  install(server: RegistryServer, namespace = "default"): this {
    server.routes.set(`/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`, (req, res, url) =>
      this.handle(req, res, url),
    );
    return this;
  }

  /** Watch requests held open now. */
  get watching(): number {
    return this.#watchers.size;
  }

  /** Number of list requests so far. */
  get lists(): number {
    return this.calls.filter((c) => c === "list").length;
  }

  /** Number of watch requests so far. */
  get watches(): number {
    return this.calls.filter((c) => c.startsWith("watch")).length;
  }

  /** Creates or replaces a slice (ADDED or MODIFIED to watchers). */
  set(slice: Record<string, unknown>): void {
    const name = (slice.metadata as { name: string }).name;
    const type = this.#slices.has(name) ? "MODIFIED" : "ADDED";
    const object = this.#stamp(slice);
    this.#slices.set(name, object);
    this.#event(type, object);
  }

  /** Creates or replaces several slices, each its own event, all written to watchers in one chunk. */
  setAll(slices: readonly Record<string, unknown>[]): void {
    const lines: string[] = [];
    for (const slice of slices) {
      const name = (slice.metadata as { name: string }).name;
      const type = this.#slices.has(name) ? "MODIFIED" : "ADDED";
      const object = this.#stamp(slice);
      this.#slices.set(name, object);
      lines.push(this.#record(type, object));
    }
    this.#broadcast(lines.join(""), serviceOf(slices[0] ?? {}));
  }

  /** Deletes a slice (DELETED to watchers, with its last state). */
  delete(name: string): void {
    const last = this.#slices.get(name);
    if (last === undefined) throw new Error(`no slice ${name}`);
    this.#slices.delete(name);
    this.#event("DELETED", this.#stamp(last));
  }

  /** Sends a BOOKMARK with the current resourceVersion to every open watch (none while `muted`). */
  bookmark(): void {
    const line = `${JSON.stringify({
      type: "BOOKMARK",
      object: {
        kind: "EndpointSlice",
        apiVersion: "discovery.k8s.io/v1",
        metadata: { resourceVersion: String(this.resourceVersion) },
      },
    })}\n`;
    this.#broadcast(line, undefined);
  }

  /** Sends an ERROR event with a Status to every open watch, and ends them (as the API server does). */
  error(code: number, reason: string, message: string): void {
    this.#broadcast(`${JSON.stringify({ type: "ERROR", object: status(code, reason, message) })}\n`, undefined);
    this.endWatches();
  }

  /** Writes `text` as it is to every open watch. */
  raw(text: string): void {
    this.#broadcast(text, undefined);
  }

  /** Ends every open watch cleanly (the server's timeoutSeconds). */
  endWatches(): void {
    for (const w of this.#watchers) w.res.end();
    this.#watchers.clear();
  }

  /** Handles a list or watch request. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): void {
    this.authorizations.push(req.headers.authorization);
    if (this.token !== undefined && req.headers.authorization !== `Bearer ${this.token}`) {
      json(res, 401, status(401, "Unauthorized", "Unauthorized"));
      return;
    }
    const selector = url.searchParams.get("labelSelector") ?? "";
    if (url.searchParams.get("watch") === "1" || url.searchParams.get("watch") === "true") {
      this.#watch(res, selector, url.searchParams.get("resourceVersion"));
      return;
    }
    this.calls.push("list");
    const items = [...this.#slices.values()].filter((s) => matches(s, selector));
    let page = items;
    let next: string | undefined;
    if (this.pageSize !== undefined) {
      const start = Number(url.searchParams.get("continue") ?? 0);
      page = items.slice(start, start + this.pageSize);
      if (start + this.pageSize < items.length) next = String(start + this.pageSize);
    }
    const metadata: Record<string, string> = { resourceVersion: String(this.resourceVersion) };
    if (next !== undefined) metadata.continue = next;
    json(res, 200, { kind: "EndpointSliceList", apiVersion: "discovery.k8s.io/v1", metadata, items: page });
  }

  /** Ends held watches, for a test's end. */
  close(): void {
    for (const w of this.#watchers) w.res.destroy();
    this.#watchers.clear();
  }

  #watch(res: ServerResponse, selector: string, from: string | null): void {
    this.calls.push(`watch ${from}`);
    const rv = Number(from);
    if (from === null || !Number.isFinite(rv)) {
      json(res, 400, status(400, "BadRequest", "resourceVersion required"));
      return;
    }
    const gone = rv < this.compactedTo;
    if (gone && this.goneAs === "status") {
      json(res, 410, status(410, "Expired", `too old resource version: ${rv} (${this.compactedTo})`));
      return;
    }
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    res.flushHeaders();
    if (gone) {
      res.end(
        `${JSON.stringify({ type: "ERROR", object: status(410, "Expired", `too old resource version: ${rv} (${this.compactedTo})`) })}\n`,
      );
      return;
    }
    const service = selector.replace(/^kubernetes\.io\/service-name=/, "");
    const replay = this.#history.filter((h) => h.rv > rv && h.service === service).map((h) => h.line);
    if (replay.length > 0) res.write(replay.join(""));
    const watcher = { res, selector };
    this.#watchers.add(watcher);
    res.on("close", () => this.#watchers.delete(watcher));
  }

  #stamp(slice: Record<string, unknown>): Record<string, unknown> {
    this.resourceVersion++;
    const metadata = { ...(slice.metadata as Record<string, unknown>), resourceVersion: String(this.resourceVersion) };
    return { ...slice, metadata };
  }

  #record(type: string, object: Record<string, unknown>): string {
    const line = `${JSON.stringify({ type, object })}\n`;
    this.#history.push({ rv: this.resourceVersion, line, service: serviceOf(object) });
    return line;
  }

  #event(type: string, object: Record<string, unknown>): void {
    this.#broadcast(this.#record(type, object), serviceOf(object));
  }

  #broadcast(text: string, service: string | undefined): void {
    if (this.muted) return;
    for (const w of this.#watchers) {
      if (service === undefined || w.selector === `kubernetes.io/service-name=${service}`) w.res.write(text);
    }
  }
}

function serviceOf(slice: Record<string, unknown>): string {
  const labels = (slice.metadata as { labels?: Record<string, string> } | undefined)?.labels ?? {};
  return labels["kubernetes.io/service-name"] ?? "";
}

function matches(slice: Record<string, unknown>, selector: string): boolean {
  const [key, value] = selector.split("=");
  const labels = (slice.metadata as { labels?: Record<string, string> }).labels ?? {};
  return key !== undefined && labels[key] === value;
}

/** A Kubernetes `Status` object. */
export function status(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
}

function json(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
