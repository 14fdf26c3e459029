import type { Endpoint } from "../../endpoint.js";
import { sameEndpoint } from "../../endpoint.js";
import type { AnswerChanges, DroppedRecord } from "../refresh/answer.js";
import type { ParsedSlice } from "./k8s-slices.js";
import type { KnownEndpoints } from "./known-endpoints.js";

/** The address family whose slices are used: one, or the first the service has of IPv4 then IPv6. */
export type SliceFamily = "IPv4" | "IPv6" | "auto";

/** One slice's copy of an endpoint. */
interface Held {
  readonly slice: string;
  endpoint: Endpoint;
}

/**
 * The endpoints of a service, merged from its EndpointSlices and kept
 * current slice by slice: the in-memory state of a Kubernetes watch.
 *
 * - Slices are held by name; `apply()` replaces or removes one and
 *   touches only the endpoints of that slice (O(size of the slice)), and
 *   says whether the merged set changed.
 * - An endpoint (`host:port`) listed by several slices (the API allows it
 *   while the controller moves endpoints between slices) is one endpoint:
 *   the copy of the slice that listed it first is in force, the next one
 *   takes over when that slice lets go of it. Not reported: it is normal.
 * - Dual stack: a service has IPv4 and IPv6 slices listing the same pods.
 *   Only one family is used, so a pod is not counted twice: the one asked
 *   for, or with `"auto"` IPv4 when the service has an IPv4 slice, else
 *   IPv6.
 */
export class SliceSet {
  readonly #family: SliceFamily;
  readonly #slices = new Map<string, ParsedSlice>();
  readonly #byFamily = new Map<string, Map<string, Held[]>>([
    ["IPv4", new Map()],
    ["IPv6", new Map()],
  ]);
  readonly #slicesOf = new Map<string, number>([
    ["IPv4", 0],
    ["IPv6", 0],
  ]);
  #cached: Endpoint[] | undefined;
  // Ids of the family in use whose endpoint in force changed since takeChanges(); #whole: the set must go whole.
  readonly #touched = new Set<string>();
  #whole = true;

  constructor(family: SliceFamily) {
    this.#family = family;
  }

  /** Slices held. */
  get size(): number {
    return this.#slices.size;
  }

  /** The family in use now: `"IPv4"` or `"IPv6"`. */
  get family(): "IPv4" | "IPv6" {
    if (this.#family !== "auto") return this.#family;
    return (this.#slicesOf.get("IPv4") ?? 0) > 0 || (this.#slicesOf.get("IPv6") ?? 0) === 0 ? "IPv4" : "IPv6";
  }

  /**
   * What a new version of the slice `name` may reuse (`parseSlice`'s
   * `known`): its endpoints as last read, if it is held.
   */
  known(name: string): KnownEndpoints | undefined {
    return this.#slices.get(name)?.known;
  }

  /** Replaces every slice (the answer of a list). */
  reset(slices: readonly ParsedSlice[]): void {
    this.#slices.clear();
    for (const map of this.#byFamily.values()) map.clear();
    for (const family of this.#slicesOf.keys()) this.#slicesOf.set(family, 0);
    this.#cached = undefined;
    for (const slice of slices) this.apply(slice.name, slice);
    this.#whole = true;
  }

  /**
   * What changed in the merged set since the last call (the ids whose
   * endpoint in force came, went or changed), with the set's size; or
   * `undefined` when the set must be published whole (after `reset()`, or
   * when the family in use switched). O(changed).
   */
  takeChanges(): AnswerChanges | undefined {
    const touched = this.#touched;
    if (this.#whole) {
      this.#whole = false;
      touched.clear();
      return undefined;
    }
    const map = this.#byFamily.get(this.family) as Map<string, Held[]>;
    const upserts: Endpoint[] = [];
    const removals: string[] = [];
    for (const id of touched) {
      const held = map.get(id);
      if (held === undefined) removals.push(id);
      else upserts.push((held[0] as Held).endpoint);
    }
    touched.clear();
    return { upserts, removals, size: map.size };
  }

  /**
   * Puts `slice` in place of the slice named `name`, or removes that slice
   * (`undefined`). Returns true when the merged set changed (an endpoint
   * of the family in use came, went, or changed a field).
   */
  apply(name: string, slice: ParsedSlice | undefined): boolean {
    const familyBefore = this.family;
    const previous = this.#slices.get(name);
    let changed = false;
    if (previous !== undefined) {
      this.#count(previous.addressType, -1);
      this.#slices.delete(name);
      const kept = slice?.addressType === previous.addressType ? new Set(slice.endpoints.map((e) => e.id)) : undefined;
      for (const e of previous.endpoints) {
        if (kept?.has(e.id) !== true && this.#remove(previous.addressType, e.id, name)) {
          if (previous.addressType === familyBefore) {
            changed = true;
            this.#touched.add(e.id);
          }
        }
      }
    }
    if (slice !== undefined) {
      this.#slices.set(name, slice);
      this.#count(slice.addressType, 1);
      for (const e of slice.endpoints) {
        if (this.#put(slice.addressType, e, name) && slice.addressType === familyBefore) {
          changed = true;
          this.#touched.add(e.id);
        }
      }
    }
    if (this.family !== familyBefore) {
      changed = true;
      this.#whole = true;
    }
    if (changed) this.#cached = undefined;
    return changed;
  }

  /** The merged endpoints of the family in use (one per id). */
  endpoints(): readonly Endpoint[] {
    if (this.#cached !== undefined) return this.#cached;
    const out: Endpoint[] = [];
    for (const held of (this.#byFamily.get(this.family) as Map<string, Held[]>).values()) {
      out.push((held[0] as Held).endpoint);
    }
    this.#cached = out;
    return out;
  }

  /** What the slices of the family in use could not use, sorted by record. */
  dropped(): DroppedRecord[] {
    const family = this.family;
    const out: DroppedRecord[] = [];
    for (const slice of this.#slices.values()) {
      if (slice.dropped.length > 0 && slice.addressType === family) out.push(...slice.dropped);
    }
    return out.sort((a, b) =>
      a.record < b.record ? -1 : a.record > b.record ? 1 : a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0,
    );
  }

  #count(addressType: string, delta: number): void {
    const n = this.#slicesOf.get(addressType);
    if (n !== undefined) this.#slicesOf.set(addressType, n + delta);
  }

  /** Slice `slice` lists `endpoint`: true when the copy in force changed. */
  #put(addressType: string, endpoint: Endpoint, slice: string): boolean {
    const map = this.#byFamily.get(addressType);
    if (map === undefined) return false;
    const held = map.get(endpoint.id);
    if (held === undefined) {
      map.set(endpoint.id, [{ slice, endpoint }]);
      return true;
    }
    const mine = held.find((h) => h.slice === slice);
    if (mine === undefined) {
      held.push({ slice, endpoint });
      return false;
    }
    // An endpoint that did not change keeps its object: the set published next compares it by identity.
    if (sameEndpoint(mine.endpoint, endpoint)) return false;
    mine.endpoint = endpoint;
    return held[0] === mine;
  }

  /** Slice `slice` no longer lists `id`: true when the copy in force changed. */
  #remove(addressType: string, id: string, slice: string): boolean {
    const map = this.#byFamily.get(addressType);
    const held = map?.get(id);
    if (map === undefined || held === undefined) return false;
    const at = held.findIndex((h) => h.slice === slice);
    if (at === -1) return false;
    const removed = held[at] as Held;
    held.splice(at, 1);
    if (held.length === 0) {
      map.delete(id);
      return true;
    }
    return at === 0 && !sameEndpoint(removed.endpoint, (held[0] as Held).endpoint);
  }
}
