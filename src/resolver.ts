import type { Endpoint } from "./endpoint.js";
import { sameEndpoint } from "./endpoint.js";
import { SafeEmitter } from "./safe-emitter.js";

/**
 * What changed in a set, given with every set that replaces another
 * (`publish()` and `publishChanges()` alike): the endpoints that joined or
 * changed, and the ids of those that left. Exactly the difference from the
 * previous set, for listeners that apply it in O(changed).
 */
export interface EndpointsDelta {
  /** Endpoints that joined, or whose fields changed (one per id). */
  readonly upserts: readonly Endpoint[];
  /** Ids of endpoints that left. */
  readonly removals: readonly string[];
}

/** Events every resolver emits. */
export interface ResolverEvents {
  /**
   * A complete, new endpoint set (sorted by id, one entry per id). Emitted
   * only when the set differs from the last one emitted. `delta` is given
   * with every set but the first: exactly what differs from the previous
   * set (a listener that holds the previous set applies it in O(changed)).
   */
  endpoints: (endpoints: readonly Endpoint[], delta?: EndpointsDelta) => void;
  /**
   * A resolution failed. The last good set stays in force: listeners must not
   * drop endpoints because of an error.
   */
  error: (error: Error) => void;
  /**
   * A resolution succeeded, whether or not its set differed from the last one
   * (after `endpoints` when it did). Tells listeners that an earlier `error`
   * is over: an upstream clears its `lastResolverError` on it.
   */
  resolved: (endpoints: readonly Endpoint[], changed: boolean) => void;
}

/**
 * Where endpoints come from (grpc-js's resolver): produces complete endpoint
 * sets over time and reports failures, knowing nothing of how the endpoints
 * are balanced.
 *
 * Implementations call `publish()` with each complete set and `fail()` with
 * each error; `publish()` normalizes the set (sorted by id, duplicates
 * merged) and drops a set equal to the last one, so a DNS answer in a
 * different order or a registry poll with no change emits nothing.
 */
export abstract class Resolver extends SafeEmitter<ResolverEvents> {
  /** A short description of the source, used in errors: `"static"`, `"dns-srv:_api._tcp.x"`. */
  abstract readonly name: string;

  #current: readonly Endpoint[] | undefined;
  #started = false;
  #closed = false;
  #users = 0;

  /** The last good set, or `undefined` before the first successful resolution. */
  get endpoints(): readonly Endpoint[] | undefined {
    return this.#current;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Begins resolving. Idempotent; a no-op after `close()`. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.onStart();
  }

  /** Stops resolving and releases every timer and socket. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.onClose();
    this.removeAllListeners();
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Counts one more user of this resolver. Each upstream built over it calls
   * this once, so several upstreams (say v1 and v2 of a service, told apart
   * by a filter) can share one resolver.
   */
  retain(): void {
    this.#users++;
  }

  /**
   * One user lets go (an upstream closing): the resolver closes when the
   * last user has let go, and keeps serving the others until then.
   */
  release(): Promise<void> {
    if (this.#users > 0) this.#users--;
    return this.#users === 0 ? this.close() : Promise.resolve();
  }

  /** Called once by `start()`. */
  protected abstract onStart(): void;

  /** Called once by `close()`: cancel timers, close sockets, abort requests. */
  protected onClose(): void | Promise<void> {}

  /**
   * Announces the complete endpoint set of a successful resolution. Emits
   * `endpoints` when it differs from the previous set (with the delta from
   * it, found in one pass over both sorted sets), then `resolved` in any
   * case. Returns true when the set changed. Ignored after `close()`.
   */
  protected publish(endpoints: readonly Endpoint[]): boolean {
    if (this.#closed) return false;
    const next = normalizeEndpoints(endpoints);
    const previous = this.#current;
    const delta = previous === undefined ? undefined : endpointsDelta(previous, next);
    if (previous !== undefined && delta === undefined) {
      this.emit("resolved", previous, false);
      return false;
    }
    this.#current = next;
    this.emit("endpoints", next, delta);
    this.emit("resolved", next, true);
    return true;
  }

  /**
   * Announces a change to the set rather than the whole set (a watch event):
   * `removals` (ids) leave first, then `upserts` join or replace the
   * endpoint with their id (the last one wins when an id repeats). Costs
   * O(changed × log n) plus one copy of the set: no sort, no diff of the
   * whole set. Emits `endpoints` with the new set and the delta that really
   * applied (upserts equal to what is there and removals of absent ids are
   * left out) when anything changed, then `resolved`. Before the first set,
   * the upserts are published as the whole set. Unlike `publish()`, entries
   * are not merged by id: an upsert replaces. Returns true when the set
   * changed. Ignored after `close()`.
   */
  protected publishChanges(upserts: readonly Endpoint[], removals: readonly string[]): boolean {
    if (this.#closed) return false;
    const previous = this.#current;
    if (previous === undefined) return this.publish(upserts);
    const next = [...previous]; // not slice(): on a frozen array V8 takes a slow path (~40× a spread for 10,000)
    const removed: string[] = [];
    for (const id of removals) {
      const i = indexOfId(next, id);
      if (next[i]?.id !== id) continue;
      next.splice(i, 1);
      removed.push(id);
    }
    const latest = new Map<string, Endpoint>();
    for (const e of upserts) latest.set(e.id, e);
    const upserted: Endpoint[] = [];
    for (const e of latest.values()) {
      const i = indexOfId(next, e.id);
      const there = next[i];
      if (there !== undefined && there.id === e.id) {
        if (sameEndpoint(there, e)) continue;
        next[i] = e;
      } else {
        next.splice(i, 0, e);
      }
      upserted.push(e);
    }
    if (upserted.length === 0 && removed.length === 0) {
      this.emit("resolved", previous, false);
      return false;
    }
    const set = Object.freeze(next);
    this.#current = set;
    this.emit("endpoints", set, Object.freeze({ upserts: Object.freeze(upserted), removals: Object.freeze(removed) }));
    this.emit("resolved", set, true);
    return true;
  }

  /** Reports a failed resolution; the last good set is kept. Ignored after `close()`. */
  protected fail(error: Error): void {
    if (this.#closed) return;
    this.emit("error", error);
  }
}

/**
 * Sorts a set by id and merges entries that share an id into one endpoint, so
 * the result does not depend on the order the source listed them in:
 * - only the entries with the id's lowest priority count (an entry at a
 *   higher priority value is a fallback for an endpoint already in use);
 * - their weights add up, capped at 65535 (`MAX_WEIGHT`): an address listed
 *   twice takes twice the share, as two SRV records are two choices (RFC
 *   2782) and as KrakenD users repeat a host;
 * - the other fields (scheme, hostname, zone, tags, metadata) are those of
 *   the entry whose fields sort first, compared as text.
 *
 * Never throws on a list of endpoints: every resolver's `publish()` calls it.
 * Lists given by users (static resolver, `ManualResolver.push()`) are checked
 * before they get here: duplicates that differ in anything but weight, or
 * whose sum exceeds 65535, are refused there with a typed error.
 */
export function normalizeEndpoints(endpoints: readonly Endpoint[]): readonly Endpoint[] {
  // A list sorted already, each id once (a registry answer read by InstanceList): nothing to sort or merge.
  if (sortedById(endpoints)) return Object.freeze([...endpoints]);
  const sorted = [...endpoints].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) || a.priority - b.priority);
  const fieldsKey = (e: Endpoint): string =>
    JSON.stringify([
      e.scheme,
      e.hostname ?? null,
      e.zone ?? null,
      e.tags,
      Object.entries(e.metadata).sort((x, y) => (x[0] < y[0] ? -1 : 1)),
    ]);
  const out: Endpoint[] = [];
  for (let i = 0; i < sorted.length; ) {
    const first = sorted[i] as Endpoint;
    let end = i + 1;
    while (end < sorted.length && (sorted[end] as Endpoint).id === first.id) end++;
    let chosen = first;
    if (end - i > 1) {
      let weight = first.weight;
      let chosenKey: string | undefined;
      for (let k = i + 1; k < end; k++) {
        const e = sorted[k] as Endpoint;
        if (e.priority !== first.priority) break; // sorted by priority within an id
        weight += e.weight;
        chosenKey ??= fieldsKey(chosen);
        const key = fieldsKey(e);
        if (key < chosenKey) {
          chosen = e;
          chosenKey = key;
        }
      }
      weight = Math.min(weight, 65535);
      if (chosen.weight !== weight) chosen = Object.freeze({ ...chosen, weight });
    }
    out.push(chosen);
    i = end;
  }
  return Object.freeze(out);
}

/** True when the ids of `endpoints` strictly increase: sorted, each id once. */
function sortedById(endpoints: readonly Endpoint[]): boolean {
  for (let i = 1; i < endpoints.length; i++) {
    if (!((endpoints[i - 1] as Endpoint).id < (endpoints[i] as Endpoint).id)) return false;
  }
  return true;
}

/**
 * What differs between two normalized sets (sorted by id, one entry per
 * id), found in one pass over both: `upserts` the endpoints of `next` that
 * are new or not equal to their previous version, `removals` the ids of
 * `previous` gone from `next`; `undefined` when the sets are equal.
 */
export function endpointsDelta(previous: readonly Endpoint[], next: readonly Endpoint[]): EndpointsDelta | undefined {
  const upserts: Endpoint[] = [];
  const removals: string[] = [];
  let i = 0;
  let j = 0;
  while (i < previous.length || j < next.length) {
    const a = previous[i];
    const b = next[j];
    if (b === undefined || (a !== undefined && a.id < b.id)) {
      removals.push((a as Endpoint).id);
      i++;
    } else if (a === undefined || b.id < a.id) {
      upserts.push(b);
      j++;
    } else {
      if (!sameEndpoint(a, b)) upserts.push(b);
      i++;
      j++;
    }
  }
  if (upserts.length === 0 && removals.length === 0) return undefined;
  return Object.freeze({ upserts: Object.freeze(upserts), removals: Object.freeze(removals) });
}

/** The index of the first endpoint of `sorted` (by id) whose id is not below `id`. */
function indexOfId(sorted: readonly Endpoint[], id: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as Endpoint).id < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
