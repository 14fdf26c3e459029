import type { Endpoint, EndpointInput } from "../../endpoint.js";
import { endpoint, parseEndpoint } from "../../endpoint.js";
import { SwitchyardError } from "../../errors.js";
import type { DroppedRecord } from "../refresh/answer.js";

/**
 * Collects a registry answer's instances as endpoints: each is validated as
 * `endpoint()` validates (host grammar, port 1..65535, weight 0..65535...),
 * and one that fails is dropped with its reason, never thrown. An address
 * listed twice (`host:port` of two registrations) is one endpoint: the
 * entry with the higher weight is kept (the first listed on a tie) and the
 * other dropped as a duplicate, so a stale second registration neither
 * doubles the instance's share nor lowers it.
 */
export class InstanceList {
  readonly #scheme: string;
  readonly #recordOf: (index: number) => string;
  readonly #endpoints: Endpoint[] = [];
  /** For each endpoint, the index of the entry it came from. */
  readonly #indexes: number[] = [];
  readonly #byId = new Map<string, number>();
  readonly #dropped: DroppedRecord[] = [];

  /**
   * @param scheme for inputs without one.
   * @param recordOf describes the answer's entry `index` for the dropped
   * list (`Service.ID "web-1" on node "n1"`); called only for entries that
   * are dropped, so a good answer builds no description.
   */
  constructor(scheme: string, recordOf: (index: number) => string) {
    this.#scheme = scheme;
    this.#recordOf = recordOf;
  }

  /** Adds the answer's entry `index` as `input`; returns false when it was dropped. */
  add(index: number, input: EndpointInput | string): boolean {
    let e: Endpoint;
    try {
      e =
        typeof input === "string"
          ? parseEndpoint(input, { scheme: this.#scheme })
          : endpoint(input, { scheme: this.#scheme });
    } catch (error) {
      if (!(error instanceof SwitchyardError)) throw error;
      this.drop(index, error.message);
      return false;
    }
    const known = this.#byId.get(e.id);
    if (known === undefined) {
      this.#byId.set(e.id, this.#endpoints.length);
      this.#endpoints.push(e);
      this.#indexes.push(index);
      return true;
    }
    const kept = this.#endpoints[known] as Endpoint;
    const keptIndex = this.#indexes[known] as number;
    if (e.weight > kept.weight) {
      this.drop(keptIndex, `duplicate of ${this.#recordOf(index)} (${e.id}), which has the higher weight`);
      this.#endpoints[known] = e;
      this.#indexes[known] = index;
    } else {
      this.drop(index, `duplicate of ${this.#recordOf(keptIndex)} (${e.id})`);
    }
    return true;
  }

  /** Drops the answer's entry `index` for `reason`. */
  drop(index: number, reason: string): void {
    this.#dropped.push({ record: this.#recordOf(index), reason });
  }

  /** The endpoints (in answer order) and the dropped records (sorted, so the list does not depend on answer order). */
  result(): { endpoints: Endpoint[]; dropped: DroppedRecord[] } {
    const dropped = this.#dropped.sort((a, b) =>
      a.record < b.record ? -1 : a.record > b.record ? 1 : a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0,
    );
    return { endpoints: this.#endpoints, dropped };
  }
}

/** A value as a dropped record shows it: strings quoted, at most 80 characters. */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (typeof value === "number" || typeof value === "boolean" || value === null) return String(value);
  if (value === undefined) return "none";
  return Array.isArray(value) ? "an array" : typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/** True for a plain JSON object (not an array, not null). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
