import { systemClock } from "../clock.js";
import { InvalidConfigError, SwitchyardError, show } from "../errors.js";
import { checkClock, checkInteger, checkInterval, checkName, checkOptions, checkRandom } from "../options.js";
import { RegistryError } from "../resolvers/registry/error.js";
import type { EtcdClient } from "../resolvers/registry/etcd-client.js";
import type { EtcdInstance } from "../resolvers/registry/etcd-instance.js";
import { etcdInstance } from "../resolvers/registry/etcd-instance.js";
import type { EtcdConnectionOptions } from "../resolvers/registry/etcd-options.js";
import { etcdClient } from "../resolvers/registry/etcd-options.js";
import { encodeText, int64 } from "../resolvers/registry/etcd-wire.js";
import { DEFAULT_TIMEOUT_MS } from "../resolvers/registry/options.js";
import type { RegistrarOptions } from "./registrar.js";
import { Registrar } from "./registrar.js";

/** Options of `etcdRegistrar()`. */
export interface EtcdRegistrarOptions extends RegistrarOptions, EtcdConnectionOptions {
  /** The key of this instance, under the prefix its clients watch: `"/services/api/10.0.0.7:8080"`. Required. */
  key: string;
  /**
   * The instance, as `etcdResolver()` reads it: an `EtcdInstance` object
   * (written as JSON) or a `"host:port"` string. Required; checked here.
   */
  value: EtcdInstance | string;
  /**
   * The lease's time to live, seconds: the key vanishes this long after
   * the last keepalive (the process died or lost etcd). Keepalives go every
   * third of it. 1..86,400; default 10. etcd raises a TTL below its minimum (1.5 ×
   * its election timeout) to that minimum.
   */
  ttlSeconds?: number;
  /** Headers sent with every request (secret values: never shown). */
  headers?: Readonly<Record<string, string>>;
  /** Deadline of each request, ms. Default the keepalive interval (a third of the TTL), at most 10,000. */
  timeoutMs?: number;
  /** The `fetch` to use. Default the global `fetch`. */
  fetch?: typeof globalThis.fetch;
  /** Name used in errors. Default `"etcd:<key>"`. */
  name?: string;
}

/** A keepalive answer, a grant or a revoke is small: no need for the resolvers' 16 MiB. */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * Self-registration in etcd (seeds/001), with a lease:
 *
 * - **register**: `lease/grant` a lease of `ttlSeconds`, then `kv/put` the
 *   key with the instance as its value, attached to the lease;
 * - **heartbeat** every `ttlSeconds / 3`: `lease/keepalive`. An answer
 *   without a TTL means the lease is gone (it expired while etcd could not
 *   be reached, or was revoked): the key went with it, and the registrar
 *   registers again at once (`lost`, then a new lease and the key put
 *   again) — the lease loss etcd3 (#110, #13) and moleculer (PR #918)
 *   users met;
 * - **deregister** (`close()`): `lease/revoke`, which deletes the key at
 *   once. A process that dies without it leaves the key until the lease
 *   expires.
 *
 * A keepalive that fails is retried with backoff (`error` events); etcd
 * leases outlive a restart of etcd (the leader renews them), so a short
 * etcd outage costs nothing. A key deleted by hand while its lease lives
 * is not noticed.
 */
export class EtcdRegistrar extends Registrar {
  /** The key of this instance. */
  readonly key: string;
  /** The lease's TTL asked, seconds. */
  readonly ttlSeconds: number;
  readonly #client: EtcdClient;
  readonly #putRequest: { readonly key: string; readonly value: string };
  #lease: string | undefined;

  constructor(options: EtcdRegistrarOptions) {
    const o = checkOptions<EtcdRegistrarOptions>(options, "etcdRegistrar");
    if (typeof o.key !== "string" || o.key === "" || o.key.length > 4096) {
      throw new InvalidConfigError(
        "key",
        `must be a non-empty key such as "/services/api/10.0.0.7:8080", got ${show(o.key)}`,
      );
    }
    const value = checkValue(o.value);
    const ttlSeconds = checkInteger(o.ttlSeconds, "ttlSeconds", 10, 1, 86_400);
    const heartbeatIntervalMs = Math.round((ttlSeconds * 1000) / 3);
    const timeoutMs = checkInterval(o.timeoutMs, "timeoutMs", Math.min(DEFAULT_TIMEOUT_MS, heartbeatIntervalMs));
    if (o.fetch !== undefined && typeof o.fetch !== "function") {
      throw new InvalidConfigError("fetch", `must be a fetch function, got ${show(o.fetch)}`);
    }
    const name = checkName(o.name, `etcd:${o.key}`);
    const clock = checkClock(o.clock) ?? systemClock;
    super({ name, heartbeatIntervalMs, retry: o.retry, clock, random: checkRandom(o.random) });
    this.key = o.key;
    this.ttlSeconds = ttlSeconds;
    const fetch = o.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#client = etcdClient(o, { name, timeoutMs, maxBodyBytes: MAX_BODY_BYTES, clock, fetch });
    this.#putRequest = { key: encodeText(o.key), value: encodeText(value) };
  }

  /** The lease the key is attached to (etcd's int64 ID, in decimal), while registered. */
  get leaseId(): string | undefined {
    return this.#lease;
  }

  /** The member asked now, without credentials. */
  get url(): string {
    return this.#client.url;
  }

  protected async register(signal: AbortSignal): Promise<void> {
    this.#lease = undefined;
    const { body, context } = await this.#client.call("v3/lease/grant", { TTL: String(this.ttlSeconds) }, signal);
    const id = int64(body.ID, "ID", context);
    if (id === undefined || id === 0n) {
      const why = typeof body.error === "string" ? `: ${body.error}` : "";
      throw new RegistryError("ERR_REGISTRY_BODY", context, `lease/grant answered no lease ID${why}`);
    }
    // Noted before the put: a close() during the put revokes it, so no key is left attached to it.
    this.#lease = String(id);
    await this.#client.call("v3/kv/put", { ...this.#putRequest, lease: this.#lease }, signal);
  }

  protected override async heartbeat(signal: AbortSignal): Promise<boolean> {
    const lease = this.#lease;
    if (lease === undefined) return false;
    const { result, context } = await this.#client.first("v3/lease/keepalive", { ID: lease }, signal);
    const ttl = int64(result.TTL, "TTL", context);
    if (ttl === undefined || ttl <= 0n) {
      this.#lease = undefined;
      return false;
    }
    return true;
  }

  protected async deregister(signal: AbortSignal): Promise<void> {
    const lease = this.#lease;
    if (lease === undefined) return;
    try {
      await this.#client.call("v3/lease/revoke", { ID: lease }, signal);
    } catch (error) {
      // Already gone (expired): so is the key.
      if (!(error instanceof RegistryError && error.status === 404)) throw error;
    }
    this.#lease = undefined;
  }
}

/**
 * Creates an `EtcdRegistrar`: call `start()` to register, `close()` to
 * deregister.
 *
 * @example
 * const registrar = etcdRegistrar({
 *   endpoints: "http://10.0.0.5:2379",
 *   key: "/services/api/10.0.0.7:8080",
 *   value: { host: "10.0.0.7", port: 8080, zone: "eu-west-1a" },
 * });
 * await registrar.start();
 * closeOnSignals([registrar]);
 *
 * @throws InvalidConfigError on a missing key, a value that is not an instance, or a bad option.
 */
export function etcdRegistrar(options: EtcdRegistrarOptions): EtcdRegistrar {
  return new EtcdRegistrar(options);
}

/** The value as written: JSON of an object, a string as it is; either must read back as an endpoint. */
function checkValue(value: unknown): string {
  let text: string;
  if (typeof value === "string") text = value;
  else if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch (error) {
      throw new InvalidConfigError("value", `cannot be written as JSON: ${(error as Error).message}`);
    }
    if (typeof json !== "string") throw new InvalidConfigError("value", "cannot be written as JSON");
    text = json;
  } else {
    throw new InvalidConfigError(
      "value",
      `must be an instance object { host, port, ... } or a "host:port" string, got ${show(value)}`,
    );
  }
  try {
    etcdInstance(text, "http");
  } catch (error) {
    if (error instanceof SwitchyardError) throw new InvalidConfigError("value", `is not an instance: ${error.message}`);
    throw error;
  }
  return text;
}
