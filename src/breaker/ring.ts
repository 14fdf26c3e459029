import { countsField } from "./strategy.js";

/**
 * The last `size` calls as bits (1 = a failure, or a slow call), in a
 * `Uint8Array` ring, with a running count of the 1s: O(1) per call, no
 * allocation. Shared by the count-window strategies.
 */
export class BitWindow {
  readonly #bits: Uint8Array;
  #next = 0;
  /** Calls in the window (up to its size). */
  count = 0;
  /** Of those, the 1s. */
  ones = 0;

  constructor(size: number) {
    this.#bits = new Uint8Array(size);
  }

  /** Records a call; the oldest drops out once the window is full. */
  push(bit: 0 | 1): void {
    const bits = this.#bits;
    const i = this.#next;
    if (this.count === bits.length) this.ones -= bits[i] as number;
    else this.count++;
    bits[i] = bit;
    this.ones += bit;
    this.#next = i + 1 === bits.length ? 0 : i + 1;
  }

  clear(): void {
    this.#bits.fill(0);
    this.#next = 0;
    this.count = 0;
    this.ones = 0;
  }

  /** The bits, oldest first. */
  toArray(): number[] {
    const bits = this.#bits;
    const out: number[] = [];
    const start = this.count === bits.length ? this.#next : 0;
    for (let k = 0; k < this.count; k++) out.push(bits[(start + k) % bits.length] as number);
    return out;
  }

  /** Replaces the window with `state[key]` (bits oldest first; only the newest that fit are kept). */
  restore(state: unknown, key: string): void {
    const bits = countsField(state, key, 1);
    this.clear();
    for (const b of bits.slice(Math.max(0, bits.length - this.#bits.length))) this.push(b as 0 | 1);
  }
}
