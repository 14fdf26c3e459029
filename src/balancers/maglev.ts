import type { Balancer, BalancerContext, Host, PickContext, Picker } from "../balancer.js";
import { EMPTY_PICKER, SKIP_BOUND, slotsOf } from "../balancer.js";
import { InvalidConfigError, show } from "../errors.js";
import { checkDelay, checkOptions } from "../options.js";
import type { EndpointTable } from "../upstream/table.js";
import { murmur3 } from "./hash-key.js";
import { isPrime } from "./maglev-table.js";
import { MaglevTables } from "./maglev-tables.js";
import { PickerRandom } from "./picker-random.js";

/** Options of `maglev()` (Envoy's `MaglevLbConfig`). */
export interface MaglevOptions {
  /**
   * Entries in the lookup table (Envoy `table_size`): a prime up to
   * 5,000,011, default 65537. Keep it well above the number of endpoints
   * (the Maglev paper uses M ≥ 100 × N): shares are whole entries.
   */
  tableSize?: number;
  /**
   * How long a level whose endpoints changed (one joined, left or changed
   * weight) waits for its new table, ms, from the first change since its
   * last table was built: changes within the window share one build.
   * Meanwhile the last table serves, with the entries of endpoints that
   * left passed on to the next entry's endpoint (as the skip of an ejected
   * one does) and none yet for endpoints that joined. A number of ms from
   * 0 to 2^31 − 1, default 1,000; 0 builds every changed level's table at
   * once.
   */
  rebuildDelayMs?: number;
}

/** Envoy's limit for `table_size`. */
const MAX_TABLE = 5_000_011;
/** 2^-32. */
const TWO_NEG_32 = 2.3283064365386963e-10;

/**
 * Picks the endpoint in the table entry ⌊hash × size / 2^32⌋. With
 * `skipEjected`, an entry whose endpoint is down, or is the `avoid`
 * endpoint, passes the key on to the next entry.
 */
class MaglevPicker implements Picker {
  readonly hosts: readonly Host[];
  readonly #entries: Int32Array;
  readonly #size: number;
  readonly #slots: Int32Array;
  readonly #table: EndpointTable;
  readonly #skip: boolean;
  readonly #downHosts: Int32Array;
  readonly #random: PickerRandom;

  constructor(hosts: readonly Host[], entries: Int32Array, context: BalancerContext) {
    this.hosts = hosts;
    this.#entries = entries;
    this.#size = entries.length;
    this.#slots = slotsOf(hosts);
    this.#table = context.table;
    this.#skip = context.skipEjected;
    this.#downHosts = context.downHosts;
    this.#random = new PickerRandom(context.random);
  }

  pick(context?: PickContext): Host | undefined {
    let entry: number;
    let avoid: unknown;
    if (context != null) {
      const hash = context.hash;
      if (typeof hash === "number") entry = this.#entry(hash);
      else {
        const key = context.hashKey;
        entry = typeof key === "string" ? this.#entry(murmur3(key, 0)) : this.#random.below(this.#size);
      }
      avoid = context.avoid;
    } else {
      entry = this.#random.below(this.#size);
    }
    if (avoid === undefined && (!this.#skip || this.#downHosts[0] === 0)) {
      return this.hosts[this.#entries[entry] as number];
    }
    return this.#walk(entry, avoid);
  }

  /** ⌊hash × size / 2^32⌋ for the hash as an unsigned 32-bit integer (Lemire's multiply-shift, no division). */
  #entry(hash: number): number {
    return ((hash >>> 0) * this.#size * TWO_NEG_32) | 0;
  }

  /**
   * From `entry` on, the first entry whose host may take the pick (up and
   * not `avoid`), within `SKIP_BOUND` entries; else the `avoid` endpoint if
   * it was seen up, else `undefined`.
   */
  #walk(entry: number, avoid: unknown): Host | undefined {
    const avoidId = typeof avoid === "object" && avoid !== null ? (avoid as { id?: unknown }).id : undefined;
    const checkDown = this.#skip && this.#downHosts[0] !== 0;
    const down = this.#table.down;
    let avoided: Host | undefined;
    let e = entry;
    for (let k = 0; k < SKIP_BOUND; k++) {
      const owner = this.#entries[e] as number;
      if (!checkDown || down[this.#slots[owner] as number] === 0) {
        const host = this.hosts[owner] as Host;
        if (avoidId === undefined || host.endpoint.id !== avoidId) return host;
        avoided = host;
      }
      if (++e === this.#size) e = 0;
    }
    return avoided;
  }
}

/**
 * Consistent hashing by Maglev (Envoy `MAGLEV`; Eisenbud et al., NSDI
 * 2016): a lookup table of `tableSize` entries (a prime), filled by taking
 * turns along each endpoint's own permutation of the entries, weighted as
 * Envoy does (`buildMaglevTable`). A key goes to the endpoint of entry
 * ⌊hash × tableSize / 2^32⌋: one multiply and one array read, O(1).
 *
 * - **The key**: `PickContext.hash` (a 32-bit integer) when given, else
 *   `hashKey(context.hashKey)`; with neither, a random entry.
 * - **Disruption**: when one endpoint of N leaves, its keys move and so do a
 *   few others (Maglev trades exact minimal disruption for balance; Envoy
 *   says about twice ring hash's movement). Measured: see
 *   docs/balancing.md.
 * - **Ejected endpoints** are skipped at pick time outside panic: a key on a
 *   down endpoint goes to the next table entry's endpoint (within 16, then
 *   the upstream rebuilds the level without the down endpoints).
 *   `PickContext.avoid` is skipped the same way, so a retry goes elsewhere.
 * - **Endpoint changes are debounced** (`rebuildDelayMs`, default 1,000
 *   ms). A level's table is built over all its endpoints, eligible or not.
 *   When a resolver update changes them (one joins, leaves or changes
 *   weight), the new table is built once `rebuildDelayMs` has passed since
 *   the first change, on the upstream's clock, over the level as it is
 *   then: a burst of changes (a rolling deploy) costs one build per window.
 *   Until then the last table serves: an endpoint that left loses its keys
 *   at once, each to the next entry's endpoint that stays (as if it were
 *   ejected), and no other key moves; an endpoint that joined gets no keys
 *   yet; one whose weight changed keeps its entries. The build then moves
 *   keys as a table built at once would have (the leaver's keys a second
 *   time, most of them). A picker over part of the level (compacted without
 *   its down endpoints, or a zone's) gets the level's table with the
 *   others' entries passed on the same way: it routes every key as the
 *   skipping did, and the down endpoints get their keys back when they
 *   return. (The upstream gives the balancer `BalancerContext.requestRebuild`
 *   to call it back; `close()` cancels the call.)
 * - **`rebuildDelayMs: 0`** (or a context made by hand, without
 *   `requestRebuild`): a table is built at once over the picker's own hosts
 *   whenever they change, as before: a level compacted without its down
 *   endpoints gets a table of its own, which moves a few keys of endpoints
 *   that stayed up too.
 * - **Cost**: a pick is O(1) and allocation-free. A full build fills the
 *   whole table, O(tableSize × log tableSize), a few milliseconds at 65537;
 *   a change within the window, or a picker over part of the level, costs
 *   O(tableSize + endpoints), with no permutation work; the same endpoints
 *   (ids and weights) reuse the level's table. Measured: see
 *   docs/balancing.md.
 *
 * @example
 * const api = createUpstream({ name: "api", resolver, balancer: maglev() });
 * api.pick({ hash: hashKey(sessionId) });
 * @throws InvalidConfigError for a `tableSize` that is not a prime up to
 * 5,000,011, or a `rebuildDelayMs` that is not a number of ms from 0 to
 * 2^31 − 1.
 */
export function maglev(options?: MaglevOptions): Balancer {
  const o = checkOptions<MaglevOptions>(options, "maglev()");
  const size = o.tableSize ?? 65537;
  if (!(typeof size === "number" && Number.isInteger(size) && size <= MAX_TABLE && isPrime(size))) {
    throw new InvalidConfigError("tableSize", `must be a prime up to ${MAX_TABLE}, got ${show(size)}`);
  }
  const tables = new MaglevTables(size, checkDelay(o.rebuildDelayMs, "rebuildDelayMs", 1000));
  return {
    name: "maglev",
    // Consistent hashing keeps each key on its endpoint: no slow start (as Envoy), refused with it.
    slowStart: false,
    build(hosts: readonly Host[], context: BalancerContext): Picker {
      if (hosts.length === 0) return EMPTY_PICKER;
      return new MaglevPicker(hosts, tables.entries(hosts, context), context);
    },
  };
}
