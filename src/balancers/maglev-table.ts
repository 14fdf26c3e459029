import type { Host } from "../balancer.js";
import { murmur3 } from "./hash-key.js";

/**
 * The lookup table of `maglev()`: Maglev's population (Eisenbud et al.,
 * NSDI 2016, pseudocode listing 1) with Envoy's weights.
 * @module
 */

/** Whether n is a prime (trial division: n is at most a few million). */
export function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/**
 * Fills a table of `size` entries (a prime) with host indexes into `hosts`.
 *
 * Each endpoint has a permutation of the entries, from two hashes of its id
 * (MurmurHash3 seeds 3 and 4): offset = h3 mod size, skip = h4 mod (size − 1)
 * + 1, the j-th preference (offset + j × skip) mod size. Endpoints take
 * turns, in the order of their ids (so the table does not depend on the
 * order of `hosts`); at its turn an endpoint takes its next preferred entry
 * that is still free, until every entry is taken.
 *
 * Weights as Envoy's weighted Maglev: in iteration t = 1, 2, …, an endpoint
 * of weight w takes a turn when t × w ≥ k × max, k being the turns it had
 * so far and max the heaviest weight. So the heaviest endpoints take a turn
 * every iteration, one of half their weight every other, and entries follow
 * the weights. Envoy compares normalized weights in floating point; this
 * compares the integers, exactly. Equal weights: every endpoint every
 * iteration (the paper's unweighted table).
 *
 * Cost: O(size × log size) probes for the permutations (each entry found
 * free after a few tries on average) plus, with unequal weights, a heap of
 * endpoints by their next turn: O(size × log n). Envoy's loop visits every
 * endpoint every iteration, O(size × max / mean weight).
 */
export function buildMaglevTable(hosts: readonly Host[], size: number): Int32Array {
  const n = hosts.length;
  const order = Array.from({ length: n }, (_, j) => j);
  const idOf = (j: number) => (hosts[j] as Host).endpoint.id;
  order.sort((x, y) => (idOf(x) < idOf(y) ? -1 : idOf(x) > idOf(y) ? 1 : x - y));
  // Per turn-taker k (the k-th id): its next preferred entry, its skip, its weight.
  const next = new Int32Array(n);
  const skip = new Int32Array(n);
  const weight = new Float64Array(n);
  let most = 0;
  let equal = true;
  for (let k = 0; k < n; k++) {
    const host = hosts[order[k] as number] as Host;
    const id = host.endpoint.id;
    next[k] = (murmur3(id, 3) >>> 0) % size;
    skip[k] = ((murmur3(id, 4) >>> 0) % (size - 1)) + 1;
    const w = Math.max(host.endpoint.weight, 1);
    weight[k] = w;
    if (k > 0 && w !== most) equal = false;
    if (w > most) most = w;
  }
  const table = new Int32Array(size).fill(-1);
  let filled = 0;
  /** Turn-taker k takes its next free preferred entry. */
  const take = (k: number): void => {
    const step = skip[k] as number;
    let c = next[k] as number;
    while (table[c] !== -1) {
      c += step;
      if (c >= size) c -= size;
    }
    table[c] = order[k] as number;
    c += step;
    next[k] = c >= size ? c - size : c;
    filled++;
  };
  if (equal) {
    while (filled < size) for (let k = 0; k < n && filled < size; k++) take(k);
    return table;
  }
  // A binary heap of turn-takers by (iteration of their next turn, k). All
  // start at iteration 1, so 0, 1, …, n − 1 is already a heap.
  const turn = new Float64Array(n).fill(1);
  const turns = new Float64Array(n);
  const heap = Int32Array.from(order.keys());
  const before = (a: number, b: number) => (turn[a] as number) < (turn[b] as number) || (turn[a] === turn[b] && a < b);
  while (filled < size) {
    const k = heap[0] as number;
    take(k);
    const t = (turns[k] as number) + 1;
    turns[k] = t;
    // The first iteration after this one in which t × max ≤ iteration × w.
    turn[k] = Math.max((turn[k] as number) + 1, Math.ceil((t * most) / (weight[k] as number)));
    // Sift the root down.
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      let child = left;
      const right = left + 1;
      if (right < n && before(heap[right] as number, heap[left] as number)) child = right;
      if (!before(heap[child] as number, k)) break;
      heap[i] = heap[child] as number;
      i = child;
    }
    heap[i] = k;
  }
  return table;
}
