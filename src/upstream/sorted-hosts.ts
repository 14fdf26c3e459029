import type { Host } from "../balancer.js";

/**
 * Lists of hosts sorted by endpoint id (the upstream's host list and each
 * priority level's): a binary search, and one edit of a list in a single
 * pass that compares no id but the searches'. @internal
 * @module
 */

/** The index in `hosts` (sorted by id) of the first host whose id is not below `id`. */
export function hostIndex(hosts: readonly Host[], id: string): number {
  let lo = 0;
  let hi = hosts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((hosts[mid] as Host).endpoint.id < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A new list: `hosts` (sorted by id) without the hosts in `leaving`, with
 * `joining` (hosts not in `hosts`, any order) in their places by id.
 * O(k log n) comparisons of ids for k hosts leaving or joining, plus one
 * copy of the list. Returns `undefined`, and changes nothing, when the
 * lists do not agree: a host leaving that `hosts` does not hold, or one
 * joining whose id it holds (the caller then regroups from scratch).
 */
export function editHosts(
  hosts: readonly Host[],
  leaving: readonly Host[],
  joining: readonly Host[],
): Host[] | undefined {
  const skip: number[] = [];
  for (const h of leaving) {
    const i = hostIndex(hosts, h.endpoint.id);
    if (hosts[i] !== h) return undefined;
    skip.push(i);
  }
  skip.sort((a, b) => a - b);
  const skipped = new Set(skip);
  if (skipped.size !== skip.length) return undefined; // one host leaving twice
  const places: Place[] = [];
  for (const h of joining) {
    const id = h.endpoint.id;
    const at = hostIndex(hosts, id);
    // The id may be there as a host that leaves (an endpoint removed and added again: a new host).
    if (hosts[at]?.endpoint.id === id && !skipped.has(at)) return undefined;
    places.push({ at, id, host: h });
  }
  places.sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (let k = 1; k < places.length; k++) {
    if ((places[k] as Place).id === (places[k - 1] as Place).id) return undefined; // one id joining twice
  }
  // The runs of hosts kept, copied whole (slice), with the joining hosts between them.
  const parts: (readonly Host[])[] = [];
  let from = 0;
  let s = 0;
  let p = 0;
  while (s < skip.length || p < places.length) {
    const nextSkip = s < skip.length ? (skip[s] as number) : hosts.length;
    const nextPlace = p < places.length ? (places[p] as Place).at : hosts.length;
    if (nextPlace <= nextSkip) {
      parts.push(hosts.slice(from, nextPlace), [(places[p++] as Place).host]);
      from = nextPlace;
    } else {
      parts.push(hosts.slice(from, nextSkip));
      from = nextSkip + 1;
      s++;
    }
  }
  parts.push(hosts.slice(from));
  return ([] as Host[]).concat(...parts);
}

/** A host joining a list, and the index in the old list it goes before. */
interface Place {
  readonly at: number;
  readonly id: string;
  readonly host: Host;
}
