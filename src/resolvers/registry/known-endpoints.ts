import type { Endpoint, EndpointInput } from "../../endpoint.js";
import { DEFAULT_WEIGHT } from "../../endpoint.js";

/**
 * Reusing the endpoints of a registry's previous answer: a refresh of a
 * 10,000-instance service usually lists the same instances again, most of
 * them unchanged, and an endpoint equal to one already built need not be
 * validated and built again (nor compared field by field further on: it is
 * the same object).
 * @module
 */

/** The endpoints of a previous answer of the same source, by id, that an `InstanceList` may reuse. */
export interface KnownEndpoints {
  /** The endpoint with this id, if the previous answer had one. */
  get(id: string): Endpoint | undefined;
  /**
   * The endpoint the previous answer's entry `index` became, if known: a
   * registry that lists its instances in a stable order lists an instance
   * at the same place again, and looking there first hashes no id.
   */
  at?(index: number): Endpoint | undefined;
  /** Those endpoints sorted by id, when known: a list with the same ids comes out in this order without a sort. */
  readonly ordered?: readonly Endpoint[] | undefined;
}

/**
 * The id `endpoint(input)` gives when the input's host is already in normal
 * form (as `Endpoint.host` is: lower case, IPv6 canonical and without
 * brackets): `host:port` or `[v6]:port`. `undefined` when `host` is not a
 * string or `port` not a number. A host not in normal form gives an id no
 * endpoint has: the lookup misses and the input is built as usual.
 */
export function inputId(input: EndpointInput): string | undefined {
  const { host, port } = input;
  if (typeof host !== "string" || typeof port !== "number") return undefined;
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * True when `endpoint(input, { scheme })` would return an endpoint equal to
 * `e` in every field (`sameEndpoint`), so `e` can stand for it: each field
 * of `input` is the very value `e` holds (the host, already normal, and
 * the scheme, already lower case, compared as they are), or is absent
 * where `e` holds the default (weight 100, priority 0, `scheme`, no tags,
 * no metadata). `e`'s values are valid, so an input equal to them is too.
 * False does not say they differ (`"API.test"` is not normalized before
 * comparing): the input is then built and validated as usual.
 *
 * @param scheme the scheme for an input without one, lower case.
 */
export function equalsInput(e: Endpoint, input: EndpointInput, scheme: string): boolean {
  return (
    input.host === e.host &&
    input.port === e.port &&
    (input.weight == null ? e.weight === DEFAULT_WEIGHT : input.weight === e.weight) &&
    (input.priority == null ? e.priority === 0 : input.priority === e.priority) &&
    (input.scheme == null ? scheme : input.scheme) === e.scheme &&
    input.hostname === e.hostname &&
    input.zone === e.zone &&
    sameTags(input.tags, e.tags) &&
    sameMetadata(input.metadata, e.metadata)
  );
}

/** `tags` (an input's, unchecked) holds exactly the strings of `known`, in order. */
function sameTags(tags: unknown, known: readonly string[]): boolean {
  if (tags == null) return known.length === 0;
  if (tags === known) return true;
  if (!Array.isArray(tags) || tags.length !== known.length) return false;
  for (let i = 0; i < known.length; i++) if (tags[i] !== known[i]) return false;
  return true;
}

/** `metadata` (an input's, unchecked) is a plain object with exactly the own keys and values of `known`. */
function sameMetadata(metadata: unknown, known: Readonly<Record<string, string>>): boolean {
  if (metadata == null) return keyCount(known) === 0;
  if (metadata === known) return true;
  if (typeof metadata !== "object") return false;
  const proto = Object.getPrototypeOf(metadata);
  if (proto !== Object.prototype && proto !== null) return false;
  // The keys endpoint() copies (own, enumerable: Object.keys), each holding the string `known` holds.
  let count = 0;
  for (const key in metadata) {
    if (!Object.hasOwn(metadata, key)) return false; // an inherited enumerable key: not a case worth a fast path
    if (!Object.hasOwn(known, key) || (metadata as Record<string, unknown>)[key] !== known[key]) return false;
    count++;
  }
  return count === keyCount(known);
}

/** The keys of an endpoint's metadata (a frozen plain object of own string values). */
function keyCount(record: Readonly<Record<string, string>>): number {
  let n = 0;
  for (const _ in record) n++;
  return n;
}
