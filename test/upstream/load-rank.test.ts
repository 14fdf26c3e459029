import { describe, expect, it } from "vitest";
import { createUpstream, leastRequest, p2cPeakEwma } from "../../src/index.js";
import { ManualClock, ManualResolver } from "../../src/testing/index.js";
import { EndpointTable, NO_RANK } from "../../src/upstream/table.js";
import { lever } from "../helpers/lever.js";

/** What `loadRank` holds for a key, a base and `n` in flight: (key − base + ln(n + 1)) × 2^20, rounded. */
const rank = (key: number, base: number, n: number) => Math.round((key - base + Math.log(n + 1)) * 2 ** 20);

describe("EndpointTable.loadRank: Peak EWMA's cost in fixed point, kept as counts and keys move", () => {
  it("stays NO_RANK while no key is set, then follows every count of every keyed slot", () => {
    const table = new EndpointTable();
    const a = table.allocate(100, 0);
    const b = table.allocate(100, 0);
    table.addInFlight(a, 1);
    table.addInFlight(a, 1);
    expect([table.inFlight[a], table.loadRank[a]]).toEqual([2, NO_RANK]);
    // A metric sets a's key: the first key is the base, and its rank counts the two in flight.
    table.loadKey[a] = 1.5;
    table.refreshLoadRank(a);
    expect(table.loadRank[a]).toBe(rank(1.5, 1.5, 2));
    table.addInFlight(a, -1);
    expect(table.loadRank[a]).toBe(rank(1.5, 1.5, 1));
    // b has no key: its rank stays NO_RANK whatever its count.
    table.addInFlight(b, 1);
    expect(table.loadRank[b]).toBe(NO_RANK);
    table.loadKey[b] = 1.2;
    table.refreshLoadRank(b);
    expect(table.loadRank[b]).toBe(rank(1.2, 1.5, 1));
    expect(table.loadRank[b] as number).toBeLessThan(table.loadRank[a] as number); // 1.2 + ln 2 < 1.5 + ln 2
    // Past the ln table (1,024 in flight), Math.log.
    for (let k = 0; k < 2000; k++) table.addInFlight(a, 1);
    expect(table.loadRank[a]).toBe(rank(1.5, 1.5, 2001));
    // A reused slot starts again with no key and no rank.
    table.release(a);
    expect(table.allocate(100, 0)).toBe(a);
    expect([table.inFlight[a], table.loadKey[a], table.loadRank[a]]).toEqual([0, Number.NaN, NO_RANK]);
  });

  it("moves its base when a key passes it by 512, ranking every slot again; keys 1,024 below share the lowest rank", () => {
    const table = new EndpointTable();
    const [a, b, c] = [table.allocate(100, 0), table.allocate(100, 0), table.allocate(100, 0)];
    const set = (slot: number, key: number) => {
      table.loadKey[slot] = key;
      table.refreshLoadRank(slot);
    };
    set(a, 10); // the base: 10
    set(b, 500); // 490 past it: no move
    expect([table.loadRank[a], table.loadRank[b]]).toEqual([rank(10, 10, 0), rank(500, 10, 0)]);
    set(c, 600); // 590 past it: the base moves to 600 and a and b are ranked again
    expect([table.loadRank[a], table.loadRank[b], table.loadRank[c]]).toEqual([
      rank(10, 600, 0), // 590 below the base: −590 × 2^20, within ±(2^30 − 1)
      rank(500, 600, 0),
      rank(600, 600, 0),
    ]);
    set(c, 1_200); // 600 past the base: it moves to 1,200; a is 1,190 below, under the lowest rank
    expect([table.loadRank[a], table.loadRank[b], table.loadRank[c]]).toEqual([
      -(2 ** 30 - 1),
      rank(500, 1_200, 0),
      rank(1_200, 1_200, 0),
    ]);
    // The ranks keep the keys' order.
    expect((table.loadRank[a] as number) < (table.loadRank[b] as number)).toBe(true);
    expect((table.loadRank[b] as number) < (table.loadRank[c] as number)).toBe(true);
  });

  it("through an upstream: begin() and end() keep Peak EWMA's rank; other balancers leave NO_RANK", async () => {
    const clock = new ManualClock();
    for (const [balancer, keyed] of [
      [p2cPeakEwma(), true],
      [leastRequest(), false],
    ] as const) {
      const resolver = new ManualResolver();
      const l = lever();
      const upstream = createUpstream({ name: "api", resolver, clock, balancer, plugins: [l.plugin] });
      resolver.push(["a.test:80"]);
      const slot = l.host("a.test:80").slot;
      const first = upstream.begin();
      clock.advance(10);
      upstream.end(first, { status: 200 });
      const t = l.table();
      const tokens = [upstream.begin(), upstream.begin(), upstream.begin()];
      const key = t.loadKey[slot] as number;
      expect(Number.isNaN(key)).toBe(!keyed);
      // The only key is the base: the rank is ln(3 + 1) × 2^20.
      expect(t.loadRank[slot]).toBe(keyed ? rank(key, key, 3) : NO_RANK);
      upstream.end(tokens[0] as number, { status: 200, latencyMs: 10 });
      expect(t.loadRank[slot]).toBe(keyed ? rank(t.loadKey[slot] as number, key, 2) : NO_RANK);
      await upstream.close();
    }
  });
});
