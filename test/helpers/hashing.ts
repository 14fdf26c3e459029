import fc from "fast-check";
import type { BalancerContext, Host, Picker } from "../../src/index.js";
import { hashKey } from "../../src/index.js";

/** The hashes of `count` keys "key-0", "key-1", … (what a caller passes as `PickContext.hash`). */
export function keyHashes(count: number): number[] {
  return Array.from({ length: count }, (_, i) => hashKey(`key-${i}`));
}

/** The endpoint id each hash routes to (`"-"` when the picker returns nothing). */
export function routes(picker: Picker, hashes: readonly number[]): string[] {
  return hashes.map((hash) => picker.pick({ hash })?.endpoint.id ?? "-");
}

/** How many positions of two route lists differ. */
export function moved(before: readonly string[], after: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < before.length; i++) if (before[i] !== after[i]) n++;
  return n;
}

/** The context an upstream gives a picker built over `hosts` of a level of `levelHosts`. */
export function levelContext(context: BalancerContext, levelHosts: readonly Host[]): BalancerContext {
  return { ...context, levelHosts };
}

/** `hosts` in a random order (a Fisher–Yates shuffle driven by fast-check's `seed`). */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed | 0;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) | 0;
    const j = (s >>> 8) % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** `min` … `max` weights of 1 … `maxWeight`, with the index of one endpoint (the one that leaves, say). */
export function weightsAndOne(min: number, max: number, maxWeight: number) {
  return fc
    .array(fc.integer({ min: 1, max: maxWeight }), { minLength: min, maxLength: max, size: "max" })
    .chain((weights) => fc.tuple(fc.constant(weights), fc.integer({ min: 0, max: weights.length - 1 })));
}

/** Endpoint ids by slot, as the ring orders points at one position. */
export function idsBySlot(hosts: readonly Host[]): (string | undefined)[] {
  const ids: (string | undefined)[] = [];
  for (const h of hosts) ids[h.slot] = h.endpoint.id;
  return ids;
}
