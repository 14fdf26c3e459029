import type { Endpoint } from "./endpoint.js";

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

/** Turns a filter into a predicate. */
export function endpointMatcher(filter: EndpointFilter): (endpoint: Endpoint) => boolean {
  if (typeof filter === "function") return filter;
  const tags = filter.tags ?? [];
  const pairs = Object.entries(filter.metadata ?? {});
  const zone = filter.zone;
  return (e) =>
    (zone === undefined || e.zone === zone) &&
    tags.every((t) => e.tags.includes(t)) &&
    pairs.every(([k, v]) => e.metadata[k] === v);
}
