import type { Balancer, BalancerContext, Host, PickContext, Picker } from "../balancer.js";
import { EMPTY_PICKER, SKIP_BOUND, slotsOf } from "../balancer.js";
import { InvalidConfigError, show } from "../errors.js";
import { checkOptions } from "../options.js";
import type { EndpointTable } from "../upstream/table.js";
import { murmur3 } from "./hash-key.js";
import { buildMaglevTable, isPrime } from "./maglev-table.js";
import { PickerRandom } from "./picker-random.js";

/** Options of `maglev()` (Envoy's `MaglevLbConfig`). */
export interface MaglevOptions {
  /**
   * Entries in the lookup table (Envoy `table_size`): a prime up to
   * 5,000,011, default 65537. Keep it well above the number of endpoints
   * (the Maglev paper uses M ≥ 100 × N): shares are whole entries.
   */
  tableSize?: number;
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
 *   the upstream rebuilds the level without the down endpoints). Unlike ring
 *   hash, the rebuilt table does not route exactly as the skipping did.
 *   `PickContext.avoid` is skipped the same way, so a retry goes elsewhere.
 * - **Cost**: a pick is O(1) and allocation-free; a build fills the whole
 *   table, O(tableSize × log tableSize), a few milliseconds at 65537, unless
 *   the level's endpoints (ids and weights) are those of the last build,
 *   whose table is reused. The upstream coalesces rebuilds that ejections
 *   call for (`rebuildDelayMs`).
 *
 * @example
 * const api = createUpstream({ name: "api", resolver, balancer: maglev() });
 * api.pick({ hash: hashKey(sessionId) });
 * @throws InvalidConfigError for a `tableSize` that is not a prime up to 5,000,011.
 */
export function maglev(options?: MaglevOptions): Balancer {
  const o = checkOptions<MaglevOptions>(options, "maglev()");
  const size = o.tableSize ?? 65537;
  if (!(typeof size === "number" && Number.isInteger(size) && size <= MAX_TABLE && isPrime(size))) {
    throw new InvalidConfigError("tableSize", `must be a prime up to ${MAX_TABLE}, got ${show(size)}`);
  }
  const tables = new MaglevTables(size);
  return {
    name: "maglev",
    // Consistent hashing keeps each key on its endpoint: no slow start (as Envoy), refused with it.
    slowStart: false,
    build(hosts: readonly Host[], context: BalancerContext): Picker {
      if (hosts.length === 0) return EMPTY_PICKER;
      return new MaglevPicker(hosts, tables.table(hosts), context);
    },
  };
}

/** Levels (priorities) whose last table a balancer keeps. */
const KEPT_LEVELS = 8;

/**
 * The last table built for each priority level, with the endpoint ids and
 * weights it was built over, in order: a build over the same endpoints (the
 * upstream rebuilds every level when the resolver changes one, and an
 * endpoint's metadata can change alone) reuses it instead of filling
 * `tableSize` entries again.
 */
export class MaglevTables {
  readonly #size: number;
  readonly #last = new Map<number, { ids: string[]; weights: number[]; table: Int32Array }>();

  constructor(size: number) {
    this.#size = size;
  }

  table(hosts: readonly Host[]): Int32Array {
    const level = (hosts[0] as Host).endpoint.priority;
    const ids = hosts.map((h) => h.endpoint.id);
    const weights = hosts.map((h) => h.endpoint.weight);
    const old = this.#last.get(level);
    if (
      old !== undefined &&
      old.ids.length === ids.length &&
      old.ids.every((id, j) => id === ids[j] && old.weights[j] === weights[j])
    ) {
      return old.table;
    }
    const table = buildMaglevTable(hosts, this.#size);
    this.#last.delete(level);
    if (this.#last.size >= KEPT_LEVELS) this.#last.delete(this.#last.keys().next().value as number);
    this.#last.set(level, { ids, weights, table });
    return table;
  }
}
