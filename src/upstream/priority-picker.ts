import type { Host, PickContext, Picker } from "../balancer.js";
import { fmix32, murmur3 } from "../balancers/hash-key.js";
import type { Random } from "../random.js";

/** ⌊2^30 / φ⌋: the level sequence's step; its multiples mod 2^30 are the most evenly spread of any step. */
const GOLDEN_30 = 663608942;
const MASK_30 = 0x3fffffff;
const ONE = 1073741824; // 2^30: all traffic
/** Mixed into a key's hash before it chooses a level. */
const LEVEL_SEED = 0x5bd1e995;

/**
 * The state priority pickers of one upstream share: the low-discrepancy
 * sequence's position and each level's cumulative load bound, both in
 * typed arrays (integer state, no boxed doubles), updated in place when
 * level loads change so no picker needs rebuilding for it.
 */
export class LevelBounds {
  /** The sequence's position, in [0, 2^30). */
  readonly position = new Int32Array(1);
  /** bounds[i]: cumulative load of levels 0..i, in units of 2^-30 of all traffic (at most 2^30). */
  readonly bounds: Int32Array;

  constructor(levels: number) {
    this.bounds = new Int32Array(levels);
  }

  /** Starts the sequence at a random position (once the first priority picker over these levels is made). */
  start(random: Random): void {
    this.position[0] = Math.floor(random.next() * ONE) & MASK_30;
  }

  /** Sets the bounds from whole-percent loads (summing to 100, or all 0). */
  set(loads: ArrayLike<number>): void {
    let sum = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      sum += loads[i] as number;
      this.bounds[i] = Math.round((sum * ONE) / 100);
    }
  }

  /**
   * Sets the bounds from fractional loads summing to 1 (zone affinity's
   * split of a level), from the end: bounds[i] = 2^30 − (loads after i) ×
   * 2^30, so an entry with load 0 gets an empty range exactly, whatever the
   * rounding of the others.
   */
  setFractions(loads: ArrayLike<number>): void {
    let tail = 0;
    for (let i = this.bounds.length - 1; i >= 0; i--) {
      this.bounds[i] = ONE - Math.min(ONE, Math.round(tail * ONE));
      tail += loads[i] as number;
    }
  }
}

/**
 * Chooses a priority level by its load, then asks that level's picker. The
 * level comes from a low-discrepancy sequence (x += 2^30/φ mod 2^30, from a
 * random start) rather than a random draw per pick: a level's count drifts
 * from k × its load like log k, where random choice drifts like √k. Spill
 * traffic is spread evenly instead of in random clumps, and a pick costs no
 * random draw. The random start keeps a fleet of clients out of step.
 */
export class PriorityPicker implements Picker {
  readonly #pickers: readonly Picker[];
  // The first two levels' pickers, for the usual spill of two levels without an array read.
  readonly #first: Picker;
  readonly #second: Picker;
  readonly #position: Int32Array;
  readonly #bounds: Int32Array;
  readonly #last: number;

  /** One picker per level, lowest priority first; `bounds` holds their loads. */
  constructor(pickers: readonly Picker[], bounds: LevelBounds) {
    this.#pickers = pickers;
    this.#first = pickers[0] as Picker;
    this.#second = pickers[1] as Picker;
    this.#position = bounds.position;
    this.#bounds = bounds.bounds;
    this.#last = pickers.length - 1;
  }

  /** Every level's hosts, lowest priority first. */
  get hosts(): readonly Host[] {
    return this.#pickers.flatMap((p) => p.hosts);
  }

  /**
   * Chooses the level, then passes `context` (e.g. a hash key) to that
   * level's picker. A pick with a key (`hash` or `hashKey`) chooses by the
   * key instead of the sequence, as Envoy's hashing balancers choose the
   * priority by the hash: a key stays on its level while the loads hold,
   * and when they move, only the keys in the load that moved change level.
   */
  pick(context?: PickContext): Host | undefined {
    let x: number;
    if (context != null && (typeof context.hash === "number" || typeof context.hashKey === "string")) {
      const hash = context.hash;
      // Remixed, so the level does not depend on where the key lies within the level's picker.
      x = fmix32((typeof hash === "number" ? hash : murmur3(context.hashKey as string, 0)) ^ LEVEL_SEED) & MASK_30;
    } else {
      const position = this.#position;
      x = ((position[0] as number) + GOLDEN_30) & MASK_30;
      position[0] = x;
    }
    const bounds = this.#bounds;
    if (this.#last === 1) return (x < (bounds[0] as number) ? this.#first : this.#second).pick(context);
    // The first level whose bound lies above x. (A branch-free count was
    // slower: the sequence's comparisons are predictable enough.)
    let i = 0;
    while (i < this.#last && x >= (bounds[i] as number)) i++;
    return (this.#pickers[i] as Picker).pick(context);
  }
}
