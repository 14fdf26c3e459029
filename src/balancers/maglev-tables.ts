import type { BalancerContext, Host } from "../balancer.js";
import type { EndpointTable } from "../upstream/table.js";
import { LevelCache } from "./level-cache.js";
import { buildMaglevTable } from "./maglev-table.js";

/**
 * The tables behind `maglev()`'s pickers: the last table built for each
 * priority level, reused, or turned into the table of a changed level in
 * O(tableSize) while the level's new table waits for its debounce window.
 * @module
 */

/** The last table built for a priority level, over the hosts it was built over. */
interface LevelTable {
  /** The upstream's table: a balancer shared by two upstreams builds afresh for each. */
  readonly table: EndpointTable;
  /** Ids of the hosts the table was built over: entry values index this list. */
  readonly ids: readonly string[];
  /** Their weights then. */
  readonly weights: readonly number[];
  /** Id → index in `ids`. */
  readonly index: ReadonlyMap<string, number>;
  readonly entries: Int32Array;
  /** When the level's next table is due (its hosts changed since this one was built); undefined when none is. */
  due: number | undefined;
}

/**
 * The tables of one `maglev()` balancer, per priority level.
 *
 * With `delayMs` 0, or a context without `requestRebuild` (one made by
 * hand), a level's table is built over the picker's hosts at once, and
 * reused while they (ids and weights) stay the same.
 *
 * Otherwise a level's table is built over every host of the level
 * (`levelHosts`), eligible or not, and a picker over some of them (the
 * eligible ones after the upstream compacts the level, a zone's) gets that
 * table with the others' entries passed on (`passedOn`). When the level's
 * hosts change (an endpoint joins, leaves or changes weight), the new table
 * waits `delayMs` from the first change since the last build, on the
 * context's clock: meanwhile each build passes the entries of the
 * endpoints that left to the next entry whose endpoint stays (where the
 * picker's skip sends a key of an ejected one), leaves the endpoints that
 * joined without entries, and keeps a changed weight's entries as they
 * were; and it asks the upstream (`requestRebuild`) to build again when
 * the window ends, when the full table is built over the level as it is
 * then. So a burst of changes within the window costs one full build, a
 * removal takes effect at once, and no key moves but the removed
 * endpoints' until the build.
 */
export class MaglevTables {
  /** Full tables built (each an O(tableSize × log tableSize) fill), for tests. */
  builds = 0;
  readonly #size: number;
  readonly #delayMs: number;
  readonly #last = new LevelCache<LevelTable>();

  constructor(size: number, delayMs = 0) {
    this.#size = size;
    this.#delayMs = delayMs;
  }

  /** The table for a picker over `hosts` (non-empty, one level's): entry values index `hosts`. */
  entries(hosts: readonly Host[], context: BalancerContext): Int32Array {
    const level = (hosts[0] as Host).endpoint.priority;
    const request = this.#delayMs === 0 ? undefined : context.requestRebuild;
    const all = request === undefined ? hosts : (context.levelHosts ?? hosts);
    const last = this.#last.get(level);
    if (last !== undefined && last.table === context.table) {
      if (sameHosts(last, all)) {
        last.due = undefined; // back to the hosts of the table (or never away): nothing to build
        const entries = passedOn(last, hosts);
        if (entries !== undefined) return entries;
      } else if (request !== undefined) {
        const now = context.clock.now();
        const due = last.due ?? now + this.#delayMs;
        // Within the window, unless no host of the table stays (a whole level replaced: no key can stay).
        const entries = now < due ? passedOn(last, hosts) : undefined;
        if (entries !== undefined) {
          last.due = due;
          request(due - now);
          return entries;
        }
      }
    }
    const built = passedOn(this.#build(level, all, context.table), hosts);
    // (None of `hosts` has an entry in a table over `all` only when they are not among them, or a
    // table smaller than the level leaves them none: then a table over `hosts` themselves.)
    return built ?? (passedOn(this.#build(level, hosts, context.table), hosts) as Int32Array);
  }

  /** Builds level `level`'s table over `hosts` and keeps it. */
  #build(level: number, hosts: readonly Host[], table: EndpointTable): LevelTable {
    this.builds++;
    const ids = hosts.map((h) => h.endpoint.id);
    const built: LevelTable = {
      table,
      ids,
      weights: hosts.map((h) => h.endpoint.weight),
      index: new Map(ids.map((id, i) => [id, i])),
      entries: buildMaglevTable(hosts, this.#size),
      due: undefined,
    };
    this.#last.set(level, built);
    return built;
  }
}

/** Whether `hosts` are the hosts `last` was built over, with the same weights (in any order). */
function sameHosts(last: LevelTable, hosts: readonly Host[]): boolean {
  if (hosts.length !== last.ids.length) return false;
  for (const h of hosts) {
    const i = last.index.get(h.endpoint.id);
    if (i === undefined || last.weights[i] !== h.endpoint.weight) return false;
  }
  return true;
}

/**
 * `last`'s table for a picker over `hosts`: each entry of an endpoint in
 * `hosts` names it (by its index there, whatever its weight now), each
 * entry of one that is not takes the value of the next entry, wrapping,
 * whose endpoint is; endpoints not in `last` get no entry. `last.entries`
 * itself when `hosts` are its hosts in its order. O(tableSize + hosts).
 * Undefined when no entry's endpoint is in `hosts`.
 */
function passedOn(last: LevelTable, hosts: readonly Host[]): Int32Array | undefined {
  const n = last.ids.length;
  const map = new Int32Array(n).fill(-1);
  let same = hosts.length === n;
  for (let j = 0; j < hosts.length; j++) {
    const i = last.index.get((hosts[j] as Host).endpoint.id);
    if (i === undefined) same = false;
    else {
      map[i] = j;
      if (i !== j) same = false;
    }
  }
  if (same) return last.entries;
  const from = last.entries;
  const size = from.length;
  // The last entry whose endpoint stays; then one pass down from it, carrying the next such entry's value.
  let start = size - 1;
  while (start >= 0 && (map[from[start] as number] as number) < 0) start--;
  if (start < 0) return undefined;
  const out = new Int32Array(size);
  let carry = -1;
  for (let e = start; e >= 0; e--) {
    const v = map[from[e] as number] as number;
    if (v >= 0) carry = v;
    out[e] = carry;
  }
  // Past the last such entry, wrapping: the first one's value (carried out of the pass above).
  for (let e = size - 1; e > start; e--) out[e] = carry;
  return out;
}
