import type { Endpoint } from "./endpoint.js";
import { InvalidConfigError } from "./errors.js";

/**
 * Which endpoints an upstream keeps from its resolver's set, before
 * balancing: every listed tag present, every metadata pair equal, the zone
 * equal. Use it to route to one service version (`{ tags: ["v2"] }`,
 * `{ metadata: { version: "2" } }`).
 */
export interface EndpointSelector {
  /** Tags the endpoint must all carry. */
  readonly tags?: readonly string[];
  /** Metadata pairs the endpoint must all have, with equal values. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** The zone the endpoint must be in. */
  readonly zone?: string;
}

/** A selector, or any predicate over endpoints. */
export type EndpointFilter = EndpointSelector | ((endpoint: Endpoint) => boolean);

/**
 * Turns a filter into a predicate.
 * @throws InvalidConfigError when `filter` is neither a predicate nor a
 * selector of that shape (tags an array of strings, metadata an object of
 * strings, zone a string).
 */
export function endpointMatcher(filter: EndpointFilter): (endpoint: Endpoint) => boolean {
  if (typeof filter === "function") return filter;
  if (typeof filter !== "object" || filter === null) {
    throw new InvalidConfigError("filter", "must be a selector ({ tags, metadata, zone }) or a predicate");
  }
  if (filter.tags !== undefined && !(Array.isArray(filter.tags) && filter.tags.every((t) => typeof t === "string"))) {
    throw new InvalidConfigError("filter.tags", "must be an array of strings");
  }
  const m = filter.metadata;
  if (
    m !== undefined &&
    !(typeof m === "object" && m !== null && Object.values(m).every((v) => typeof v === "string"))
  ) {
    throw new InvalidConfigError("filter.metadata", "must be an object of string values");
  }
  if (filter.zone !== undefined && typeof filter.zone !== "string") {
    throw new InvalidConfigError("filter.zone", "must be a string");
  }
  const tags = filter.tags ?? [];
  const pairs = Object.entries(filter.metadata ?? {});
  const zone = filter.zone;
  return (e) =>
    (zone === undefined || e.zone === zone) &&
    tags.every((t) => e.tags.includes(t)) &&
    pairs.every(([k, v]) => e.metadata[k] === v);
}
