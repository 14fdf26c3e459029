import type { Host } from "../balancer.js";
import type { EndpointTable } from "../upstream/table.js";

/**
 * Vose's alias table in exact integer arithmetic: bucket `b` belongs to host
 * `b` (its primary) for `share[b]` parts out of `total`, and to host
 * `alias[b]` for the rest. Choosing a bucket uniformly, then primary or alias
 * by share, gives each host exactly weight / Σweight of the picks.
 *
 * Weights are divided by their gcd first, then scaled by n so every share is
 * an integer: with weights up to 65535 and 100,000 hosts every number stays
 * below 2^53 (and with slow start's weights scaled by 1,000, see
 * `buildWeights`, below 2^53 too). Build is O(n) time and memory, whatever
 * the weights.
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

/**
 * Builds the table over hosts that all have weight > 0: by default their
 * `endpoint.weight`, or `weights[i]` for host i (whole numbers > 0, e.g.
 * from `buildWeights()`).
 */
export function buildAliasTable(
  hosts: readonly Host[],
  weights: ArrayLike<number> = endpointWeights(hosts),
): AliasTable {
  const n = hosts.length;
  let g = 0;
  for (let i = 0; i < n; i++) g = gcd(g, weights[i] as number);
  let total = 0;
  const scaled = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const w = (weights[i] as number) / g;
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

/**
 * True when every host has the same weight (the weighted balancers then fall
 * back to their plain versions): their `endpoint.weight`, or `weights[i]`
 * for host i when given.
 */
export function equalWeights(hosts: readonly Host[], weights: ArrayLike<number> = endpointWeights(hosts)): boolean {
  for (let i = 1; i < hosts.length; i++) if (weights[i] !== weights[0]) return false;
  return true;
}

/** A build-time weight scale for fractional effective weights: three digits of a ramped weight are kept. */
const FRACTION_SCALE = 1000;

/**
 * The weights a weighted balancer builds with: each host's
 * `table.effectiveWeight[slot]`, which is its `endpoint.weight` except
 * while slow start ramps it. Whole effective weights are used as they are
 * (so without slow start a build is exactly what it was); when one is
 * fractional, every weight is scaled by 1,000 and rounded, at least 1. A
 * slot whose effective weight is not > 0 (a table filled by hand) falls
 * back to the endpoint's weight.
 */
export function buildWeights(hosts: readonly Host[], table: EndpointTable): Float64Array {
  const n = hosts.length;
  const weights = new Float64Array(n);
  let whole = true;
  for (let i = 0; i < n; i++) {
    const h = hosts[i] as Host;
    const effective = table.effectiveWeight[h.slot] as number;
    const w = effective > 0 ? effective : h.endpoint.weight;
    weights[i] = w;
    whole &&= Number.isInteger(w);
  }
  if (!whole) for (let i = 0; i < n; i++) weights[i] = Math.max(1, Math.round((weights[i] as number) * FRACTION_SCALE));
  return weights;
}

function endpointWeights(hosts: readonly Host[]): Float64Array {
  const weights = new Float64Array(hosts.length);
  for (let i = 0; i < hosts.length; i++) weights[i] = (hosts[i] as Host).endpoint.weight;
  return weights;
}

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}
