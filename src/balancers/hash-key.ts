import { InvalidArgumentError, show } from "../errors.js";

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/**
 * MurmurHash3 (x86, 32-bit) of the string's UTF-16 code units read as
 * little-endian bytes (two code units per 4-byte block), as a signed 32-bit
 * integer: the same bits as murmur3_32 of `Buffer.from(key, "utf16le")` with
 * `seed`. No allocation: one `charCodeAt` per code unit. Lone surrogates are
 * hashed as they are (no UTF-8 conversion that would replace them).
 */
export function murmur3(key: string, seed: number): number {
  let h = seed | 0;
  const length = key.length;
  const even = length & ~1;
  let i = 0;
  for (; i < even; i += 2) {
    let k = key.charCodeAt(i) | (key.charCodeAt(i + 1) << 16);
    k = Math.imul(k, C1);
    k = Math.imul((k << 15) | (k >>> 17), C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (i < length) {
    let k = key.charCodeAt(i);
    k = Math.imul(k, C1);
    h ^= Math.imul((k << 15) | (k >>> 17), C2);
  }
  return fmix32(h ^ (length << 1));
}

/** MurmurHash3's finalizer: a bijection on 32 bits in which every input bit flips each output bit with probability ~1/2. */
export function fmix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * The 32-bit hash of a key that `ringHash()` and `maglev()` use for
 * `PickContext.hashKey`, as an unsigned integer (0 … 2^32 − 1). Compute it
 * once and pass it as `PickContext.hash` to spare the picker hashing the
 * string on every pick: `{ hash: hashKey(userId) }` routes exactly as
 * `{ hashKey: userId }`.
 *
 * The function is MurmurHash3 x86_32 with seed 0 over the string's UTF-16
 * code units as little-endian bytes: `murmur3_32(Buffer.from(key,
 * "utf16le"), 0)`, which other languages can reproduce. It is part of the
 * API's stability promise: a key hashes to the same value in every version
 * of switchyard, so clients of different versions route a key alike. Fast
 * (two code units per step) and allocation-free; not cryptographic: keys an
 * attacker chooses can be made to collide.
 *
 * @throws InvalidArgumentError when `key` is not a string.
 */
export function hashKey(key: string): number {
  if (typeof key !== "string") throw new InvalidArgumentError("key", `must be a string, got ${show(key)}`);
  return murmur3(key, 0) >>> 0;
}
