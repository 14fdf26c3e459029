import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildAliasTable, equalWeights } from "../../src/balancers/alias-table.js";
import type { Endpoint } from "../../src/index.js";
import { endpoint } from "../../src/index.js";
import { fixture, gcd, hostsOf } from "../helpers/picks.js";

/** The parts of all buckets each host receives: its own bucket's share plus the rest of every bucket it is alias of. */
function parts(table: ReturnType<typeof buildAliasTable>): number[] {
  const out = new Array<number>(table.n).fill(0);
  for (let b = 0; b < table.n; b++) {
    const share = table.share[b] as number;
    out[b] = (out[b] as number) + share;
    const alias = table.alias[b] as number;
    out[alias] = (out[alias] as number) + (table.total - share);
  }
  return out;
}

describe("buildAliasTable()", () => {
  it("never expands weights: 65535 against 1 builds two buckets of capacity Σw/gcd", () => {
    const table = buildAliasTable(fixture([65535, 1]).hosts);
    expect(table.n).toBe(2);
    expect(table.total).toBe(65536);
    expect(table.share.length).toBe(2);
    expect(table.alias.length).toBe(2);
    // Host 0 takes 2 × 65535 of the 2 × 65536 parts: all of bucket 0 and 65534 parts of bucket 1.
    expect(parts(table)).toEqual([2 * 65535, 2]);
  });

  it("divides by the gcd first: 50 / 30 / 20 is 5 / 3 / 2", () => {
    const table = buildAliasTable(fixture([50, 30, 20]).hosts);
    expect(table.total).toBe(10);
    expect(parts(table)).toEqual([15, 9, 6]);
  });

  it("builds over 100,000 hosts with weights up to 65535 in tables of n entries", () => {
    const endpoints: Endpoint[] = Array.from({ length: 100_000 }, (_, i) =>
      endpoint({ host: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, port: 80, weight: 1 + ((i * 7919) % 65535) }),
    );
    const table = buildAliasTable(hostsOf(endpoints).hosts);
    expect([table.n, table.share.length, table.alias.length]).toEqual([100_000, 100_000, 100_000]);
    const total = endpoints.reduce((a, e) => a + e.weight, 0);
    expect(table.total).toBe(total / endpoints.map((e) => e.weight).reduce(gcd));
    const got = parts(table);
    const g = endpoints.map((e) => e.weight).reduce(gcd);
    expect(got.every((p, i) => p === ((endpoints[i] as Endpoint).weight / g) * 100_000)).toBe(true);
  });

  it("property: every host gets exactly n × weight/gcd parts; shares in 0..total, aliases in 0..n-1", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 65535 }), { minLength: 1, maxLength: 60 }), (weights) => {
        const table = buildAliasTable(fixture(weights).hosts);
        const n = weights.length;
        const g = weights.reduce(gcd);
        if (table.n !== n || table.share.length !== n || table.alias.length !== n) return false;
        if (table.total !== weights.reduce((a, b) => a + b, 0) / g) return false;
        for (let b = 0; b < n; b++) {
          const share = table.share[b] as number;
          const alias = table.alias[b] as number;
          if (!(Number.isInteger(share) && share >= 0 && share <= table.total)) return false;
          if (!(alias >= 0 && alias < n)) return false;
        }
        return parts(table).every((p, i) => p === ((weights[i] as number) / g) * n);
      }),
      { numRuns: 300, seed: 1105 },
    );
  });
});

describe("equalWeights()", () => {
  it("is true only when every host has the same weight", () => {
    expect(equalWeights(fixture([7, 7, 7]).hosts)).toBe(true);
    expect(equalWeights(fixture([7]).hosts)).toBe(true);
    expect(equalWeights(fixture([7, 7, 8]).hosts)).toBe(false);
    expect(equalWeights(fixture([1, 65535]).hosts)).toBe(false);
  });
});
