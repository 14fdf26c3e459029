/**
 * A fake of etcd 3.4's v3 JSON gateway on the loopback `RegistryServer`, for
 * the etcd resolver's and registrar's unit tests (the system test runs the
 * real etcd). Its answers have the shapes etcd 3.4.23 gave on this machine
 * (test/fixtures/registry/etcd-*.txt): base64 keys and values, int64 as
 * strings, zero values left out, `{"result": ...}` lines on streams.
 *
 * - `kv/range` (`key`, `range_end`, `limit` with `more`, `revision`: a
 *   compacted one is refused as etcd refuses it), `kv/put` (with `lease`),
 *   `kv/deleterange` (one key), `kv/compaction`;
 * - `watch`: `created`, then the history from `start_revision` and live
 *   events, one line each (PUT without `type`); a compacted
 *   `start_revision` gets `created` then `canceled` with `compact_revision`
 *   (and the stream stays open, as etcd's does); `progress()` sends a
 *   progress notification to every watch;
 * - `lease/grant`, `lease/keepalive` (one line; no `TTL` for a lease
 *   unknown), `lease/revoke` (404 for one unknown), `expire()` to end a
 *   lease as its TTL would;
 * - `auth/authenticate` and the `Authorization` token when `users` is set.
 *
 * The server's `faults` and `requests` work as for the other registries.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RegistryServer } from "./registry-server.js";

interface Stored {
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: string | undefined;
}

interface HistoryEvent {
  revision: number;
  type: "PUT" | "DELETE";
  key: string;
  value: string;
  lease: string | undefined;
}

interface Watcher {
  key: string;
  rangeEnd: string;
  res: ServerResponse;
  progress: boolean;
}

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
const bytes = (base64: string) => Buffer.from(base64, "base64");

/** True when `key` is in [key, rangeEnd) as etcd compares bytes; no range end: `key` alone; "\0": from key on. */
function inRange(candidate: string, key: string, rangeEnd: string | undefined): boolean {
  const c = bytes(candidate);
  const k = bytes(key);
  if (rangeEnd === undefined || rangeEnd === "") return c.equals(k);
  const end = bytes(rangeEnd);
  if (end.length === 1 && end[0] === 0) return Buffer.compare(c, k) >= 0;
  return Buffer.compare(c, k) >= 0 && Buffer.compare(c, end) < 0;
}

export class EtcdFake {
  revision = 1;
  compacted = 0;
  readonly kv = new Map<string, Stored>();
  readonly history: HistoryEvent[] = [];
  readonly leases = new Map<string, { ttl: number; keys: Set<string> }>();
  readonly watchers = new Set<Watcher>();
  /** Users and passwords; when set, every request but authenticate needs a valid token. */
  users: Map<string, string> | undefined;
  readonly tokens = new Set<string>();
  /** Bodies of the requests, in order, with their path. */
  readonly bodies: { path: string; body: Record<string, unknown> }[] = [];
  #nextLease = 7_587_000_000_000_000_000n;
  #nextToken = 1;

  constructor(readonly server: RegistryServer) {
    const routes: Record<string, (body: Record<string, unknown>, req: IncomingMessage, res: ServerResponse) => void> = {
      "/v3/kv/range": (body, _req, res) => this.#range(body, res),
      "/v3/kv/put": (body, _req, res) => {
        const error = this.#checkLease(body.lease as string | undefined);
        if (error !== undefined) {
          send(res, 404, error);
          return;
        }
        this.put(body.key as string, (body.value as string | undefined) ?? "", body.lease as string | undefined, true);
        send(res, 200, { header: this.header() });
      },
      "/v3/kv/deleterange": (body, _req, res) => {
        const deleted = this.delete(body.key as string, true);
        send(res, 200, deleted ? { header: this.header(), deleted: "1" } : { header: this.header() });
      },
      "/v3/kv/compaction": (body, _req, res) => {
        this.compact(Number(body.revision));
        send(res, 200, { header: this.header() });
      },
      "/v3/watch": (body, _req, res) => this.#watch(body, res),
      "/v3/lease/grant": (body, _req, res) => {
        const id = String(this.#nextLease++);
        const ttl = Math.max(1, Number(body.TTL ?? 0));
        this.leases.set(id, { ttl, keys: new Set() });
        send(res, 200, { header: this.header(), ID: id, TTL: String(ttl) });
      },
      "/v3/lease/keepalive": (body, _req, res) => {
        const lease = this.leases.get(String(body.ID));
        const result: Record<string, unknown> = { header: this.header(), ID: String(body.ID) };
        if (lease !== undefined) result.TTL = String(lease.ttl);
        stream(res, [{ result }]);
      },
      "/v3/lease/revoke": (body, _req, res) => {
        const id = String(body.ID);
        if (!this.leases.has(id)) {
          send(res, 404, NOT_FOUND);
          return;
        }
        this.expire(id);
        send(res, 200, { header: this.header() });
      },
    };
    for (const [path, handle] of Object.entries(routes)) {
      server.routes.set(path, (req, res) => {
        readJson(req).then(
          (body) => {
            this.bodies.push({ path, body });
            if (this.users !== undefined && !this.tokens.has(String(req.headers.authorization))) {
              if (path === "/v3/watch") {
                stream(res, [
                  {
                    result: {
                      header: this.header(),
                      watch_id: "-1",
                      created: true,
                      canceled: true,
                      cancel_reason: "rpc error: code = Unauthenticated desc = etcdserver: invalid auth token",
                    },
                  },
                ]);
                return;
              }
              send(res, 401, { error: INVALID_TOKEN, message: INVALID_TOKEN, code: 16 });
              return;
            }
            handle(body, req, res);
          },
          () => send(res, 400, { error: "bad json", message: "bad json", code: 3 }),
        );
      });
    }
    server.routes.set("/v3/auth/authenticate", (req, res) => {
      readJson(req).then((body) => {
        this.bodies.push({ path: "/v3/auth/authenticate", body });
        if (this.users?.get(String(body.name)) !== String(body.password)) {
          const message = "etcdserver: authentication failed, invalid user ID or password";
          send(res, 400, { error: message, message, code: 3 });
          return;
        }
        const token = `tok${this.#nextToken++}xyz.${this.revision}`;
        this.tokens.add(token);
        send(res, 200, { header: this.header(), token });
      });
    });
  }

  /** A response header at the current revision. */
  header(revision = this.revision): Record<string, string> {
    return {
      cluster_id: "15118495548433857066",
      member_id: "13668033151171901709",
      revision: String(revision),
      raft_term: "2",
    };
  }

  /** Puts `value` (text, or base64 when `raw`) at `key` (likewise), attached to `lease`; watchers see it. */
  put(key: string, value: string, lease?: string, raw = false): number {
    const k = raw ? key : b64(key);
    const v = raw ? value : b64(value);
    const revision = ++this.revision;
    const old = this.kv.get(k);
    if (old?.lease !== undefined) this.leases.get(old.lease)?.keys.delete(k);
    this.kv.set(k, {
      value: v,
      createRevision: old?.createRevision ?? revision,
      modRevision: revision,
      version: (old?.version ?? 0) + 1,
      lease,
    });
    if (lease !== undefined) this.leases.get(lease)?.keys.add(k);
    this.#emit({ revision, type: "PUT", key: k, value: v, lease });
    return revision;
  }

  /** Deletes `key` (text, or base64 when `raw`); false when it was not there. */
  delete(key: string, raw = false): boolean {
    const k = raw ? key : b64(key);
    const old = this.kv.get(k);
    if (old === undefined) return false;
    if (old.lease !== undefined) this.leases.get(old.lease)?.keys.delete(k);
    this.kv.delete(k);
    const revision = ++this.revision;
    this.#emit({ revision, type: "DELETE", key: k, value: "", lease: undefined });
    return true;
  }

  /** Ends a lease (as its TTL running out or a revoke does): its keys are deleted. */
  expire(id: string): void {
    const lease = this.leases.get(id);
    if (lease === undefined) return;
    this.leases.delete(id);
    for (const key of [...lease.keys]) this.delete(key, true);
  }

  /** Forgets the history before `revision`. */
  compact(revision: number): void {
    this.compacted = revision;
    const keep = this.history.filter((e) => e.revision >= revision);
    this.history.length = 0;
    this.history.push(...keep);
  }

  /** A progress notification to every watch that asked for them. */
  progress(): void {
    for (const w of this.watchers) if (w.progress) line(w.res, { result: { header: this.header() } });
  }

  /** Ends every watch stream: with a gateway stream error line (etcd stopping), or by cutting the connection. */
  endWatches(how: "error" | "cut" = "error"): void {
    for (const w of this.watchers) {
      if (how === "cut") w.res.socket?.destroy();
      else {
        w.res.write(
          JSON.stringify({
            error: {
              grpc_code: 14,
              http_code: 503,
              message: "transport is closing",
              http_status: "Service Unavailable",
            },
          }),
        );
        w.res.end();
      }
    }
    this.watchers.clear();
  }

  /** Requests made to `path` so far. */
  count(path: string): number {
    return this.server.count(path);
  }

  #checkLease(lease: string | undefined): Record<string, unknown> | undefined {
    if (lease === undefined || lease === "0" || this.leases.has(lease)) return undefined;
    return NOT_FOUND;
  }

  #range(body: Record<string, unknown>, res: ServerResponse): void {
    const at = body.revision === undefined ? undefined : Number(body.revision);
    if (at !== undefined && at < this.compacted) {
      const message = "etcdserver: mvcc: required revision has been compacted";
      send(res, 400, { error: message, message, code: 11 });
      return;
    }
    const key = body.key as string;
    const rangeEnd = body.range_end as string | undefined;
    // A read at an older revision: the state rebuilt from the current one minus the later history.
    const state = new Map(this.kv);
    if (at !== undefined && at < this.revision) {
      for (const e of [...this.history].reverse()) {
        if (e.revision <= at) break;
        const before = this.#valueBefore(e.key, e.revision);
        if (before === undefined) state.delete(e.key);
        else state.set(e.key, before);
      }
    }
    const matching = [...state.entries()]
      .filter(([k]) => inRange(k, key, rangeEnd))
      .sort(([a], [b]) => Buffer.compare(bytes(a), bytes(b)));
    const limit = Number(body.limit ?? 0);
    const page = limit > 0 ? matching.slice(0, limit) : matching;
    const answer: Record<string, unknown> = { header: this.header(at ?? this.revision) };
    if (page.length > 0) {
      answer.kvs = page.map(([k, s]) => {
        const kv: Record<string, string> = {
          key: k,
          create_revision: String(s.createRevision),
          mod_revision: String(s.modRevision),
          version: String(s.version),
        };
        if (s.value !== "") kv.value = s.value;
        if (s.lease !== undefined) kv.lease = s.lease;
        return kv;
      });
      answer.count = String(matching.length);
    }
    if (page.length < matching.length) answer.more = true;
    send(res, 200, answer);
  }

  /** The stored value of `key` just before `revision`, from the history. */
  #valueBefore(key: string, revision: number): Stored | undefined {
    let found: Stored | undefined;
    for (const e of this.history) {
      if (e.revision >= revision) break;
      if (e.key !== key) continue;
      found =
        e.type === "DELETE"
          ? undefined
          : { value: e.value, createRevision: e.revision, modRevision: e.revision, version: 1, lease: e.lease };
    }
    return found;
  }

  #watch(body: Record<string, unknown>, res: ServerResponse): void {
    const create = body.create_request as Record<string, unknown>;
    const start = Number(create.start_revision ?? 0);
    res.writeHead(200, { "content-type": "application/json", "grpc-metadata-content-type": "application/grpc" });
    line(res, { result: { header: this.header(), created: true } });
    if (start > 0 && start < this.compacted) {
      line(res, {
        result: {
          header: { cluster_id: "15118495548433857066", member_id: "13668033151171901709", raft_term: "2" },
          canceled: true,
          compact_revision: String(this.compacted),
        },
      });
      return; // etcd leaves the stream open
    }
    const watcher: Watcher = {
      key: create.key as string,
      rangeEnd: create.range_end as string,
      res,
      progress: create.progress_notify === true,
    };
    const replay = start > 0 ? this.history.filter((e) => e.revision >= start && this.#matches(watcher, e.key)) : [];
    if (replay.length > 0) line(res, { result: { header: this.header(), events: replay.map(event) } });
    this.watchers.add(watcher);
    res.on("close", () => this.watchers.delete(watcher));
  }

  #matches(w: Watcher, key: string): boolean {
    return inRange(key, w.key, w.rangeEnd);
  }

  #emit(e: HistoryEvent): void {
    this.history.push(e);
    for (const w of this.watchers) {
      if (this.#matches(w, e.key)) line(w.res, { result: { header: this.header(e.revision), events: [event(e)] } });
    }
  }
}

const NOT_FOUND = {
  error: "etcdserver: requested lease not found",
  message: "etcdserver: requested lease not found",
  code: 5,
};
const INVALID_TOKEN = "etcdserver: invalid auth token";

function event(e: HistoryEvent): Record<string, unknown> {
  const kv: Record<string, string> = { key: e.key, mod_revision: String(e.revision) };
  if (e.type === "DELETE") return { type: "DELETE", kv };
  kv.create_revision = String(e.revision);
  kv.version = "1";
  if (e.value !== "") kv.value = e.value;
  if (e.lease !== undefined) kv.lease = e.lease;
  return { kv };
}

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>);
      } catch (error) {
        reject(error);
      }
    });
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** A whole stream of lines (a keepalive's one answer), then its end. */
function stream(res: ServerResponse, lines: readonly unknown[]): void {
  res.writeHead(200, { "content-type": "application/json" });
  for (const l of lines) res.write(`${JSON.stringify(l)}\n`);
  res.end();
}

function line(res: ServerResponse, body: unknown): void {
  if (!res.destroyed) res.write(`${JSON.stringify(body)}\n`);
}
