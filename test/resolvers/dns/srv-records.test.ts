import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError, InvalidConfigError } from "../../../src/index.js";
import { normalizeEndpoints } from "../../../src/resolver.js";
import type { SrvRecord } from "../../../src/resolvers/dns/srv-records.js";
import { srvEndpoints, srvTargets } from "../../../src/resolvers/dns/srv-records.js";

function catchError(body: () => unknown): unknown {
  try {
    body();
  } catch (error) {
    return error;
  }
  return undefined;
}

const srv = (name: string, priority: number, weight: number, port = 80): SrvRecord => ({
  name,
  priority,
  weight,
  port,
});

describe("srvTargets() / srvEndpoints()", () => {
  it("keeps weights as they are: no expansion, no gcd, nothing dropped for being small", () => {
    const { targets } = srvTargets([srv("a", 0, 25), srv("b", 0, 10_000), srv("c", 0, 1_000)]);
    expect(targets.map((t) => t.weight)).toEqual([25, 10_000, 1_000]); // KrakenD: [0, 10, 1]
  });

  it("weight 0 beside weight > 0 in the same priority gets zeroWeight (default 1); an all-zero level gets 1 each", () => {
    const records = [srv("a", 0, 0), srv("b", 0, 99), srv("c", 1, 0), srv("d", 1, 0), srv("e", 2, 0), srv("f", 2, 3)];
    expect(srvTargets(records).targets.map((t) => `${t.target}:${t.weight}`)).toEqual([
      "a:1",
      "b:99",
      "c:1",
      "d:1",
      "e:1",
      "f:3",
    ]);
    expect(srvTargets(records, { zeroWeight: 0 }).targets.map((t) => t.weight)).toEqual([0, 99, 1, 1, 0, 3]);
    expect(srvTargets(records, { zeroWeight: 5 }).targets.map((t) => t.weight)).toEqual([5, 99, 1, 1, 5, 3]);
  });

  it('target "." yields nothing; port 0, out-of-range fields and bad targets are dropped and listed', () => {
    const { endpoints, dropped } = srvEndpoints([
      srv(".", 0, 1),
      srv("", 0, 1),
      srv("ok.test.", 0, 1, 8080),
      srv("zero.test", 0, 1, 0),
      srv("heavy.test", 0, 70_000),
      srv("neg.test", -1, 1),
      srv("bad name.test", 0, 1),
      { name: "nan.test", priority: 0, weight: Number.NaN, port: 80 },
    ]);
    expect(endpoints.map((e) => e.id)).toEqual(["ok.test:8080"]);
    expect(dropped).toEqual([
      { record: "SRV -1 1 80 neg.test", reason: "priority -1 outside 0..65535" },
      { record: "SRV 0 1 0 zero.test", reason: "port 0" },
      { record: "SRV 0 1 80 bad name.test", reason: 'invalid hostname "bad name.test"' },
      { record: "SRV 0 70000 80 heavy.test", reason: "weight 70000 outside 0..65535" },
      { record: "SRV 0 NaN 80 nan.test", reason: "weight NaN outside 0..65535" },
    ]);
  });

  it("records that are not objects, or whose target is not a string, are dropped and listed, never thrown on or skipped", () => {
    const throwing = Object.defineProperty({}, "name", {
      get() {
        throw new Error("getter");
      },
    });
    const records = [
      null,
      undefined,
      7,
      "a.test",
      [1, 2],
      throwing,
      { name: 5, port: 80, priority: 0, weight: 1 },
      { name: null, port: 80, priority: 0, weight: 1 },
      { name: "ok.test", port: "80", priority: 0, weight: 1 },
      { name: "ok.test", port: 80, priority: 1n, weight: 1 },
      { name: "ok.test", port: 80, priority: 0, weight: { valueOf: () => 1 } },
      Object.assign(Object.create(null), { name: "bare.test", port: 81, priority: 0, weight: 2 }),
      srv("kept.test", 0, 1),
    ] as unknown as SrvRecord[];
    const { targets, dropped } = srvTargets(records);
    expect(targets).toEqual([
      { target: "bare.test", port: 81, priority: 0, weight: 2 },
      { target: "kept.test", port: 80, priority: 0, weight: 1 },
    ]);
    const NOT_A_RECORD = "not an SRV record (an object with name, port, priority and weight)";
    expect(dropped).toEqual([
      { record: '"a.test"', reason: NOT_A_RECORD },
      { record: "7", reason: NOT_A_RECORD },
      { record: 'SRV 0 1 "80" ok.test', reason: 'port "80"' },
      { record: "SRV 0 1 80 5", reason: "target 5 is not a string" },
      { record: "SRV 0 1 80 null", reason: "target null is not a string" },
      { record: "SRV 0 an object 80 ok.test", reason: "weight an object outside 0..65535" },
      { record: "SRV 1n 1 80 ok.test", reason: "priority 1n outside 0..65535" },
      { record: "SRV undefined undefined undefined undefined", reason: "target undefined is not a string" },
      { record: "an object", reason: NOT_A_RECORD },
      { record: "null", reason: NOT_A_RECORD },
      { record: "undefined", reason: NOT_A_RECORD },
    ]);
    // Every record is a target, a "." or listed: nothing vanishes.
    expect(targets.length + dropped.length).toBe(records.length);
    const sparse: SrvRecord[] = new Array(2);
    sparse[1] = srv("a.test", 0, 1);
    expect(srvTargets(sparse).dropped).toEqual([{ record: "undefined", reason: NOT_A_RECORD }]);
  });

  it("a records argument that is not an array is an InvalidArgumentError; invalid options an InvalidConfigError", () => {
    for (const records of [null, undefined, 5, "SRV", { length: 1, 0: srv("a.test", 0, 1) }, new Set()]) {
      const error = catchError(() => srvTargets(records as never));
      expect(error, String(records)).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).argument).toBe("records");
      expect(catchError(() => srvEndpoints(records as never))).toBeInstanceOf(InvalidArgumentError);
    }
    const rows: [unknown, string][] = [
      [{ zeroWeight: -7 }, "zeroWeight"],
      [{ zeroWeight: 1.5 }, "zeroWeight"],
      [{ zeroWeight: 65_536 }, "zeroWeight"],
      [{ zeroWeight: "1" }, "zeroWeight"],
      [{ scheme: "ht tp" }, "scheme"],
      [{ scheme: 5 }, "scheme"],
      [null, "options"],
      [5, "options"],
    ];
    for (const [options, option] of rows) {
      for (const map of [srvTargets, srvEndpoints]) {
        const error = catchError(() => map([srv("a.test", 0, 0), srv("b.test", 0, 5)], options as never));
        expect(error, JSON.stringify(options)).toBeInstanceOf(InvalidConfigError);
        expect((error as InvalidConfigError).option).toBe(option);
      }
    }
    expect(srvTargets([srv("a.test", 0, 0), srv("b.test", 0, 5)], { zeroWeight: 65_535 }).targets[0]?.weight).toBe(
      65_535,
    );
  });

  it("applies the scheme (KrakenD sd_scheme)", () => {
    expect(srvEndpoints([srv("a.test", 0, 1)], { scheme: "https" }).endpoints[0]?.scheme).toBe("https");
  });

  it("property: the normalized endpoint set does not depend on record order", () => {
    const record = fc.record({
      name: fc.constantFrom("a.test", "b.test", "c.test", "d.test", "."),
      priority: fc.integer({ min: 0, max: 3 }),
      weight: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 65_535 })),
      port: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5 })),
    });
    fc.assert(
      fc.property(
        fc
          .array(record, { maxLength: 30 })
          .chain((records) =>
            fc.tuple(fc.constant(records), fc.shuffledSubarray(records, { minLength: records.length })),
          ),
        ([records, shuffled]) => {
          const a = srvEndpoints(records);
          const b = srvEndpoints(shuffled);
          expect(normalizeEndpoints(b.endpoints)).toEqual(normalizeEndpoints(a.endpoints));
          expect(b.dropped).toEqual(a.dropped);
        },
      ),
      { seed: 2782, numRuns: 300 },
    );
  });
});
