/**
 * The upstream's live per-endpoint state (read-only to balancers, load
 * metrics and plug-ins: plug-ins change eligibility through
 * `PluginContext.eject()`), one row (a *slot*) per endpoint,
 * kept in typed-array columns: pickers, load metrics and plug-ins read them
 * at pick time without a rebuild, and a store of a double into a
 * `Float64Array` allocates nothing (a double in an object field allocates a
 * box per store on V8).
 *
 * A slot is stable while its endpoint stays in the set. When the endpoint
 * leaves, the slot's `generation` is bumped before the slot is reused, so an
 * attempt or report that still names the old endpoint is dropped rather than
 * landing on a newcomer's counters.
 *
 * Columns are replaced (never resized in place) when the table grows: read
 * them through the table (`table.inFlight[slot]`) at pick time, never keep a
 * column across calls.
 */
export class EndpointTable {
  /** Rows allocated; slots are 0..capacity-1. */
  capacity = 0;
  /** Bumped each time a slot is freed; attempts remember it and are dropped when it moved on. */
  generation = new Uint32Array(0);
  /** Attempts begun (`Upstream.begin()`) and not yet ended. */
  inFlight = new Int32Array(0);
  /** Ejection reason bits: bit i set by plug-in i (see `Upstream.snapshot()` for the names). */
  ejection = new Uint32Array(0);
  /** Operator override: 1 forced up, -1 forced down, 0 none (`Upstream.override()`). */
  override = new Int8Array(0);
  /** 1 when the slot may not take traffic outside panic: forced down, or an ejection reason without a forced up. Pickers test it. */
  down = new Uint8Array(0);
  /** Clock time the slot joined, or its `down` flag last changed (set or cleared): how long it has been in its state. */
  stateSince = new Float64Array(0);
  /**
   * The weight balancers weigh the slot by: the endpoint's weight, or less
   * while slow start ramps it (`UpstreamOptions.slowStart`). Weighted
   * pickers read it at build time, least request's comparison at pick time.
   */
  effectiveWeight = new Float64Array(0);
  /** Clock time the endpoint joined or last became eligible again (or, with slow start, its weight left 0): where its warm-up begins. */
  warmupStart = new Float64Array(0);
  /** Load-metric state: the metric's estimate (e.g. a Peak EWMA of latency, ms). */
  loadEstimate = new Float64Array(0);
  /** Load-metric state: clock time of the estimate's last update. */
  loadStamp = new Float64Array(0);
  /**
   * Load-metric state: what a p2c picker compares in place of `load()` for
   * a built-in metric. Peak EWMA: ln(loadEstimate) + loadStamp / decayMs, the
   * estimate carried back to time 0 on a log scale, so that comparing two
   * keys compares the estimates decayed to any common time (NaN with no estimate).
   */
  loadKey = new Float64Array(0);
  /**
   * Load-metric state: Peak EWMA's cost in fixed point, what a p2c picker
   * compares (two integers, as least request compares in-flight counts):
   * (`loadKey` − a base + ln(inFlight + 1)) × 2^20, rounded and clamped to
   * ±(2^30 − 1); `NO_RANK` while `loadKey` is NaN. The table keeps it as the
   * count moves (`addInFlight()`) and the metric as its key does
   * (`refreshLoadRank()`). The base follows the keys, which grow with time
   * (stamp / decayMs): when a new key passes it by 512, every rank is
   * computed again from the new key (O(capacity), about once per 512 ×
   * decayMs of clock time). Ranks order costs as the keys do, to 2^-20 (a
   * cost ratio of 1 + 10^-6); keys more than 1,024 below the newest (costs
   * decayed by e^-1024 or more) share the lowest rank.
   */
  loadRank = new Int32Array(0);
  /** Outcomes counted (ended attempts and reports; abandoned attempts are not outcomes). */
  requests = new Float64Array(0);
  /** Of those, failures (see `isFailure`). */
  failures = new Float64Array(0);
  /** Failures since the last success. */
  consecutiveFailures = new Float64Array(0);
  /** Latency of the last outcome, ms; NaN before the first. */
  lastLatencyMs = new Float64Array(0);
  /** Clock time the last outcome ended (its start + latency); NaN before the first. */
  lastEndedAt = new Float64Array(0);
  /** Attempts reclaimed as abandoned (begun and never ended within the attempt timeout). */
  abandoned = new Float64Array(0);
  /**
   * Cell 0: the clock time the upstream last read for an attempt (`begin()`,
   * or an `end()` or `report()` that it timed), read once per synchronous run
   * on a `turnTime` clock: a picker or load metric takes it as "now" without
   * reading the clock (Peak EWMA's decay). 0 before the first attempt.
   */
  readonly attemptTime = new Float64Array(1);
  /** The upstream's priority-level index of the slot, or -1 (weight 0, or free). @internal */
  level = new Int32Array(0);
  /** 1 when the slot is in its level's current picker. @internal */
  inPicker = new Uint8Array(0);
  /** With zone affinity: the index of the slot's zone within its level, or -1. @internal */
  zone = new Int32Array(0);

  #free: number[] = [];
  /**
   * Cell 0: the key that rank 0 stands for (see `loadRank`); NaN until a
   * load metric sets a key (`refreshLoadRank()`), and until then
   * `addInFlight()` has no rank to keep.
   */
  readonly #rankBase = Float64Array.of(Number.NaN);

  /** Takes a free slot (growing the table when none is left) and resets its columns. @internal */
  allocate(weight: number, now: number): number {
    if (this.#free.length === 0) this.#grow();
    const slot = this.#free.pop() as number;
    this.inFlight[slot] = 0;
    this.ejection[slot] = 0;
    this.override[slot] = 0;
    this.down[slot] = 0;
    this.stateSince[slot] = now;
    this.effectiveWeight[slot] = weight;
    this.warmupStart[slot] = now;
    this.loadEstimate[slot] = Number.NaN;
    this.loadStamp[slot] = Number.NaN;
    this.loadKey[slot] = Number.NaN;
    this.loadRank[slot] = NO_RANK;
    this.requests[slot] = 0;
    this.failures[slot] = 0;
    this.consecutiveFailures[slot] = 0;
    this.lastLatencyMs[slot] = Number.NaN;
    this.lastEndedAt[slot] = Number.NaN;
    this.abandoned[slot] = 0;
    this.level[slot] = -1;
    this.inPicker[slot] = 0;
    this.zone[slot] = -1;
    return slot;
  }

  /** Frees a slot: its generation moves on, so late attempts and reports about it are dropped. @internal */
  release(slot: number): void {
    this.down[slot] = 0;
    this.generation[slot] = ((this.generation[slot] as number) + 1) >>> 0;
    this.level[slot] = -1;
    this.inPicker[slot] = 0;
    this.zone[slot] = -1;
    this.#free.push(slot);
  }

  /** Moves the slot's in-flight count by `delta` (+1 or −1) and `loadRank` with it. @internal */
  addInFlight(slot: number, delta: number): void {
    const n = (this.inFlight[slot] as number) + delta;
    this.inFlight[slot] = n;
    // Until a metric sets a key every key is NaN, and every rank NO_RANK: nothing to keep.
    if (Number.isNaN(this.#rankBase[0] as number)) return;
    this.loadRank[slot] = this.#rank(slot, n);
  }

  /** Recomputes `loadRank` after a load metric changed `loadKey`, moving the base first if the key passed it by 512. @internal */
  refreshLoadRank(slot: number): void {
    const key = this.loadKey[slot] as number;
    // Also when there is no base yet (NaN: the comparison fails).
    if (!(key - (this.#rankBase[0] as number) <= REBASE_AT)) {
      this.#rankBase[0] = key;
      for (let s = 0; s < this.capacity; s++) this.loadRank[s] = this.#rank(s, this.inFlight[s] as number);
    } else {
      this.loadRank[slot] = this.#rank(slot, this.inFlight[slot] as number);
    }
  }

  /**
   * The rank of a slot's key with `n` in flight (see `loadRank`). An
   * integer within ±(2^30 − 1), or NO_RANK: a small integer (Smi) leaves
   * the method, never a boxed double. ln(n + 1) is read in line.
   */
  #rank(slot: number, n: number): number {
    const v =
      ((this.loadKey[slot] as number) -
        (this.#rankBase[0] as number) +
        (n < LN_SIZE ? (LN_IN_FLIGHT[n] as number) : Math.log(n + 1))) *
      RANK_SCALE;
    if (Number.isNaN(v)) return NO_RANK;
    return v >= RANK_MAX ? RANK_MAX : v <= -RANK_MAX ? -RANK_MAX : Math.round(v) | 0;
  }

  /**
   * Recomputes `down` from the override and the ejection bits; returns true
   * when it changed. @internal
   */
  refreshDown(slot: number): boolean {
    const o = this.override[slot] as number;
    const down = o < 0 || (o === 0 && this.ejection[slot] !== 0) ? 1 : 0;
    if (this.down[slot] === down) return false;
    this.down[slot] = down;
    return true;
  }

  #grow(): void {
    const old = this.capacity;
    const capacity = old === 0 ? 16 : old * 2;
    this.generation = grown(this.generation, capacity);
    this.inFlight = grown(this.inFlight, capacity);
    this.ejection = grown(this.ejection, capacity);
    this.override = grown(this.override, capacity);
    this.down = grown(this.down, capacity);
    this.stateSince = grown(this.stateSince, capacity);
    this.effectiveWeight = grown(this.effectiveWeight, capacity);
    this.warmupStart = grown(this.warmupStart, capacity);
    this.loadEstimate = grown(this.loadEstimate, capacity);
    this.loadStamp = grown(this.loadStamp, capacity);
    this.loadKey = grown(this.loadKey, capacity);
    this.loadRank = grown(this.loadRank, capacity);
    this.requests = grown(this.requests, capacity);
    this.failures = grown(this.failures, capacity);
    this.consecutiveFailures = grown(this.consecutiveFailures, capacity);
    this.lastLatencyMs = grown(this.lastLatencyMs, capacity);
    this.lastEndedAt = grown(this.lastEndedAt, capacity);
    this.abandoned = grown(this.abandoned, capacity);
    this.level = grown(this.level, capacity);
    this.inPicker = grown(this.inPicker, capacity);
    this.zone = grown(this.zone, capacity);
    // Lowest slots first out of the stack.
    for (let s = capacity - 1; s >= old; s--) this.#free.push(s);
    this.capacity = capacity;
  }
}

/** `loadRank` of a slot with no key: below every rank. @internal */
export const NO_RANK = -(2 ** 30);
/** The largest rank (and the negative of the smallest): ranks stay small integers (Smis). */
const RANK_MAX = 2 ** 30 - 1;
/** Ranks per unit of key (2^20: ties only within a cost ratio of 1 + 10^-6). */
const RANK_SCALE = 2 ** 20;
/** A key this far past the base moves the base (half the ±1,024 keys ranks span). */
const REBASE_AT = 512;

/** Size of `LN_IN_FLIGHT`. @internal */
export const LN_SIZE = 1024;
/**
 * ln(k + 1) at index k, for k < `LN_SIZE` requests in flight (Peak EWMA's
 * in-flight term, in logarithms); `Math.log(k + 1)` above. Read in line,
 * `k < LN_SIZE ? LN_IN_FLIGHT[k] : Math.log(k + 1)`, not through a function
 * returning the double (boxed where V8 does not inline the call). @internal
 */
export const LN_IN_FLIGHT = new Float64Array(LN_SIZE);
for (let k = 0; k < LN_SIZE; k++) LN_IN_FLIGHT[k] = Math.log(k + 1);

/** A typed-array column of per-endpoint state, indexed by slot. @internal */
export type Column = Uint32Array | Int32Array | Int8Array | Uint8Array | Float64Array;

/** A copy of `column` with room for `capacity` slots (the new ones 0); plug-ins grow their own columns with it. @internal */
export function grown<T extends Column>(column: T, capacity: number): T {
  const next = new (column.constructor as new (n: number) => T)(capacity);
  next.set(column);
  return next;
}
