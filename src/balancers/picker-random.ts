import type { Random } from "../random.js";

/**
 * A picker's own random generator (mulberry32: a Weyl sequence through an
 * integer mix, 32 bits of state), seeded once from the injected `Random` when
 * the picker is built. Its state lives in an `Int32Array` and it returns
 * small integers, so a pick draws without allocating: a `Random.next()` call
 * that is not inlined returns a boxed double (16 B per draw with
 * `Math.random`). Under `seededRandom` the same seed still gives the same
 * picks. Statistically sound for choosing endpoints; not for cryptography.
 */
export class PickerRandom {
  readonly #state = new Int32Array(1);

  constructor(random: Random) {
    this.#state[0] = Math.floor(random.next() * 4294967296) | 0;
  }

  /** An integer in [0, 2^31). */
  next31(): number {
    const s = this.#state;
    const a = ((s[0] as number) + 0x6d2b79f5) | 0;
    s[0] = a;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 1;
  }

  /** An integer in [0, n), for n ≤ 2^31 (larger n: approximately uniform, 31 bits of resolution). */
  below(n: number): number {
    return Math.floor((this.next31() * n) / TWO_31);
  }
}

const TWO_31 = 2147483648;
