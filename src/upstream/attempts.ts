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
  /** The endpoint slot of each record. */
  slot = new Int32Array(0);
  /** The slot's generation when the attempt began. */
  slotGeneration = new Uint32Array(0);
  /** Clock time the attempt began. */
  start = new Float64Array(0);
  /** The record's generation; the token carries it. */
  generation = new Uint16Array(0);
  /** 1 while the attempt is open. */
  open = new Uint8Array(0);
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
    this.slot[i] = slot;
    this.slotGeneration[i] = slotGeneration;
    this.start[i] = time[0] as number;
    this.open[i] = 1;
    this.live++;
    return ((this.generation[i] as number) << INDEX_BITS) | i;
  }

  /** The record index of an open attempt's token, or -1 for a stale, repeated or foreign token. */
  indexOf(token: number): number {
    if (!(token >= 0 && token < MAX_TOKEN) || token !== (token | 0)) return -1;
    const i = token & INDEX_MASK;
    if (i >= this.capacity || this.open[i] === 0 || this.generation[i] !== token >>> INDEX_BITS) return -1;
    return i;
  }

  /** Closes record `i` (from `indexOf`); its next use gets a new generation. */
  end(i: number): void {
    this.open[i] = 0;
    this.live--;
    const g = (this.generation[i] as number) + 1;
    this.generation[i] = g > MAX_GENERATION ? 1 : g;
    let tail = this.#head + this.#count;
    if (tail >= this.capacity) tail -= this.capacity;
    this.#queue[tail] = i;
    this.#count++;
  }

  #grow(): void {
    const old = this.capacity;
    const capacity = old === 0 ? 256 : old * 2;
    if (capacity > INDEX_MASK + 1) throw new RangeError(`more than ${INDEX_MASK + 1} attempts open at once`);
    const grow = <T extends Int32Array | Uint32Array | Float64Array | Uint16Array | Uint8Array>(a: T): T => {
      const next = new (a.constructor as new (n: number) => T)(capacity);
      next.set(a);
      return next;
    };
    this.slot = grow(this.slot);
    this.slotGeneration = grow(this.slotGeneration);
    this.start = grow(this.start);
    this.generation = grow(this.generation);
    this.open = grow(this.open);
    for (let i = old; i < capacity; i++) this.generation[i] = 1;
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
const MAX_TOKEN = 1 << 30;
