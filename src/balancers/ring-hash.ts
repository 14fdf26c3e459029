import type { Balancer, BalancerContext, Host, PickContext, Picker } from "../balancer.js";
import { EMPTY_PICKER, SKIP_BOUND } from "../balancer.js";
import { InvalidConfigError, show } from "../errors.js";
import { checkOptions } from "../options.js";
import type { EndpointTable } from "../upstream/table.js";
import { murmur3 } from "./hash-key.js";
import type { Leaving, Ring } from "./hash-ring.js";
import {
  buildRing,
  crowdedSlot,
  lowerBound,
  mergeRing,
  pointsOf,
  recordSlot,
  ringScale,
  weightOf,
} from "./hash-ring.js";
import { LevelCache } from "./level-cache.js";
import { PickerRandom } from "./picker-random.js";

/** Options of `ringHash()` (Envoy's `RingHashLbConfig`). */
export interface RingHashOptions {
  /** The ring holds at least this many points (Envoy `minimum_ring_size`): an integer 1 … 8,388,608, default 1024. */
  minimumRingSize?: number;
  /**
   * The ring holds at most this many points, unless it has more endpoints
   * (each has at least one) (Envoy `maximum_ring_size`): an integer
   * ≥ `minimumRingSize`, up to 8,388,608 (the default).
   */
  maximumRingSize?: number;
}

/** Envoy's limit for both ring sizes. */
const MAX_RING = 8_388_608;

/**
 * Picks the endpoint that owns the first point at or after the key's hash
 * on the ring (Envoy ring hash, ketama). With `skipEjected`, a point whose
 * endpoint is down, or is the `avoid` endpoint, passes the key on to the
 * next point: exactly where a ring without that endpoint sends it.
 */
class RingHashPicker implements Picker {
  readonly hosts: readonly Host[];
  readonly #points: Int32Array;
  readonly #buckets: Int32Array;
  /** The ring's bucket records; undefined for a ring too large to keep them (see `RECORDS_UP_TO`). */
  readonly #records: Int32Array | undefined;
  readonly #shift: number;
  readonly #size: number;
  /** The picker's hosts by slot (points name their endpoint by slot). */
  readonly #bySlot: (Host | undefined)[];
  readonly #table: EndpointTable;
  readonly #skip: boolean;
  readonly #downHosts: Int32Array;
  readonly #random: PickerRandom;

  constructor(hosts: readonly Host[], ring: Ring, context: BalancerContext) {
    this.hosts = hosts;
    this.#points = ring.points;
    this.#buckets = ring.buckets;
    this.#records = ring.records;
    this.#shift = ring.shift;
    this.#size = ring.size;
    this.#bySlot = hostsBySlot(hosts);
    this.#table = context.table;
    this.#skip = context.skipEjected;
    this.#downHosts = context.downHosts;
    this.#random = new PickerRandom(context.random);
  }

  pick(context?: PickContext): Host | undefined {
    if (context == null) return this.#at(this.#random.below(this.#size), undefined);
    const given = context.hash;
    let hash: number;
    if (typeof given === "number") hash = given | 0;
    else {
      const key = context.hashKey;
      if (typeof key !== "string") return this.#at(this.#random.below(this.#size), context.avoid);
      hash = murmur3(key, 0);
    }
    const avoid = context.avoid;
    if (avoid === undefined && (!this.#skip || this.#downHosts[0] === 0)) {
      // The usual case: the owner's slot from the hash's bucket record, no point index needed.
      const records = this.#records;
      if (records === undefined) {
        return this.#bySlot[this.#points[2 * lowerBound(this.#points, this.#buckets, this.#shift, hash) + 1] as number];
      }
      const slot = recordSlot(records, this.#shift, hash);
      return this.#bySlot[slot >= 0 ? slot : crowdedSlot(this.#points, this.#buckets, this.#shift, hash)];
    }
    const point = lowerBound(this.#points, this.#buckets, this.#shift, hash);
    return this.#walk(point === this.#size ? 0 : point, avoid);
  }

  /** The pick at a random point (no key). */
  #at(point: number, avoid: unknown): Host | undefined {
    if (avoid === undefined && (!this.#skip || this.#downHosts[0] === 0)) {
      return this.#bySlot[this.#points[2 * point + 1] as number];
    }
    return this.#walk(point, avoid);
  }

  /**
   * From `point` on, the first point whose endpoint may take the pick (up
   * and not `avoid`), within `SKIP_BOUND` points; else the `avoid` endpoint
   * if it was seen up (nothing else is), else `undefined`.
   */
  #walk(point: number, avoid: unknown): Host | undefined {
    const avoidId = typeof avoid === "object" && avoid !== null ? (avoid as { id?: unknown }).id : undefined;
    const checkDown = this.#skip && this.#downHosts[0] !== 0;
    const down = this.#table.down;
    let avoided: Host | undefined;
    let p = point;
    for (let k = 0; k < SKIP_BOUND; k++) {
      const slot = this.#points[2 * p + 1] as number;
      if (!checkDown || down[slot] === 0) {
        const host = this.#bySlot[slot] as Host;
        if (avoidId === undefined || host.endpoint.id !== avoidId) return host;
        avoided = host;
      }
      if (++p === this.#size) p = 0;
    }
    return avoided;
  }
}

/** `hosts` by slot. */
function hostsBySlot(hosts: readonly Host[]): (Host | undefined)[] {
  let most = -1;
  for (const h of hosts) if (h.slot > most) most = h.slot;
  // Filled element by element (not `new Array(n)`): a packed array, whose reads need no hole check.
  const bySlot = Array.from<Host | undefined>({ length: most + 1 });
  for (const h of hosts) bySlot[h.slot] = h;
  return bySlot;
}

/** What a ring-hash balancer keeps of the last ring it built for a level, to build the next one by difference. */
interface RingState {
  readonly table: EndpointTable;
  readonly scale: number;
  readonly ring: Ring;
  /** The hosts' slots. */
  readonly slots: Int32Array;
  /** By slot: the endpoint's id and weight when the ring was built (a host's endpoint is replaced when they change). */
  readonly ids: readonly (string | undefined)[];
  readonly weights: Float64Array;
}

/**
 * Builds rings, from the previous ring of the same priority level when
 * only a few endpoints changed: an endpoint that joins, leaves or changes
 * weight costs the hashing and sorting of its own points and the search of
 * the points that go, plus copying the ring in runs and patching its
 * buckets; not a rebuild from scratch. Levels are told apart by priority
 * and the upstream by its table: a balancer shared by two upstreams stays
 * correct, but rebuilds more (give each upstream its own `ringHash()`).
 */
export class RingBuilder {
  /** Rings made from the previous one by a merge (for tests). */
  merges = 0;
  readonly #minimum: number;
  readonly #maximum: number;
  readonly #last = new LevelCache<RingState>();

  constructor(minimum: number, maximum: number) {
    this.#minimum = minimum;
    this.#maximum = maximum;
  }

  build(hosts: readonly Host[], context: BalancerContext): Ring {
    const scale = ringScale(context.levelHosts ?? hosts, this.#minimum, this.#maximum);
    const level = (hosts[0] as Host).endpoint.priority;
    const slots = new Int32Array(hosts.length);
    let most = 0;
    for (let j = 0; j < hosts.length; j++) {
      const slot = (hosts[j] as Host).slot;
      slots[j] = slot;
      if (slot > most) most = slot;
    }
    const ids = new Array<string | undefined>(most + 1).fill(undefined);
    const weights = new Float64Array(most + 1);
    for (const host of hosts) {
      ids[host.slot] = host.endpoint.id;
      weights[host.slot] = weightOf(host);
    }
    const old = this.#last.get(level);
    const ring =
      (old !== undefined && old.table === context.table && old.scale === scale && this.#merged(old, hosts, ids)) ||
      buildRing(hosts, scale, ids);
    this.#last.set(level, { table: context.table, scale, ring, slots, ids, weights });
    return ring;
  }

  /** The ring over `hosts` made from `old`, or undefined when over half of the points change (a rebuild is then cheaper). */
  #merged(old: RingState, hosts: readonly Host[], ids: readonly (string | undefined)[]): Ring | undefined {
    const kept = new Uint8Array(old.ids.length);
    const joining: Host[] = [];
    let changed = 0;
    for (const host of hosts) {
      const s = host.slot;
      if (s < old.ids.length && kept[s] === 0 && old.ids[s] === host.endpoint.id && old.weights[s] === weightOf(host)) {
        kept[s] = 1;
      } else {
        joining.push(host);
        changed += pointsOf(weightOf(host), old.scale);
      }
    }
    const leaving: Leaving[] = [];
    for (const s of old.slots) {
      if (kept[s] === 1) continue;
      const points = pointsOf(old.weights[s] as number, old.scale);
      leaving.push({ id: old.ids[s] as string, slot: s, points });
      changed += points;
    }
    // Nothing changed (a resolver update elsewhere in the upstream, an endpoint's metadata): the same ring.
    if (changed === 0) return old.ring;
    if (changed * 2 > old.ring.size) return undefined;
    const ring = mergeRing(old.ring, old.ids, leaving, joining, ids, old.scale);
    if (ring !== undefined) this.merges++;
    return ring;
  }
}

function ringSizeOption(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= MAX_RING)) {
    throw new InvalidConfigError(name, `must be an integer from 1 to ${MAX_RING}, got ${show(value)}`);
  }
  return value;
}

/**
 * Consistent hashing on a ring (Envoy `RING_HASH`, ketama): each endpoint
 * owns points on a 32-bit ring in proportion to its weight (at least one),
 * and a key goes to the owner of the first point at or after the key's hash.
 * When one endpoint of N leaves, only the keys on its points move (about
 * 1/N of them), each to the next point's owner.
 *
 * - **The key**: `PickContext.hash` (a 32-bit integer) when given, else
 *   `hashKey(context.hashKey)`; with neither, a random point (Envoy picks
 *   at random too).
 * - **The ring**: the heaviest endpoints get 64 points, the others in
 *   proportion to their weight (at least one), unless the ring would then
 *   hold fewer than `minimumRingSize` or more than `maximumRingSize` points
 *   (Envoy's bounds): then every endpoint's points are scaled to the bound.
 *   Point i of an endpoint lies at a hash of its id and i. Sized over the
 *   whole priority level (`BalancerContext.levelHosts`), so ejections never
 *   move a point, and while the bounds do not bind, an endpoint that joins
 *   or leaves (lighter than the heaviest) moves no other endpoint's points.
 * - **Ejected endpoints** are skipped at pick time outside panic: a key moves
 *   to the next point whose endpoint is up (within 16 points; then the
 *   upstream rebuilds the level without the down endpoints, which routes
 *   every key as the skipping did). `PickContext.avoid` is skipped the same
 *   way, so a retry goes to the key's next endpoint.
 * - **Cost**: a pick is O(1) expected, O(log ring) at worst,
 *   allocation-free: the hash's top bits choose a bucket, whose record
 *   holds a copy of its first four points (positions and endpoints), so a
 *   pick reads one record and compares four positions without a branch;
 *   only past the fourth point of a crowded bucket (a few percent of keys)
 *   does it search the points. The records cost 16 to 32 bytes per point
 *   (1 MB for 64,000 points, beside their own 0.5 MB); a ring of over
 *   262,144 points keeps none and reads a bucket, then its points. A build
 *   is O(points) (a radix sort). A rebuild where a few endpoints changed
 *   removes and inserts only their points in the previous ring of the same
 *   level (the balancer keeps it), copying the rest in runs and rewriting
 *   only the records those points were or are in; over the same endpoints
 *   it reuses that ring.
 *
 * @example
 * const api = createUpstream({ name: "api", resolver, balancer: ringHash() });
 * api.pick({ hashKey: userId }); // or { hash: hashKey(userId) }, computed once
 * @throws InvalidConfigError for a ring size that is not an integer from 1 to
 * 8,388,608, or a `maximumRingSize` below `minimumRingSize`.
 */
export function ringHash(options?: RingHashOptions): Balancer {
  const o = checkOptions<RingHashOptions>(options, "ringHash()");
  const minimum = ringSizeOption("minimumRingSize", o.minimumRingSize, 1024);
  const maximum = ringSizeOption("maximumRingSize", o.maximumRingSize, MAX_RING);
  if (maximum < minimum) {
    throw new InvalidConfigError(
      "maximumRingSize",
      `must be at least minimumRingSize (${minimum}), got ${show(o.maximumRingSize)}`,
    );
  }
  const builder = new RingBuilder(minimum, maximum);
  return {
    name: "ring-hash",
    // Consistent hashing keeps each key on its endpoint: no slow start (as Envoy), refused with it.
    slowStart: false,
    build(hosts: readonly Host[], context: BalancerContext): Picker {
      if (hosts.length === 0) return EMPTY_PICKER;
      return new RingHashPicker(hosts, builder.build(hosts, context), context);
    },
  };
}
