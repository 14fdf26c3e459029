import type { Endpoint, Picker } from "../../src/index.js";
import { endpoint } from "../../src/index.js";
import { ManualClock, seededRandom } from "../../src/testing/index.js";

/** Endpoints 10.0.0.1:80, 10.0.0.2:80, ... with the given weights. */
export function weightedEndpoints(weights: readonly number[], priority = 0): Endpoint[] {
  return weights.map((weight, i) => endpoint({ host: `10.0.${priority}.${i + 1}`, port: 80, weight, priority }));
}

/** A balancer context with a seeded random and a manual clock. */
export function context(seed = 1) {
  return { random: seededRandom(seed), clock: new ManualClock() };
}

/** `count` picks, as indexes into `endpoints` (-1 for an endpoint not in the list). */
export function pickIndexes(picker: Picker, endpoints: readonly Endpoint[], count: number): number[] {
  const index = new Map(endpoints.map((e, i) => [e.id, i]));
  const out: number[] = [];
  for (let k = 0; k < count; k++) {
    const e = picker.pick();
    out.push(e === undefined ? -2 : (index.get(e.id) ?? -1));
  }
  return out;
}

/** How many of `picks` picks went to each key (default: the endpoint id). */
export function pickCounts(
  picker: { pick(): Endpoint },
  picks: number,
  key: (e: Endpoint) => string | number = (e) => e.id,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < picks; i++) {
    const k = key(picker.pick());
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/**
 * How many times each index appears in `picks`, for indexes 0..n-1. Throws on
 * any other index: a pick outside the list (-1) or no pick at all (-2).
 */
export function tally(picks: readonly number[], n: number): number[] {
  const counts = new Array<number>(n).fill(0);
  for (const [k, p] of picks.entries()) {
    if (!(p >= 0 && p < n)) throw new Error(`pick ${k} is ${p === -2 ? "undefined" : `outside the ${n} endpoints`}`);
    counts[p] = (counts[p] as number) + 1;
  }
  return counts;
}

/** Greatest common divisor. */
export function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
