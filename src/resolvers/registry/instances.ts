import type { Endpoint, EndpointInput } from "../../endpoint.js";
import { endpoint, normalizeScheme, parseEndpoint } from "../../endpoint.js";
import { SwitchyardError } from "../../errors.js";
import type { DroppedRecord } from "../refresh/answer.js";
import type { KnownEndpoints } from "./known-endpoints.js";
import { equalsInput, inputId } from "./known-endpoints.js";

/**
 * Collects a registry answer's instances as endpoints: each is validated as
 * `endpoint()` validates (host grammar, port 1..65535, weight 0..65535...),
 * and one that fails is dropped with its reason, never thrown. An address
 * listed twice (`host:port` of two registrations) is one endpoint: the
 * entry with the higher weight is kept (the first listed on a tie) and the
 * other dropped as a duplicate, so a stale second registration neither
 * doubles the instance's share nor lowers it.
 *
 * Given the endpoints of the source's previous answer (`known`), an input
 * equal in every field to the endpoint it had (`equalsInput`) is that
 * endpoint, not a new one; and when the answer has the same ids as the
 * previous one, the endpoints come out in its id order without a sort.
 */
export class InstanceList {
  readonly #scheme: string;
  readonly #recordOf: (index: number) => string;
  readonly #known: KnownEndpoints | undefined;
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
   * @param known the endpoints of the previous answer of the same source
   * (its `result().known`), to reuse.
   */
  constructor(scheme: string, recordOf: (index: number) => string, known?: KnownEndpoints) {
    this.#scheme = normalizeScheme(scheme) ?? scheme;
    this.#recordOf = recordOf;
    this.#known = known;
  }

  /** Adds the answer's entry `index` as `input`; returns false when it was dropped. */
  add(index: number, input: EndpointInput | string): boolean {
    let e: Endpoint | undefined;
    const previous = this.#known;
    if (previous !== undefined && typeof input === "object") {
      // The entry at this place last time, else the endpoint with this id.
      let known = previous.at?.(index);
      if (known === undefined || !equalsInput(known, input, this.#scheme)) {
        const id = inputId(input);
        known = id === undefined ? undefined : previous.get(id);
      }
      if (known !== undefined && equalsInput(known, input, this.#scheme)) e = known;
    }
    try {
      e ??=
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

  /**
   * The endpoints, sorted by id (one per id, as a resolver publishes them);
   * the dropped records, sorted (so the list does not depend on answer
   * order); and the endpoints as the next answer's list reuses them.
   */
  result(): { endpoints: Endpoint[]; dropped: DroppedRecord[]; known: KnownEndpoints } {
    const dropped = this.#dropped.sort((a, b) =>
      a.record < b.record ? -1 : a.record > b.record ? 1 : a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0,
    );
    const endpoints = this.#inPreviousOrder() ?? [...this.#endpoints].sort(compareIds);
    const byEntry: (Endpoint | undefined)[] = [];
    for (let k = 0; k < this.#endpoints.length; k++) byEntry[this.#indexes[k] as number] = this.#endpoints[k];
    return { endpoints, dropped, known: new AnswerEndpoints(this.#byId, this.#endpoints, endpoints, byEntry) };
  }

  /** The endpoints in the id order of the previous answer's, when they have the same ids; else undefined. */
  #inPreviousOrder(): Endpoint[] | undefined {
    const previous = this.#known?.ordered;
    if (previous === undefined || previous.length !== this.#endpoints.length) return undefined;
    const out: Endpoint[] = [];
    for (const p of previous) {
      const i = this.#byId.get(p.id);
      if (i === undefined) return undefined;
      out.push(this.#endpoints[i] as Endpoint);
    }
    return out; // as many, each id once on both sides: the same ids
  }
}

/**
 * The endpoints of one answer by id and by entry (what `InstanceList.result()`
 * hands on); holds nothing of the answer's body.
 */
class AnswerEndpoints implements KnownEndpoints {
  readonly #byId: ReadonlyMap<string, number>;
  readonly #endpoints: readonly Endpoint[];
  readonly #byEntry: readonly (Endpoint | undefined)[];
  readonly ordered: readonly Endpoint[];

  constructor(
    byId: ReadonlyMap<string, number>,
    endpoints: readonly Endpoint[],
    ordered: readonly Endpoint[],
    byEntry: readonly (Endpoint | undefined)[],
  ) {
    this.#byId = byId;
    this.#endpoints = endpoints;
    this.ordered = ordered;
    this.#byEntry = byEntry;
  }

  get(id: string): Endpoint | undefined {
    const i = this.#byId.get(id);
    return i === undefined ? undefined : this.#endpoints[i];
  }

  at(index: number): Endpoint | undefined {
    return this.#byEntry[index];
  }
}

function compareIds(a: Endpoint, b: Endpoint): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
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
