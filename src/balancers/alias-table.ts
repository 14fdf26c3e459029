import type { Endpoint } from "../endpoint.js";

/**
 * Vose's alias table in exact integer arithmetic: bucket `b` belongs to
 * endpoint `b` (its primary) for `share[b]` parts out of `total`, and to
 * `alias[b]` for the rest. Choosing a bucket uniformly, then primary or alias
 * by share, gives each endpoint exactly weight / Σweight of the picks.
 *
 * Weights are divided by their gcd first, then scaled by n so every share is
 * an integer: with weights up to 65535 and 100,000 endpoints every number
 * stays below 2^53. Build is O(n) time and memory, whatever the weights.
 */
export interface AliasTable {
  /** Number of buckets = number of endpoints. */
  readonly n: number;
  /** Bucket capacity: Σweight / gcd. */
  readonly total: number;
  /** Parts of bucket b that go to endpoint b, in 0..total. */
  readonly share: Float64Array;
  /** The endpoint that takes the rest of bucket b. */
  readonly alias: readonly Endpoint[];
}

/** Builds the table over endpoints that all have weight > 0. */
export function buildAliasTable(endpoints: readonly Endpoint[]): AliasTable {
  const n = endpoints.length;
  let g = 0;
  for (const e of endpoints) g = gcd(g, e.weight);
  let total = 0;
  const scaled = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const w = (endpoints[i] as Endpoint).weight / g;
    total += w;
    scaled[i] = w * n;
  }
  const share = new Float64Array(n);
  const alias: Endpoint[] = endpoints.slice();
  // Two stacks in one array: small from the front, large from the back.
  const stack = new Int32Array(n);
  let small = 0;
  let large = n;
  for (let i = 0; i < n; i++) {
    if ((scaled[i] as number) < total) stack[small++] = i;
    else stack[--large] = i;
  }
  while (small > 0 && large < n) {
    const s = stack[--small] as number;
    const l = stack[large] as number;
    share[s] = scaled[s] as number;
    alias[s] = endpoints[l] as Endpoint;
    const rest = (scaled[l] as number) - (total - (scaled[s] as number));
    scaled[l] = rest;
    if (rest < total) {
      large++;
      stack[small++] = l;
    }
  }
  // Whatever is left fills its own bucket exactly (integer arithmetic: no
  // rounding residue, unlike float Vose).
  for (let k = 0; k < small; k++) share[stack[k] as number] = total;
  for (let k = large; k < n; k++) share[stack[k] as number] = total;
  return { n, total, share, alias };
}

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}
