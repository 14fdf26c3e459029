import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { murmur3 } from "../../src/balancers/hash-key.js";
import { hashKey, InvalidArgumentError } from "../../src/index.js";

/** MurmurHash3 x86_32 over bytes, written from the reference algorithm (smhasher's MurmurHash3.cpp). */
function murmurBytes(bytes: Uint8Array, seed: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  const rotl = (x: number, r: number) => (x << r) | (x >>> (32 - r));
  let h = seed | 0;
  const blocks = bytes.length >> 2;
  for (let b = 0; b < blocks; b++) {
    let k = view.getUint32(4 * b, true);
    k = Math.imul(rotl(Math.imul(k, c1), 15), c2);
    h = (Math.imul(rotl(h ^ k, 13), 5) + 0xe6546b64) | 0;
  }
  const tail = 4 * blocks;
  let k = 0;
  const rest = bytes.length & 3;
  if (rest === 3) k ^= (bytes[tail + 2] as number) << 16;
  if (rest >= 2) k ^= (bytes[tail + 1] as number) << 8;
  if (rest >= 1) {
    k ^= bytes[tail] as number;
    h ^= Math.imul(rotl(Math.imul(k, c1), 15), c2);
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const ascii = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));
const utf16 = (s: string) => new Uint8Array(Buffer.from(s, "utf16le"));

describe("hashKey()", () => {
  it("the reference MurmurHash3 x86_32 gives the published test vectors", () => {
    expect(murmurBytes(ascii(""), 0)).toBe(0);
    expect(murmurBytes(ascii(""), 1)).toBe(0x514e28b7);
    expect(murmurBytes(ascii(""), 0xffffffff)).toBe(0x81f16f39);
    expect(murmurBytes(new Uint8Array(4), 0)).toBe(0x2362f9de);
    expect(murmurBytes(ascii("aaaa"), 0x9747b28c)).toBe(0x5a97808a);
    expect(murmurBytes(ascii("abc"), 0)).toBe(0xb3dd93fa);
    expect(murmurBytes(ascii("Hello, world!"), 1234)).toBe(0xfaf6cdb3);
    expect(murmurBytes(ascii("The quick brown fox jumps over the lazy dog"), 0x9747b28c)).toBe(0x2fa826cd);
  });

  it("is MurmurHash3 x86_32, seed 0, of the key's UTF-16LE bytes, unsigned", () => {
    expect(hashKey("")).toBe(0);
    // Exact values: part of the stability promise (a key hashes alike in every version).
    expect(hashKey("a")).toBe(1867108634);
    expect(hashKey("user-42")).toBe(murmurBytes(utf16("user-42"), 0));
    expect([hashKey("user-42"), hashKey("user-43"), hashKey("é"), hashKey("😀")]).toMatchInlineSnapshot(`
      [
        2703341929,
        1571551366,
        1105794559,
        1443257913,
      ]
    `);
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), fc.integer({ min: 0, max: 0xffffffff }), (s, seed) => {
        expect(murmur3(s, seed) >>> 0).toBe(murmurBytes(utf16(s), seed));
        expect(hashKey(s)).toBe(murmurBytes(utf16(s), 0));
      }),
      { numRuns: 1000, seed: 901 },
    );
  });

  it("hashes lone surrogates as they are (no UTF-8 replacement), so distinct strings stay distinct", () => {
    expect(hashKey("\ud800")).not.toBe(hashKey("\ufffd"));
    expect(hashKey("\ud800")).toBe(murmurBytes(new Uint8Array([0x00, 0xd8]), 0));
  });

  it("spreads sequential keys evenly over the 32-bit range", () => {
    const buckets = new Array<number>(16).fill(0);
    for (let i = 0; i < 160_000; i++) {
      const b = hashKey(`user-${i}`) >>> 28;
      buckets[b] = (buckets[b] as number) + 1;
    }
    // 10,000 expected per bucket, standard deviation ~97.
    for (const count of buckets) expect(Math.abs(count - 10_000)).toBeLessThan(500);
  });

  it("throws InvalidArgumentError for a key that is not a string", () => {
    for (const key of [undefined, null, 42, {}, ["a"]]) {
      expect(() => hashKey(key as never)).toThrow(InvalidArgumentError);
    }
    expect(() => hashKey(42 as never)).toThrow("key: must be a string, got 42");
  });
});
