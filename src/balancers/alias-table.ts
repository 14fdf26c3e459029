import type { Host } from "../balancer.js";

/**
 * Vose's alias table in exact integer arithmetic: bucket `b` belongs to host
 * `b` (its primary) for `share[b]` parts out of `total`, and to host
 * `alias[b]` for the rest. Choosing a bucket uniformly, then primary or alias
 * by share, gives each host exactly weight / Σweight of the picks.
 *
 * Weights are divided by their gcd first, then scaled by n so every share is
 * an integer: with weights up to 65535 and 100,000 hosts every number stays
 * below 2^53. Build is O(n) time and memory, whatever the weights.
 */
export interface AliasTable {
  /** Number of buckets = number of hosts. */
  readonly n: number;
  /** Bucket capacity: Σweight / gcd. */
  readonly total: number;
  /** Parts of bucket b that go to host b, in 0..total. */
  readonly share: Float64Array;
  /** Index of the host that takes the rest of bucket b. */
  readonly alias: Int32Array;
}

/** Builds the table over hosts that all have weight > 0. */
export function buildAliasTable(hosts: readonly Host[]): AliasTable {
  const n = hosts.length;
  let g = 0;
  for (const h of hosts) g = gcd(g, h.endpoint.weight);
  let total = 0;
  const scaled = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const w = (hosts[i] as Host).endpoint.weight / g;
    total += w;
    scaled[i] = w * n;
  }
  const share = new Float64Array(n);
  const alias = new Int32Array(n);
  for (let i = 0; i < n; i++) alias[i] = i;
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
    alias[s] = l;
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

/** True when every host has the same weight (the weighted balancers then fall back to their plain versions). */
export function equalWeights(hosts: readonly Host[]): boolean {
  const w = hosts[0]?.endpoint.weight;
  for (const h of hosts) if (h.endpoint.weight !== w) return false;
  return true;
}

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}
