import { describe, expect, it } from "vitest";
import { createUpstream, leastRequest, p2cPeakEwma } from "../../src/index.js";
import { ManualClock, ManualResolver } from "../../src/testing/index.js";
import { EndpointTable } from "../../src/upstream/table.js";
import { lever } from "../helpers/lever.js";

describe("EndpointTable.loadCost: loadKey + ln(inFlight + 1), kept as counts and keys move", () => {
  it("stays NaN while no key is set, then follows every count of every keyed slot", () => {
    const table = new EndpointTable();
    const a = table.allocate(100, 0);
    const b = table.allocate(100, 0);
    table.addInFlight(a, 1);
    table.addInFlight(a, 1);
    expect([table.inFlight[a], table.loadCost[a]]).toEqual([2, Number.NaN]);
    // A metric sets a's key: its cost counts the two in flight.
    table.loadKey[a] = 1.5;
    table.refreshLoadCost(a);
    expect(table.loadCost[a]).toBe(1.5 + Math.log(3));
    table.addInFlight(a, -1);
    expect(table.loadCost[a]).toBe(1.5 + Math.log(2));
    // b has no key: its cost stays NaN whatever its count.
    table.addInFlight(b, 1);
    expect(table.loadCost[b]).toBeNaN();
    // Past the ln table (1,024 in flight), Math.log.
    for (let k = 0; k < 2000; k++) table.addInFlight(a, 1);
    expect(table.loadCost[a]).toBe(1.5 + Math.log(2002));
    // A reused slot starts again with no key and no cost.
    table.release(a);
    expect(table.allocate(100, 0)).toBe(a);
    expect([table.inFlight[a], table.loadKey[a], table.loadCost[a]]).toEqual([0, Number.NaN, Number.NaN]);
  });

  it("through an upstream: begin() and end() keep Peak EWMA's cost; other balancers leave it NaN", async () => {
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
      expect(t.loadCost[slot]).toBe(keyed ? key + Math.log(4) : Number.NaN);
      upstream.end(tokens[0] as number, { status: 200, latencyMs: 10 });
      expect(t.loadCost[slot]).toBe(keyed ? (t.loadKey[slot] as number) + Math.log(3) : Number.NaN);
      await upstream.close();
    }
  });
});
