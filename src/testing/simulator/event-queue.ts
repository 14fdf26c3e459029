/**
 * The simulator's pending events: a binary min-heap of (time, id) pairs in
 * typed arrays (a `Float64Array` of times beside an `Int32Array` of ids,
 * grown by doubling), so a run of a million events allocates a few arrays,
 * not a million objects. The earliest time comes first; equal times come
 * in order of id (the simulator numbers requests in arrival order, so
 * events due at the same time run in the order their requests arrived).
 * O(log n) push and pop, O(1) peek. @internal
 */
export class EventQueue {
  #times = new Float64Array(64);
  #ids = new Int32Array(64);
  #size = 0;

  /** Events pending. */
  get size(): number {
    return this.#size;
  }

  /** The time of the earliest event, or `Infinity` when none is pending. */
  peekTime(): number {
    return this.#size === 0 ? Number.POSITIVE_INFINITY : (this.#times[0] as number);
  }

  /** Adds event `id` (an integer ≥ 0) due at `time`. */
  push(time: number, id: number): void {
    if (this.#size === this.#times.length) this.#grow();
    const times = this.#times;
    const ids = this.#ids;
    // Sift up: move parents down until the new event's place is found.
    let i = this.#size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = times[parent] as number;
      if (pt < time || (pt === time && (ids[parent] as number) < id)) break;
      times[i] = pt;
      ids[i] = ids[parent] as number;
      i = parent;
    }
    times[i] = time;
    ids[i] = id;
  }

  /** Removes the earliest event and returns its id, or -1 when none is pending. */
  pop(): number {
    if (this.#size === 0) return -1;
    const times = this.#times;
    const ids = this.#ids;
    const top = ids[0] as number;
    const n = --this.#size;
    if (n === 0) return top;
    // Sift the last event down from the root.
    const time = times[n] as number;
    const id = ids[n] as number;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && earlier(times, ids, right, child)) child = right;
      const ct = times[child] as number;
      if (time < ct || (time === ct && id < (ids[child] as number))) break;
      times[i] = ct;
      ids[i] = ids[child] as number;
      i = child;
    }
    times[i] = time;
    ids[i] = id;
    return top;
  }

  #grow(): void {
    const times = new Float64Array(this.#times.length * 2);
    times.set(this.#times);
    this.#times = times;
    const ids = new Int32Array(this.#ids.length * 2);
    ids.set(this.#ids);
    this.#ids = ids;
  }
}

/** True when the event at heap position a comes before the one at b. */
function earlier(times: Float64Array, ids: Int32Array, a: number, b: number): boolean {
  const ta = times[a] as number;
  const tb = times[b] as number;
  return ta < tb || (ta === tb && (ids[a] as number) < (ids[b] as number));
}
