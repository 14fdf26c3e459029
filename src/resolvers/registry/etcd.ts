import type { Endpoint } from "../../endpoint.js";
import { InvalidConfigError, show } from "../../errors.js";
import { checkInteger, checkInterval, checkNumber, checkOptions } from "../../options.js";
import type { DroppedRecord, LookupContext, RefreshAnswer } from "../refresh/answer.js";
import { refreshSettings } from "../refresh/options.js";
import { RegistryError } from "./error.js";
import type { EtcdClient } from "./etcd-client.js";
import { readEtcdInstance } from "./etcd-instance.js";
import type { EtcdKeyValue } from "./etcd-kv.js";
import { parseEtcdRange } from "./etcd-kv.js";
import type { EtcdConnectionOptions } from "./etcd-options.js";
import { DEFAULT_ETCD_ENDPOINT, etcdClient } from "./etcd-options.js";
import type { EtcdEvent, EtcdWatchMessage } from "./etcd-watch-message.js";
import { keyAfter, prefixRangeEnd, showKey } from "./etcd-wire.js";
import type { RegistryResolverOptions } from "./options.js";
import { baseUrls, registrySettings } from "./options.js";
import { RegistryResolver } from "./resolver.js";

/** Options of `etcdResolver()`. */
export interface EtcdResolverOptions extends RegistryResolverOptions, EtcdConnectionOptions {
  /** Keys per page of the list (etcd's `limit`), 1..100,000. Default 1,000. */
  pageSize?: number;
  /**
   * How often etcd sends a progress notification on a silent watch, ms:
   * your etcd's `--experimental-watch-progress-notify-interval` (etcd
   * 3.4 and 3.5; `--watch-progress-notify-interval` from 3.6). Default
   * 600,000, etcd's default (10 minutes).
   */
  progressIntervalMs?: number;
  /**
   * A watch that says nothing (no event, no progress notification) for
   * `stallFactor` × `progressIntervalMs` is a stall: it is torn down,
   * reported (`ERR_REGISTRY_STALLED`) and opened again from the last
   * revision seen. At least 2.5: etcd skips the notification of an
   * interval in which the watch had events, so a healthy watch can be
   * silent for almost two intervals. Default 3.
   */
  stallFactor?: number;
  /**
   * Least time between two published changes, ms: changes that come
   * faster are applied together. Default 0 (each batch of events etcd
   * sends is published at once).
   */
  minIntervalMs?: number;
}

/** What the resolver holds for one key: the endpoint its value describes, or why it cannot be one. */
type Instance = { readonly endpoint: Endpoint } | { readonly reason: string };

/**
 * etcd v3 discovery: instances as values under a key prefix (an
 * `EtcdInstance` as JSON, or a `host:port` string: what `etcdRegistrar()`
 * writes), read over etcd's JSON gateway and kept current by a watch.
 *
 * - **List**: a range over the prefix (`/v3/kv/range`, pages of
 *   `pageSize` read at one revision, so the list is one snapshot), then
 * - **watch** from the next revision (`/v3/watch`, one JSON message per
 *   line): each batch of events is applied to the resolver's map of
 *   instances and published as what it changed (`publishChanges()`). A key
 *   deleted, or whose lease expired or was revoked, removes its endpoint.
 * - **Resume**: a watch that breaks (etcd restarted, a member down: the
 *   next of `endpoints` is asked) is opened again from the revision after
 *   the last one seen, so no change is missed (one may come again, which
 *   changes nothing); with retries and backoff as every registry resolver.
 * - **Compaction**: when etcd has compacted that revision away, the watch
 *   says so and the resolver lists again.
 * - **Stalls**: the watch asks for progress notifications; one silent for
 *   `stallFactor` × `progressIntervalMs` is torn down, reported and resumed.
 * - Values that are not instances are dropped and reported
 *   (`ERR_REGISTRY_INVALID_INSTANCE`); two keys with one `host:port` are
 *   one endpoint (the higher weight wins).
 * - Failures follow the refresh loop's rules: the last good set kept, an
 *   empty set confirmed by listing again before it empties the service.
 */
export class EtcdResolver extends RegistryResolver {
  /** The key prefix watched. */
  readonly prefix: string;
  readonly #client: EtcdClient;
  /** The prefix and its range end, base64 as sent. */
  readonly #key: string;
  readonly #rangeEnd: string;
  readonly #pageSize: number;
  readonly #stallMs: number;
  readonly #stallWhy: string;
  /** The instances under the prefix, by key (base64). */
  #instances = new Map<string, Instance>();
  /** The revision to watch from: the first one not seen yet; `undefined` until listed. */
  #next: bigint | undefined;
  #lists = 0;
  /** The watch in force, if any: aborting it ends it. */
  #watch: AbortController | undefined;
  /** Instances changed since the last answer (or the set must be announced again). */
  #changed = false;
  /** The keys of the valid instances, by endpoint id (several keys may name one `host:port`). */
  #keysById = new Map<string, Set<string>>();
  /** Endpoint ids the watch touched since the last answer; `#whole`: the next answer is the whole set. */
  readonly #touched = new Set<string>();
  #whole = true;
  /** The dropped values of the last answer, reused while no event touches a dropped value or a duplicate. */
  #dropped: DroppedRecord[] = [];
  #droppedStale = true;
  /** The keys must be listed again (the watch's revision was compacted). */
  #relist = false;
  /** How the last watch ended, for the lookup waiting on it. */
  #ended: Error | undefined;
  /** A watch ended in error since the last answer: its successor's creation is news (a resolution again). */
  #broken = false;
  #wake: (() => void) | undefined;

  constructor(prefix: string, options?: EtcdResolverOptions) {
    const o = checkOptions<EtcdResolverOptions>(options, "etcdResolver");
    if (typeof prefix !== "string" || prefix === "" || prefix.length > 4096) {
      throw new InvalidConfigError(
        "prefix",
        `must be a non-empty key prefix such as "/services/api/", got ${show(prefix)}`,
      );
    }
    const pageSize = checkInteger(o.pageSize, "pageSize", 1_000, 1, 100_000);
    const progressIntervalMs = checkInterval(o.progressIntervalMs, "progressIntervalMs", 600_000, 2 ** 31 - 1);
    const stallFactor = checkNumber(o.stallFactor, "stallFactor", 3, 2.5, 100);
    const minIntervalMs = checkNumber(o.minIntervalMs, "minIntervalMs", 0, 0, 3_600_000);
    const settings = registrySettings(o, `etcd:${prefix}`);
    const refresh = refreshSettings(o, { minIntervalMs });
    super({
      registry: "etcd",
      settings,
      refresh,
      bases: baseUrls(o.endpoints, "endpoints", DEFAULT_ETCD_ENDPOINT),
      headers: o.headers,
    });
    this.#client = etcdClient(o, { ...settings, clock: refresh.clock });
    this.prefix = prefix;
    const bytes = Buffer.from(prefix, "utf8");
    this.#key = bytes.toString("base64");
    this.#rangeEnd = prefixRangeEnd(bytes);
    this.#pageSize = pageSize;
    this.#stallMs = Math.min(2 ** 31 - 1, Math.ceil(stallFactor * progressIntervalMs));
    this.#stallWhy = `${stallFactor} × the ${progressIntervalMs} ms progress interval`;
  }

  /** The member asked now, without credentials. */
  override get url(): string {
    return this.#client.url;
  }

  /** The revision the resolver's view is complete up to; 0 before the first list. */
  get revision(): bigint {
    return this.#next === undefined ? 0n : this.#next - 1n;
  }

  /** How many times the keys were listed: 1 after the first list, one more for each compaction or confirmation. */
  get lists(): number {
    return this.#lists;
  }

  /**
   * Lists the keys again now (a watch needs no polling: this is for a
   * caller that wants a fresh, consistent read) and watches on from that
   * list. Resolves when the list is published; never rejects (failures go
   * to the `error` event).
   */
  override refresh(): Promise<void> {
    if (!this.closed && this.#next !== undefined) {
      this.#relist = true;
      this.#wake?.();
    }
    return super.refresh();
  }

  protected async lookup(context: LookupContext): Promise<RefreshAnswer> {
    if (context.confirming || this.#next === undefined || this.#relist) return this.#list(context.signal);
    await this.#nextChange(context.signal);
    if (this.#relist) return this.#list(context.signal);
    return this.#answer();
  }

  protected override async onClose(): Promise<void> {
    this.#stopWatch();
    await super.onClose();
  }

  /** Lists every key under the prefix (all pages, at the first page's revision) into a new map. */
  async #list(signal: AbortSignal): Promise<RefreshAnswer> {
    this.#stopWatch();
    this.#ended = undefined;
    const instances = new Map<string, Instance>();
    let key = this.#key;
    let revision: bigint | undefined;
    for (;;) {
      const request: Record<string, string> = { key, range_end: this.#rangeEnd, limit: String(this.#pageSize) };
      if (revision !== undefined) request.revision = String(revision);
      const { body, context } = await this.#client.call("v3/kv/range", request, signal);
      const page = parseEtcdRange(body, context);
      revision ??= page.revision;
      for (const kv of page.kvs) instances.set(kv.key, this.#read(kv));
      const last = page.kvs[page.kvs.length - 1];
      if (!page.more || last === undefined) break;
      key = keyAfter(last.key);
    }
    this.#instances = instances;
    this.#keysById = new Map();
    for (const [k, instance] of instances) if ("endpoint" in instance) this.#index(k, instance.endpoint.id, true);
    this.#whole = true;
    this.#next = revision + 1n;
    this.#broken = false;
    this.#lists++;
    this.#relist = false;
    return this.#answer();
  }

  /** Waits until the watch brings a change (opening it when none is open); throws how it ended if it did. */
  async #nextChange(signal: AbortSignal): Promise<void> {
    for (;;) {
      const ended = this.#ended;
      if (ended !== undefined) {
        this.#ended = undefined;
        throw ended;
      }
      if (this.#changed || this.#relist) return;
      if (this.#watch === undefined) this.#startWatch();
      if (signal.aborted) throw signal.reason;
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener("abort", done);
          this.#wake = undefined;
          resolve();
        };
        this.#wake = done;
        signal.addEventListener("abort", done, { once: true });
      });
      if (signal.aborted) throw signal.reason;
    }
  }

  #startWatch(): void {
    const controller = new AbortController();
    this.#watch = controller;
    const request = {
      key: this.#key,
      range_end: this.#rangeEnd,
      start_revision: String(this.#next),
      progress_notify: true,
    };
    this.#client
      .watch(request, {
        signal: controller.signal,
        stallMs: this.#stallMs,
        stallWhy: this.#stallWhy,
        onMessage: (message) => {
          if (this.#watch === controller) this.#onMessage(message);
        },
      })
      .catch((error: unknown) => {
        if (this.#watch !== controller) return; // stopped on purpose
        this.#watch = undefined;
        this.#broken = true;
        this.#ended = error instanceof Error ? error : new Error(String(error));
        // A stall is reported the moment it is torn down, as Consul's; the lookup then resumes at once.
        if (error instanceof RegistryError && error.code === "ERR_REGISTRY_STALLED") this.failNow(error);
        this.#wake?.();
      });
  }

  #stopWatch(): void {
    const watch = this.#watch;
    this.#watch = undefined;
    watch?.abort(new Error("watch stopped"));
  }

  #onMessage(message: EtcdWatchMessage): void {
    switch (message.kind) {
      case "events": {
        this.#apply(message.events);
        const last = message.events[message.events.length - 1] as EtcdEvent;
        const next = last.kv.modRevision + 1n;
        if (next > (this.#next as bigint)) this.#next = next;
        this.#changed = true;
        break;
      }
      case "progress":
        // Every change up to `revision` was sent. Resuming from it (not the one after) may replay a change: harmless.
        if (message.revision > (this.#next as bigint)) this.#next = message.revision;
        return;
      case "created":
        // A watch back after a failure: the set is announced again (it is a resolution), even unchanged.
        if (!this.#broken) return;
        this.#broken = false;
        this.#changed = true;
        break;
      case "compacted":
        this.#stopWatch();
        this.#relist = true;
        break;
      default:
        return; // "canceled" ends the watch in the client
    }
    this.#wake?.();
  }

  /**
   * Applies a batch of watch events to the map of instances and its index
   * by endpoint id, noting the ids touched: O(events).
   */
  #apply(events: readonly EtcdEvent[]): void {
    for (const { type, kv } of events) {
      const before = this.#instances.get(kv.key);
      const after = type === "delete" ? undefined : this.#read(kv);
      if (after === undefined) this.#instances.delete(kv.key);
      else this.#instances.set(kv.key, after);
      for (const [instance, present] of [
        [before, false],
        [after, true],
      ] as const) {
        if (instance === undefined) continue;
        if (!("endpoint" in instance)) {
          this.#droppedStale = true; // a dropped value came or went
          continue;
        }
        const id = instance.endpoint.id;
        this.#touched.add(id);
        this.#index(kv.key, id, present);
      }
    }
  }

  /** Adds or removes `key` under `id` in the index; a shared `host:port` makes the dropped list stale. */
  #index(key: string, id: string, present: boolean): void {
    let keys = this.#keysById.get(id);
    if (present) {
      if (keys === undefined) {
        keys = new Set();
        this.#keysById.set(id, keys);
      }
      keys.add(key);
      if (keys.size > 1) this.#droppedStale = true; // a duplicate now
    } else if (keys !== undefined) {
      keys.delete(key);
      if (keys.size === 0) this.#keysById.delete(id);
      else this.#droppedStale = true; // it was a duplicate
    }
  }

  #read(kv: EtcdKeyValue): Instance {
    return readEtcdInstance(kv.value, this.scheme);
  }

  /**
   * After a list, the whole set; after watch events, what they changed
   * (published in O(changed): the endpoint in force for each `host:port`
   * they touched), with the set's whole list as a getter for the loop.
   */
  #answer(): RefreshAnswer {
    this.#changed = false;
    const touched = this.#touched;
    const whole = this.#whole;
    this.#whole = false;
    if (this.#droppedStale || whole) {
      this.#dropped = this.#current().dropped;
      this.#droppedStale = false;
    }
    if (whole) {
      touched.clear();
      return { endpoints: this.#current().endpoints, dropped: this.#dropped, delayMs: 0 };
    }
    const upserts: Endpoint[] = [];
    const removals: string[] = [];
    for (const id of touched) {
      const keys = this.#keysById.get(id);
      if (keys === undefined) removals.push(id);
      else upserts.push(this.#winner(keys));
    }
    touched.clear();
    const self = this;
    return {
      get endpoints() {
        return self.#current().endpoints;
      },
      changes: { upserts, removals, size: this.#keysById.size },
      dropped: this.#dropped,
      delayMs: 0,
    };
  }

  /** The endpoint in force among instances naming one `host:port`: the higher weight, then the smaller key. */
  #winner(keys: ReadonlySet<string>): Endpoint {
    let best: { key: string; endpoint: Endpoint } | undefined;
    for (const key of keys) {
      const endpoint = (this.#instances.get(key) as { endpoint: Endpoint }).endpoint;
      if (
        best === undefined ||
        endpoint.weight > best.endpoint.weight ||
        (endpoint.weight === best.endpoint.weight && key < best.key)
      ) {
        best = { key, endpoint };
      }
    }
    return (best as { endpoint: Endpoint }).endpoint;
  }

  /**
   * The current set: every instance's endpoint, one per `host:port` (the
   * higher weight, then the smaller key, wins; the other is dropped as a
   * duplicate), and the values dropped. O(instances).
   */
  #current(): { endpoints: Endpoint[]; dropped: DroppedRecord[] } {
    const byId = new Map<string, { key: string; endpoint: Endpoint }>();
    const dropped: DroppedRecord[] = [];
    for (const [key, instance] of this.#instances) {
      if (!("endpoint" in instance)) {
        dropped.push({ record: `key ${showKey(key)}`, reason: instance.reason });
        continue;
      }
      const e = instance.endpoint;
      const kept = byId.get(e.id);
      if (kept === undefined) {
        byId.set(e.id, { key, endpoint: e });
        continue;
      }
      const wins = e.weight > kept.endpoint.weight || (e.weight === kept.endpoint.weight && key < kept.key);
      const [winner, loser] = wins ? [key, kept.key] : [kept.key, key];
      dropped.push({ record: `key ${showKey(loser)}`, reason: `duplicate of key ${showKey(winner)} (${e.id})` });
      if (wins) byId.set(e.id, { key, endpoint: e });
    }
    const endpoints: Endpoint[] = [];
    for (const { endpoint } of byId.values()) endpoints.push(endpoint);
    dropped.sort((a, b) => (a.record < b.record ? -1 : a.record > b.record ? 1 : 0));
    return { endpoints, dropped };
  }
}

/**
 * Creates an `EtcdResolver` for the instances under key `prefix`.
 *
 * @example
 * const resolver = etcdResolver("/services/api/", { endpoints: ["http://10.0.0.5:2379", "http://10.0.0.6:2379"] });
 * const api = createUpstream({ name: "api", resolver });
 *
 * @throws InvalidConfigError on an empty prefix or a bad option.
 */
export function etcdResolver(prefix: string, options?: EtcdResolverOptions): EtcdResolver {
  return new EtcdResolver(prefix, options);
}
