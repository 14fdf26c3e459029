import type { Host } from "../balancer.js";
import { fmix32, murmur3 } from "./hash-key.js";

/**
 * The ring of `ringHash()`: its points (a 32-bit position and the host that
 * owns it) sorted by position, how many points each host gets, where they
 * lie, and the two ways to make a ring: from scratch, or from the previous
 * one by removing and inserting the points of the hosts that changed.
 * @module
 */

/** Adds to an unsigned 32-bit position to store it in an `Int32Array` whose signed order is the unsigned order. */
const BIAS = -2147483648;

/** A host's weight as the ring counts it (the upstream never hands a balancer a weight below 1). */
export function weightOf(host: Host): number {
  const w = host.endpoint.weight;
  return Math.max(w, 1);
}

/** Points of a host of weight `weight` at `scale` points per unit of weight: at least one. */
export function pointsOf(weight: number, scale: number): number {
  const p = Math.round(weight * scale);
  return Math.max(p, 1);
}

/** Points the heaviest endpoints of a level get while the ring's size bounds allow. */
export const HEAVIEST_POINTS = 64;

/**
 * Points per unit of weight over `hosts` (the whole priority level): the
 * heaviest endpoint gets `HEAVIEST_POINTS`, the others in proportion to
 * their weight, unless the ring would then hold fewer than `minimum` or more
 * than `maximum` points (Envoy's bounds), in which case the ring is scaled
 * to that bound. So while the bounds do not bind, an endpoint's points
 * depend only on its own weight and the heaviest weight: one that joins or
 * leaves, lighter than the heaviest (or as heavy as another), changes no
 * other endpoint's points.
 */
export function ringScale(hosts: readonly Host[], minimum: number, maximum: number): number {
  let total = 0;
  let most = 0;
  for (const h of hosts) {
    const w = weightOf(h);
    total += w;
    if (w > most) most = w;
  }
  let scale = HEAVIEST_POINTS / most;
  if (scale * total < minimum) scale = minimum / total;
  if (scale * total > maximum) scale = maximum / total;
  return scale;
}

/**
 * Two 32-bit hashes of an endpoint id (MurmurHash3 with seeds 1 and 2):
 * point i of the endpoint lies at fmix32(a ^ fmix32(b ^ i)). A function of
 * the id and i only, so the endpoint's first k points lie in the same places
 * whatever its weight, the scale and the other endpoints; distinct for
 * distinct i (fmix32 is a bijection).
 */
function idHashes(id: string): [number, number] {
  return [murmur3(id, 1), murmur3(id, 2)];
}

/** Position of point `i` of the endpoint `id`, as an unsigned 32-bit integer. */
export function pointPosition(id: string, i: number): number {
  const [a, b] = idHashes(id);
  return fmix32(a ^ fmix32(b ^ i)) >>> 0;
}

/** Sentinel points after the last: their position is the largest, so no lookup steps past them. */
const PAD = 4;

/** Endpoint ids by slot, for ordering points at one position. */
export type IdsBySlot = readonly (string | undefined)[];

/**
 * A sorted ring and an index over it. Point p is `points[2p]`, its position
 * (biased: position − 2^31 in an `Int32Array`, so signed comparisons follow
 * the unsigned order), and `points[2p + 1]`, the slot of its endpoint: side
 * by side, so a lookup reads one cache line; slots, not indexes into a host
 * list, so a merge copies the points of the endpoints that stay as they are.
 * Points are in (position, endpoint id) order, followed by `PAD` sentinels
 * at the largest position owned by point 0's endpoint (a hash past the last
 * point wraps to point 0).
 *
 * The index: the top `32 − shift` bits of a position name its bucket.
 * `buckets[b]` is the first point whose bucket is ≥ b. In a ring of up to
 * `RECORDS_UP_TO` points, there are from half as many buckets as points to
 * as many (one or two points per bucket on average), and `records` holds,
 * for each bucket, a copy of the four points from `buckets[b]` on (its
 * window: four positions, then their four slots, 32 bytes): a lookup reads
 * the hash's record alone, with no second read that depends on the first,
 * and counts how many of the four positions lie before the hash, without a
 * branch. Points past the bucket lie after any hash in it (the ring is
 * sorted, and the sentinels end it), so the count is the answer unless all
 * four lie before the hash: a bucket of more than four points, where a
 * binary search of the rest of the bucket follows (a few percent of
 * hashes). The records cost 16 to 32 bytes per point, on top of the points'
 * 8 and the buckets' 2 to 4. A larger ring has no records (a lookup reads
 * its bucket, then the points) and two to four points per bucket.
 */
export class Ring {
  readonly points: Int32Array;
  readonly buckets: Int32Array;
  /** The bucket records, in a ring of up to `RECORDS_UP_TO` points. */
  readonly records: Int32Array | undefined;
  readonly shift: number;
  readonly size: number;

  /**
   * A ring over `points` (room for `size + PAD` points, the first `size`
   * sorted): writes the sentinels, and the index unless given (`index` must
   * then be that of `shiftFor(size)` over these points and sentinels).
   */
  constructor(points: Int32Array, size: number, index?: { buckets: Int32Array; records: Int32Array | undefined }) {
    this.points = points;
    this.size = size;
    writeSentinels(points, size);
    const shift = shiftFor(size);
    this.shift = shift;
    if (index !== undefined) {
      this.buckets = index.buckets;
      this.records = index.records;
      return;
    }
    const count = 2 ** (32 - shift);
    const buckets = new Int32Array(count + 1);
    let b = 0;
    for (let p = 0; p < size; p++) {
      const top = ((points[2 * p] as number) ^ BIAS) >>> shift;
      while (b <= top) buckets[b++] = p;
    }
    while (b <= count) buckets[b++] = size;
    this.buckets = buckets;
    this.records = size <= RECORDS_UP_TO ? recordsOf(points, buckets) : undefined;
  }

  /** Point p's endpoint slot. */
  slot(p: number): number {
    return this.points[2 * p + 1] as number;
  }

  /** Point p's position as an unsigned 32-bit integer. */
  position(p: number): number {
    return ((this.points[2 * p] as number) ^ BIAS) >>> 0;
  }

  /** The point a key with this hash belongs to: the first at or after it, point 0 past the last. */
  find(hash: number): number {
    const p = lowerBound(this.points, this.buckets, this.shift, hash);
    return p === this.size ? 0 : p;
  }

  /** The slot of the endpoint a key with this hash belongs to, read through the records (as a pick reads it). */
  owner(hash: number): number {
    if (this.records === undefined) return this.slot(lowerBound(this.points, this.buckets, this.shift, hash));
    const slot = recordSlot(this.records, this.shift, hash);
    return slot >= 0 ? slot : crowdedSlot(this.points, this.buckets, this.shift, hash);
  }
}

/** Int32 cells per bucket record: four positions, then their four slots. */
const RECORD = 8;

/**
 * The largest ring that keeps bucket records (2^18 points: 4,096 endpoints
 * of 64 points; records of at most 4 MiB). Past it, the records' memory, and
 * the time a merge spends copying them, would outgrow the points' own.
 */
export const RECORDS_UP_TO = 262_144;

/** Writes the `PAD` sentinels after the last of `size` points: the largest position, point 0's slot. */
function writeSentinels(points: Int32Array, size: number): void {
  for (let p = size; p < size + PAD; p++) {
    points[2 * p] = 0x7fffffff;
    points[2 * p + 1] = size > 0 ? (points[1] as number) : -1;
  }
}

/** Every bucket's record (see `writeRecord`): one flat loop, as a build runs it cold. */
function recordsOf(points: Int32Array, buckets: Int32Array): Int32Array {
  const count = buckets.length - 1;
  const records = new Int32Array(RECORD * count);
  for (let b = 0, r = 0; b < count; b++, r += RECORD) {
    const at = 2 * (buckets[b] as number);
    records[r] = points[at] as number;
    records[r + 1] = points[at + 2] as number;
    records[r + 2] = points[at + 4] as number;
    records[r + 3] = points[at + 6] as number;
    records[r + 4] = points[at + 1] as number;
    records[r + 5] = points[at + 3] as number;
    records[r + 6] = points[at + 5] as number;
    records[r + 7] = points[at + 7] as number;
  }
  return records;
}

/** Copies bucket b's window, the four points from `buckets[b]` on (sentinels past the last), into its record. */
function writeRecord(records: Int32Array, points: Int32Array, buckets: Int32Array, b: number): void {
  const at = 2 * (buckets[b] as number);
  const r = RECORD * b;
  for (let k = 0; k < 4; k++) {
    records[r + k] = points[at + 2 * k] as number;
    records[r + 4 + k] = points[at + 2 * k + 1] as number;
  }
}

/**
 * The bucket shift of a ring of `size` points: one to two points per bucket
 * on average (a power of two from half as many buckets as points) in a ring
 * with records, two to four in a larger one; 2 … 2^24 buckets.
 */
function shiftFor(size: number): number {
  const fewer = size <= RECORDS_UP_TO ? 1 : 2;
  return 32 - Math.min(24, Math.max(1, Math.ceil(Math.log2(Math.max(1, size))) - fewer));
}

/**
 * The first point at or after `hash` (a 32-bit integer, signed or not), or
 * the ring's size past the last (the sentinel there is owned by point 0's
 * endpoint). From the start of the hash's bucket, counts how many of the
 * next four points lie before the hash, without a branch (points past the
 * bucket lie after it: the ring is sorted, and the sentinels end it); in a
 * bucket with more points, a binary search of the rest. O(1) expected (a
 * bucket holds one to two points on average, and how many depends on the
 * endpoints' ids, not on the keys), O(log ring) at worst.
 */
export function lowerBound(points: Int32Array, buckets: Int32Array, shift: number, hash: number): number {
  const key = hash ^ BIAS;
  const b = hash >>> shift;
  const p = buckets[b] as number;
  const at = 2 * p;
  const n =
    ((points[at] as number) < key ? 1 : 0) +
    ((points[at + 2] as number) < key ? 1 : 0) +
    ((points[at + 4] as number) < key ? 1 : 0) +
    ((points[at + 6] as number) < key ? 1 : 0);
  if (n < 4) return p + n;
  return crowded(points, buckets, b, key);
}

/** In a bucket of more than four points, the first from its fifth on at or after `key` (biased): a binary search. */
function crowded(points: Int32Array, buckets: Int32Array, b: number, key: number): number {
  // The next bucket's first point lies after the hash.
  let lo = (buckets[b] as number) + 4;
  let hi = buckets[b + 1] as number;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((points[2 * mid] as number) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The slot of the endpoint that owns the first point at or after `hash`
 * (point 0's past the last), read from the hash's bucket record (see
 * `Ring`): one record read, four comparisons and one more read in the same
 * record. −1 when the bucket holds more than four points and the hash lies
 * past its fourth: the answer is then `crowdedSlot()`'s.
 */
export function recordSlot(records: Int32Array, shift: number, hash: number): number {
  const key = hash ^ BIAS;
  const r = RECORD * (hash >>> shift);
  const n =
    ((records[r] as number) < key ? 1 : 0) +
    ((records[r + 1] as number) < key ? 1 : 0) +
    ((records[r + 2] as number) < key ? 1 : 0) +
    ((records[r + 3] as number) < key ? 1 : 0);
  return n < 4 ? (records[r + 4 + n] as number) : -1;
}

/** The slot of the owner of the first point at or after `hash`, for a hash past the fourth point of a crowded bucket. */
export function crowdedSlot(points: Int32Array, buckets: Int32Array, shift: number, hash: number): number {
  return points[2 * crowded(points, buckets, hash >>> shift, hash ^ BIAS) + 1] as number;
}

/** The points of `hosts` at `scale`, unsorted: positions (biased) and slots. */
function pointsFor(hosts: readonly Host[], scale: number): { keys: Int32Array; slots: Int32Array } {
  let size = 0;
  for (const h of hosts) size += pointsOf(weightOf(h), scale);
  const keys = new Int32Array(size);
  const slots = new Int32Array(size);
  let p = 0;
  for (const host of hosts) {
    const [a, b] = idHashes(host.endpoint.id);
    const count = pointsOf(weightOf(host), scale);
    for (let i = 0; i < count; i++) {
      keys[p] = fmix32(a ^ fmix32(b ^ i)) ^ BIAS;
      slots[p++] = host.slot;
    }
  }
  return { keys, slots };
}

/**
 * Sorts points by position (LSD radix sort, three passes of 11, 11 and 10
 * bits: O(points)), then orders each run of equal positions by endpoint id,
 * so the ring does not depend on the order of the hosts. (Each pass is its
 * own small function: a build runs rarely, and V8 optimizes a small loop
 * that has run once better than one part of a long function.)
 */
function sortPoints(keys: Int32Array, slots: Int32Array, ids: IdsBySlot): void {
  const n = keys.length;
  const scratchKeys = new Int32Array(n);
  const scratchSlots = new Int32Array(n);
  const counts = new Int32Array(2048);
  radixPass(keys, slots, scratchKeys, scratchSlots, counts, 0);
  radixPass(scratchKeys, scratchSlots, keys, slots, counts, 11);
  radixPass(keys, slots, scratchKeys, scratchSlots, counts, 22);
  keys.set(scratchKeys);
  slots.set(scratchSlots);
  orderTies(keys, slots, ids);
}

/** One stable counting-sort pass on the 11 bits of the (unbiased) position from `shift`. */
function radixPass(
  fromKeys: Int32Array,
  fromSlots: Int32Array,
  toKeys: Int32Array,
  toSlots: Int32Array,
  counts: Int32Array,
  shift: number,
): void {
  const n = fromKeys.length;
  counts.fill(0);
  for (let p = 0; p < n; p++) {
    const digit = (((fromKeys[p] as number) ^ BIAS) >>> shift) & 2047;
    counts[digit] = (counts[digit] as number) + 1;
  }
  let start = 0;
  for (let d = 0; d < 2048; d++) {
    const c = counts[d] as number;
    counts[d] = start;
    start += c;
  }
  for (let p = 0; p < n; p++) {
    const k = fromKeys[p] as number;
    const digit = ((k ^ BIAS) >>> shift) & 2047;
    const at = counts[digit] as number;
    counts[digit] = at + 1;
    toKeys[at] = k;
    toSlots[at] = fromSlots[p] as number;
  }
}

/** Orders each run of points at one position by endpoint id (an insertion sort: such runs are rare and short). */
function orderTies(keys: Int32Array, slots: Int32Array, ids: IdsBySlot): void {
  const n = keys.length;
  for (let p = 1; p < n; p++) {
    if (keys[p] !== keys[p - 1]) continue;
    const s = slots[p] as number;
    const id = ids[s] as string;
    let q = p;
    while (q > 0 && keys[q - 1] === keys[p] && (ids[slots[q - 1] as number] as string) > id) {
      slots[q] = slots[q - 1] as number;
      q--;
    }
    slots[q] = s;
  }
}

/** A ring over `hosts` from scratch: every host's points, sorted. O(points). */
export function buildRing(hosts: readonly Host[], scale: number, ids: IdsBySlot): Ring {
  const { keys, slots } = pointsFor(hosts, scale);
  sortPoints(keys, slots, ids);
  const size = keys.length;
  const points = new Int32Array(2 * (size + PAD));
  for (let p = 0; p < size; p++) {
    points[2 * p] = keys[p] as number;
    points[2 * p + 1] = slots[p] as number;
  }
  return new Ring(points, size);
}

/** An endpoint whose points leave a ring: its id, slot and point count when the ring was built. */
export interface Leaving {
  readonly id: string;
  readonly slot: number;
  readonly points: number;
}

/**
 * The ring that `old` (over `oldIds`) becomes when the points of `leaving`
 * go and those of `joining` come in, at the same scale: equal to
 * `buildRing()` over the hosts that stay and join. Only the joining points
 * are hashed and sorted; the leaving ones are found by their positions
 * (bucket lookups); the points in between are copied in runs
 * (`TypedArray.set`), then the buckets and the records of the buckets
 * whose window changed are patched. Undefined when `old` does
 * not hold a leaving point (it was not built as `oldIds` says).
 */
export function mergeRing(
  old: Ring,
  oldIds: IdsBySlot,
  leaving: readonly Leaving[],
  joining: readonly Host[],
  ids: IdsBySlot,
  scale: number,
): Ring | undefined {
  const from = old.points;
  const fresh = pointsFor(joining, scale);
  sortPoints(fresh.keys, fresh.slots, ids);
  let count = 0;
  for (const l of leaving) count += l.points;
  const deletions = new Int32Array(count);
  let d = 0;
  for (const l of leaving) {
    const [a, b] = idHashes(l.id);
    for (let i = 0; i < l.points; i++) {
      const hash = fmix32(a ^ fmix32(b ^ i));
      let p = lowerBound(from, old.buckets, old.shift, hash);
      while (p < old.size && from[2 * p] === (hash ^ BIAS) && from[2 * p + 1] !== l.slot) p++;
      if (p === old.size || from[2 * p + 1] !== l.slot) return undefined;
      deletions[d++] = p;
    }
  }
  deletions.sort();
  // Where each joining point goes: before the first old point after it in (position, id) order.
  const joins = fresh.keys.length;
  const before = new Int32Array(joins);
  for (let f = 0; f < joins; f++) {
    const key = fresh.keys[f] as number;
    const id = ids[fresh.slots[f] as number] as string;
    let p = lowerBound(from, old.buckets, old.shift, key ^ BIAS);
    while (p < old.size && from[2 * p] === key && (oldIds[from[2 * p + 1] as number] as string) < id) p++;
    before[f] = p;
  }
  const size = old.size - count + joins;
  const points = new Int32Array(2 * (size + PAD));
  // Where each joining point lands in the new ring.
  const joinedAt = new Int32Array(joins);
  let out = 0;
  let next = 0; // the next old point to copy
  let f = 0;
  d = 0;
  for (;;) {
    const join = f < joins ? (before[f] as number) : old.size;
    const drop = d < count ? (deletions[d] as number) : old.size;
    const at = Math.min(join, drop);
    if (at > next) {
      points.set(from.subarray(2 * next, 2 * at), 2 * out);
      out += at - next;
      next = at;
    }
    if (f < joins && join === at) {
      points[2 * out] = fresh.keys[f] as number;
      points[2 * out + 1] = fresh.slots[f] as number;
      joinedAt[f] = out;
      out++;
      f++;
    } else if (d < count) {
      next = at + 1;
      d++;
    } else break;
  }
  // A new bucket size, or records gained or lost: a new index.
  if (shiftFor(size) !== old.shift || size <= RECORDS_UP_TO !== (old.records !== undefined)) {
    return new Ring(points, size);
  }
  writeSentinels(points, size);
  const buckets = patchedBuckets(old, fresh.keys, deletions);
  const records =
    old.records === undefined
      ? undefined
      : patchedRecords(old, old.records, points, size, buckets, fresh.keys, joinedAt, deletions);
  return new Ring(points, size, { buckets, records });
}

/**
 * The buckets of a ring made from `old` by inserting points at `joining`
 * (biased positions) and deleting old points `deletions`, at the same
 * shift: bucket b starts later by the joins below it, earlier by the
 * deletions below it. One pass from the lowest bucket that changes, instead
 * of one over every point.
 */
function patchedBuckets(old: Ring, joining: Int32Array, deletions: Int32Array): Int32Array {
  const shift = old.shift;
  const events = joining.length + deletions.length;
  // Each event's bucket, times two, plus 1 for a join and 0 for a deletion: sorted, joins and deletions interleave by bucket.
  const tops = new Float64Array(events);
  let e = 0;
  for (const key of joining) tops[e++] = 2 * ((key ^ BIAS) >>> shift) + 1;
  for (const p of deletions) tops[e++] = 2 * (((old.points[2 * p] as number) ^ BIAS) >>> shift);
  tops.sort();
  const buckets = old.buckets.slice();
  if (events === 0) return buckets;
  const count = buckets.length - 1;
  let running = 0;
  let next = 0;
  for (let b = Math.floor((tops[0] as number) / 2) + 1; b <= count; b++) {
    // Events in buckets below b.
    while (next < events && (tops[next] as number) < 2 * b) running += (tops[next++] as number) % 2 === 1 ? 1 : -1;
    buckets[b] = (buckets[b] as number) + running;
  }
  return buckets;
}

/**
 * The records of a ring made from `old` (with `oldRecords`) as `patchedBuckets` says, with
 * `buckets` its (patched) buckets: a copy of the old records in which only
 * the windows that held a point that left, or now hold one that joined, are
 * written again. A window starts at most three points before such a point,
 * in its bucket or in one before it (a run of buckets with few points
 * between). And the windows that reach the sentinels, which follow point 0:
 * the last few. O(buckets) to copy, O(changed points) to patch.
 */
function patchedRecords(
  old: Ring,
  oldRecords: Int32Array,
  points: Int32Array,
  size: number,
  buckets: Int32Array,
  joining: Int32Array,
  joinedAt: Int32Array,
  deletions: Int32Array,
): Int32Array {
  const shift = old.shift;
  const records = oldRecords.slice();
  for (let f = 0; f < joining.length; f++) {
    const at = joinedAt[f] as number;
    for (let b = ((joining[f] as number) ^ BIAS) >>> shift; b >= 0 && (buckets[b] as number) >= at - 3; b--) {
      writeRecord(records, points, buckets, b);
    }
  }
  for (const at of deletions) {
    const position = (old.points[2 * at] as number) ^ BIAS;
    for (let b = position >>> shift; b >= 0 && (old.buckets[b] as number) >= at - 3; b--) {
      writeRecord(records, points, buckets, b);
    }
  }
  // (A window that reached them before and does not now holds a point that joined.)
  for (let b = buckets.length - 2; b >= 0 && (buckets[b] as number) >= size - 3; b--) {
    writeRecord(records, points, buckets, b);
  }
  return records;
}
