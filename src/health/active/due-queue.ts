/**
 * Slots ordered by the time their next probe is due: a binary min-heap in
 * typed arrays (ties broken by slot), with each slot's position kept so a
 * slot can be rescheduled or removed in O(log n). The checker holds one
 * timer for the head, whatever the number of endpoints.
 * @internal
 */
export class DueQueue {
  /** Number of slots scheduled. */
  size = 0;
  #heap = new Int32Array(0);
  /** Each slot's index in the heap, or -1. */
  #pos = new Int32Array(0);
  #due = new Float64Array(0);

  /** Makes room for slots below `capacity`. */
  ensure(capacity: number): void {
    if (capacity <= this.#pos.length) return;
    const heap = new Int32Array(capacity);
    heap.set(this.#heap);
    const pos = new Int32Array(capacity).fill(-1);
    pos.set(this.#pos);
    const due = new Float64Array(capacity);
    due.set(this.#due);
    this.#heap = heap;
    this.#pos = pos;
    this.#due = due;
  }

  /** Whether `slot` is scheduled. */
  has(slot: number): boolean {
    return slot < this.#pos.length && (this.#pos[slot] as number) >= 0;
  }

  /** When `slot` is due (meaningful while scheduled). */
  dueAt(slot: number): number {
    return this.#due[slot] as number;
  }

  /** The slot due first, or -1. */
  peek(): number {
    return this.size === 0 ? -1 : (this.#heap[0] as number);
  }

  /** Schedules `slot` at `time`, or moves it there when it is already scheduled. */
  schedule(slot: number, time: number): void {
    this.#due[slot] = time;
    let i = this.#pos[slot] as number;
    if (i < 0) {
      i = this.size++;
      this.#heap[i] = slot;
      this.#pos[slot] = i;
    }
    this.#down(this.#up(i));
  }

  /** Unschedules `slot` (nothing when it is not scheduled). */
  remove(slot: number): void {
    const i = slot < this.#pos.length ? (this.#pos[slot] as number) : -1;
    if (i < 0) return;
    this.#pos[slot] = -1;
    const last = this.#heap[--this.size] as number;
    if (i === this.size) return;
    this.#heap[i] = last;
    this.#pos[last] = i;
    this.#down(this.#up(i));
  }

  /** Unschedules everything. */
  clear(): void {
    for (let i = 0; i < this.size; i++) this.#pos[this.#heap[i] as number] = -1;
    this.size = 0;
  }

  #before(a: number, b: number): boolean {
    const da = this.#due[a] as number;
    const db = this.#due[b] as number;
    return da < db || (da === db && a < b);
  }

  #up(i: number): number {
    const heap = this.#heap;
    const slot = heap[i] as number;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as number;
      if (!this.#before(slot, p)) break;
      heap[i] = p;
      this.#pos[p] = i;
      i = parent;
    }
    heap[i] = slot;
    this.#pos[slot] = i;
    return i;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const slot = heap[i] as number;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= this.size) break;
      const right = child + 1;
      if (right < this.size && this.#before(heap[right] as number, heap[child] as number)) child = right;
      const c = heap[child] as number;
      if (!this.#before(c, slot)) break;
      heap[i] = c;
      this.#pos[c] = i;
      i = child;
    }
    heap[i] = slot;
    this.#pos[slot] = i;
  }
}
