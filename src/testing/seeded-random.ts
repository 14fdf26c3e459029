import { InvalidArgumentError, show } from "../errors.js";
import type { Random } from "../random.js";

/**
 * A seeded, repeatable `Random` (sfc32, seeded through splitmix32): the same
 * seed gives the same sequence on every machine, so tests can assert exact
 * pick sequences. 32 bits of randomness per `next()`. Not for cryptography.
 */
export class SeededRandom implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** @throws InvalidArgumentError unless `seed` is a finite number (its low 32 bits are used). */
  constructor(seed: number) {
    if (typeof seed !== "number" || !Number.isFinite(seed)) {
      throw new InvalidArgumentError("seed", `must be a finite number, got ${show(seed)}`);
    }
    let s = seed >>> 0;
    const split = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      return (z ^ (z >>> 15)) >>> 0;
    };
    this.a = split();
    this.b = split();
    this.c = split();
    this.d = split();
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** A float in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** An unsigned 32-bit integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
}

/** A seeded `Random`: `seededRandom(42)` gives the same sequence every run. */
export function seededRandom(seed: number): SeededRandom {
  return new SeededRandom(seed);
}
