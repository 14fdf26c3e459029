import fc from "fast-check";
import type { BalancerContext, Endpoint, Host, Picker } from "../../src/index.js";
import { endpoint } from "../../src/index.js";
import { ManualClock, seededRandom } from "../../src/testing/index.js";
import { EndpointTable } from "../../src/upstream/table.js";

/**
 * Endpoints 10.0.P.1:80, 10.0.P.2:80, ... (P the priority) with the given
 * weights; past 255 endpoints the second octet counts on (10.1.P.0, ...), up
 * to 65,535 endpoints.
 */
export function weightedEndpoints(weights: readonly number[], priority = 0): Endpoint[] {
  return weights.map((weight, i) =>
    endpoint({ host: `10.${(i + 1) >> 8}.${priority}.${(i + 1) & 255}`, port: 80, weight, priority }),
  );
}

/** Hosts over `endpoints`, each in a slot of a fresh `EndpointTable`. */
export function hostsOf(
  endpoints: readonly Endpoint[],
  table = new EndpointTable(),
): { table: EndpointTable; hosts: Host[] } {
  return { table, hosts: endpoints.map((e) => ({ endpoint: e, slot: table.allocate(e.weight, 0) })) };
}

/**
 * A balancer context with a seeded random, a manual clock and `table` (a
 * fresh one by default). Its `downHosts` count is 1 and stays 1: the tests
 * mark hosts down in the table directly, with no upstream to count them, so
 * pickers always test `table.down` (a count above the truth is allowed).
 */
export function context(seed = 1, table = new EndpointTable(), skipEjected = true): BalancerContext {
  return { random: seededRandom(seed), clock: new ManualClock(), table, skipEjected, downHosts: Int32Array.of(1) };
}

/**
 * What a balancer test needs: endpoints with `weights`, hosts in a table, and
 * a seeded context over that table. Balancers only ever see hosts with
 * weight > 0 (the upstream leaves the others out): `hosts` keeps only those,
 * `endpoints` all of them, so indexes in `pickIndexes` refer to `endpoints`.
 */
export function fixture(weights: readonly number[], seed = 1, priority = 0) {
  const endpoints = weightedEndpoints(weights, priority);
  const { table, hosts } = hostsOf(endpoints);
  return {
    endpoints,
    table,
    hosts: hosts.filter((h) => h.endpoint.weight > 0),
    context: context(seed, table),
  };
}

/**
 * Marks the hosts at `indexes` (into `hosts`) down in `table`, or up again
 * with `down` false, as an ejection would: a picker built over the table sees
 * it at its next pick, with no rebuild.
 */
export function setDown(table: EndpointTable, hosts: readonly Host[], indexes: readonly number[], down = true): void {
  for (const i of indexes) markDown(table, (hosts[i] as Host).slot, down);
}

/**
 * Marks a slot down or up the way the upstream does (an operator override,
 * then `refreshDown`), so `table.down` and `table.downCount` agree.
 */
export function markDown(table: EndpointTable, slot: number, down: boolean): void {
  table.override[slot] = down ? -1 : 0;
  table.refreshDown(slot);
}

/** `count` picks, as indexes into `endpoints` (-1 for an endpoint not in the list, -2 for no pick). */
export function pickIndexes(picker: Picker, endpoints: readonly Endpoint[], count: number): number[] {
  const index = new Map(endpoints.map((e, i) => [e.id, i]));
  const out: number[] = [];
  for (let k = 0; k < count; k++) {
    const h = picker.pick();
    out.push(h === undefined ? -2 : (index.get(h.endpoint.id) ?? -1));
  }
  return out;
}

/**
 * Picks until `count` picks returned a host (a skipping picker returns
 * `undefined` when it gives up), as indexes into `endpoints`; throws after
 * `limit` picks in all.
 */
export function definedPicks(
  picker: Picker,
  endpoints: readonly Endpoint[],
  count: number,
  limit = 100 * count + 100,
): number[] {
  const out: number[] = [];
  for (let k = 0; out.length < count; k++) {
    if (k >= limit) throw new Error(`only ${out.length} of ${count} picks returned a host in ${limit} tries`);
    const [p] = pickIndexes(picker, endpoints, 1) as [number];
    if (p !== -2) out.push(p);
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

/**
 * Weights (`minLength`..`maxLength` of them, 1..`maxWeight`) and a set of
 * their indexes to mark down: at least one down and one up.
 */
export function weightsWithDown(maxWeight: number, minLength: number, maxLength: number) {
  return fc.array(fc.integer({ min: 1, max: maxWeight }), { minLength, maxLength }).chain((weights) =>
    fc.tuple(
      fc.constant(weights),
      fc.uniqueArray(fc.integer({ min: 0, max: weights.length - 1 }), {
        minLength: 1,
        maxLength: weights.length - 1,
      }),
    ),
  );
}

/**
 * Sets a slot's requests in flight as `begin()` and `end()` move them
 * (`EndpointTable.addInFlight`), so `loadRank` follows, as a pick over Peak
 * EWMA reads it.
 */
export function setInFlight(table: EndpointTable, slot: number, n: number): void {
  table.addInFlight(slot, n - (table.inFlight[slot] as number));
}
