/**
 * Attempt records of an upstream, in typed arrays, handed out as small
 * integer tokens: `(generation << INDEX_BITS) | index`. A token is a positive
 * small integer (< 2^30), so passing it around allocates nothing on V8.
 *
 * A record's generation (1..1023) moves on each time it is reused, and freed
 * records are reused first-in first-out, so a token that was already ended
 * (or reclaimed) is recognised as stale: it could only match again after its
 * record has been reused 1023 more times, that is after at least 1023 ×
 * (records in the pool) later attempts.
 */
export class AttemptTable {
  /** Records allocated. */
  capacity = 0;
  /** Records in use. */
  live = 0;
  /**
   * Four integers per record i, side by side from 4i: the endpoint slot, the
   * slot's generation when the attempt began (as an int32), the record's
   * generation while the attempt is open (its negation once closed), unused.
   */
  records = new Int32Array(0);
  /** Clock time each attempt began. */
  start = new Float64Array(0);
  // Free records, first in first out, in a ring.
  #queue = new Int32Array(0);
  #head = 0;
  #count = 0;

  /**
   * Opens a record for an attempt on `slot`, begun at `time[0]` (a cell, not
   * a number argument: a double passed to a call that is not inlined is
   * boxed); returns its token.
   */
  begin(slot: number, slotGeneration: number, time: Float64Array): number {
    if (this.#count === 0) this.#grow();
    const i = this.#queue[this.#head] as number;
    this.#head = this.#head + 1 === this.capacity ? 0 : this.#head + 1;
    this.#count--;
    const records = this.records;
    const at = i << 2;
    let generation = 1 - (records[at + 2] as number);
    if (generation > MAX_GENERATION) generation = 1;
    records[at] = slot;
    records[at + 1] = slotGeneration | 0;
    records[at + 2] = generation;
    this.start[i] = time[0] as number;
    this.live++;
    return (generation << INDEX_BITS) | i;
  }

  /** The record index of an open attempt's token, or -1 for a stale, repeated or foreign token. */
  indexOf(token: number): number {
    if (typeof token !== "number" || (token | 0) !== token || token < 0) return -1;
    const i = token & INDEX_MASK;
    if (i >= this.capacity || this.records[(i << 2) + 2] !== token >>> INDEX_BITS) return -1;
    return i;
  }

  /** True while record i holds an open attempt. */
  isOpen(i: number): boolean {
    return (this.records[(i << 2) + 2] as number) > 0;
  }

  /** The endpoint slot of record i. */
  slotOf(i: number): number {
    return this.records[i << 2] as number;
  }

  /** True when `slotGeneration` (the slot's generation now) is the one record i began with. */
  sameSlot(i: number, slotGeneration: number): boolean {
    return this.records[(i << 2) + 1] === (slotGeneration | 0);
  }

  /** Closes record i (from `indexOf`); its next use gets a new generation. */
  end(i: number): void {
    const at = (i << 2) + 2;
    this.records[at] = -(this.records[at] as number);
    this.live--;
    let tail = this.#head + this.#count;
    if (tail >= this.capacity) tail -= this.capacity;
    this.#queue[tail] = i;
    this.#count++;
  }

  #grow(): void {
    const old = this.capacity;
    const capacity = old === 0 ? 256 : old * 2;
    if (capacity > INDEX_MASK + 1) throw new RangeError(`more than ${INDEX_MASK + 1} attempts open at once`);
    const records = new Int32Array(4 * capacity);
    records.set(this.records);
    this.records = records;
    const start = new Float64Array(capacity);
    start.set(this.start);
    this.start = start;
    // The queue is empty when we grow: refill it with the new records only.
    this.#queue = new Int32Array(capacity);
    for (let i = old; i < capacity; i++) this.#queue[i - old] = i;
    this.#head = 0;
    this.#count = capacity - old;
    this.capacity = capacity;
  }
}

const INDEX_BITS = 20;
const INDEX_MASK = (1 << INDEX_BITS) - 1;
const MAX_GENERATION = 1023;
