/**
 * resolveTargets: a target's share of its priority level is its SRV weight
 * however many addresses it has. Its weight is split across its addresses
 * (splitWeights), the whole level scaled by one factor when a weight is
 * smaller than its target's address count.
 */
import type { Resolver as NodeDnsResolver } from "node:dns/promises";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Endpoint } from "../../../src/index.js";
import { createUpstream, dnsSrvResolver } from "../../../src/index.js";
import { splitWeights } from "../../../src/resolvers/dns/srv-records.js";
import { ManualClock, seededRandom } from "../../../src/testing/index.js";
import type { TestDnsServer } from "../../helpers/dns-server.js";
import { startDnsServer } from "../../helpers/dns-server.js";
import { pickCounts } from "../../helpers/picks.js";

const NAME = "_api._tcp.w.test";

describe("splitWeights()", () => {
  it("splits a weight across addresses so they sum to it: the first `weight mod n` get one more", () => {
    expect(splitWeights([{ priority: 0, weight: 5, addresses: 3 }])).toEqual([[2, 2, 1]]);
    expect(splitWeights([{ priority: 0, weight: 100, addresses: 2 }])).toEqual([[50, 50]]);
    expect(splitWeights([{ priority: 0, weight: 7, addresses: 1 }])).toEqual([[7]]);
    expect(splitWeights([{ priority: 0, weight: 0, addresses: 2 }])).toEqual([[0, 0]]);
  });

  it("a weight below the address count scales the whole level by the smallest factor that gives every address 1", () => {
    // KrakenD's 10/1 (dual stack), 10/2, 20/1 (dual stack): level 10 ×2, level 20 ×2.
    expect(
      splitWeights([
        { priority: 10, weight: 1, addresses: 2 },
        { priority: 10, weight: 2, addresses: 1 },
        { priority: 20, weight: 1, addresses: 2 },
      ]),
    ).toEqual([[1, 1], [4], [1, 1]]);
    expect(
      splitWeights([
        { priority: 0, weight: 1, addresses: 3 },
        { priority: 0, weight: 2, addresses: 5 },
        { priority: 0, weight: 0, addresses: 2 },
      ]),
    ).toEqual([
      [1, 1, 1],
      [2, 1, 1, 1, 1],
      [0, 0],
    ]); // factor 3 (5 addresses over weight 2): 3 and 6
  });

  it("the factor stops at 65535: only then does an address of a weighted target get 0", () => {
    expect(
      splitWeights([
        { priority: 0, weight: 65_535, addresses: 1 },
        { priority: 0, weight: 1, addresses: 2 },
      ]),
    ).toEqual([[65_535], [1, 0]]);
    expect(
      splitWeights([
        { priority: 0, weight: 30_000, addresses: 1 },
        { priority: 0, weight: 1, addresses: 4 },
      ]),
    ).toEqual([[60_000], [1, 1, 0, 0]]); // factor 2 of the 4 needed
  });

  it("property: per level, each target's share equals its weight's share; every weight is an integer in 0..65535", () => {
    const target = fc.record({
      priority: fc.integer({ min: 0, max: 2 }),
      weight: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 65_535 })),
      addresses: fc.integer({ min: 1, max: 6 }),
    });
    fc.assert(
      fc.property(fc.array(target, { minLength: 1, maxLength: 12 }), (targets) => {
        const split = splitWeights(targets);
        expect(split.map((s) => s.length)).toEqual(targets.map((t) => t.addresses));
        for (const level of new Set(targets.map((t) => t.priority))) {
          const inLevel = targets
            .map((t, i) => ({ t, sum: sum(split[i] ?? []) }))
            .filter((x) => x.t.priority === level);
          const weightTotal = sum(inLevel.map((x) => x.t.weight));
          const splitTotal = sum(inLevel.map((x) => x.sum));
          const max = Math.max(...inLevel.map((x) => x.t.weight));
          const need = Math.max(
            1,
            ...inLevel.filter((x) => x.t.weight > 0).map((x) => Math.ceil(x.t.addresses / x.t.weight)),
          );
          const factor = Math.min(need, Math.floor(65_535 / Math.max(1, max)));
          for (const { t, sum: s } of inLevel) {
            expect(s * weightTotal).toBe(t.weight * splitTotal); // exact shares
            expect(s).toBe(t.weight * Math.max(1, factor));
          }
        }
        targets.forEach((t, i) => {
          for (const w of split[i] ?? []) {
            expect(Number.isInteger(w) && w >= 0 && w <= 65_535).toBe(true);
            // 0 only for weight 0, or when the factor could not reach what the target needed.
            if (w === 0) expect(t.weight === 0 || t.weight * factorOf(targets, t.priority) < t.addresses).toBe(true);
          }
          const ws = split[i] ?? [];
          expect(Math.max(...ws) - Math.min(...ws)).toBeLessThanOrEqual(1); // as even as integers allow
        });
      }),
      { seed: 65_535, numRuns: 1_000 },
    );
  });
});

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function factorOf(targets: readonly { priority: number; weight: number; addresses: number }[], priority: number) {
  const level = targets.filter((t) => t.priority === priority && t.weight > 0);
  if (level.length === 0) return 1;
  const need = Math.max(...level.map((t) => Math.ceil(t.addresses / t.weight)));
  return Math.max(1, Math.min(need, Math.floor(65_535 / Math.max(...level.map((t) => t.weight)))));
}

describe("dnsSrvResolver resolveTargets: a target's share is its SRV weight", () => {
  let server: TestDnsServer;
  let clock: ManualClock;

  beforeEach(async () => {
    server = await startDnsServer({});
    clock = new ManualClock();
  });

  afterEach(async () => {
    await server.close();
  });

  it("a dual-stack target and a single-stack one of equal weight take equal shares through an upstream", async () => {
    server.zone = {
      srv: {
        [NAME]: [
          { target: "dual.w.test", port: 80, priority: 0, weight: 1 },
          { target: "v4.w.test", port: 80, priority: 0, weight: 1 },
        ],
      },
      a: { "dual.w.test": ["10.0.0.1"], "v4.w.test": ["10.0.0.2"] },
      aaaa: { "dual.w.test": ["fd00::1"] },
    };
    const resolver = dnsSrvResolver(NAME, { servers: server.address, clock, resolveTargets: true, jitter: 0 });
    const upstream = createUpstream({ name: "api", resolver, clock, random: seededRandom(4) });
    await upstream.ready();
    expect(upstream.endpoints.map((e) => `${e.id} w${e.weight}`)).toEqual([
      "10.0.0.1:80 w1",
      "10.0.0.2:80 w2",
      "[fd00::1]:80 w1",
    ]);
    expect(pickCounts(upstream, 400, (e) => e.hostname ?? e.host)).toEqual({ "dual.w.test": 200, "v4.w.test": 200 });
    await upstream.close();
  });

  it("the split does not depend on answer order: shuffled answers change nothing", async () => {
    server.zone = {
      srv: {
        [NAME]: [
          { target: "a.w.test", port: 80, priority: 0, weight: 5 },
          { target: "b.w.test", port: 81, priority: 0, weight: 3 },
        ],
      },
      a: { "a.w.test": ["10.0.0.3", "10.0.0.1", "10.0.0.2"], "b.w.test": ["10.0.1.1"] },
      aaaa: { "a.w.test": ["fd00::2", "fd00::1"] },
    };
    server.shuffle = seededRandom(11);
    const resolver = dnsSrvResolver(NAME, { servers: server.address, clock, resolveTargets: true, jitter: 0 });
    const sets: string[][] = [];
    resolver.on("endpoints", (set) => sets.push(set.map((e) => `${e.id} w${e.weight}`)));
    resolver.start();
    await resolver.whenIdle();
    for (let i = 0; i < 10; i++) await resolver.refresh();
    expect(sets).toEqual([
      ["10.0.0.1:80 w1", "10.0.0.2:80 w1", "10.0.0.3:80 w1", "10.0.1.1:81 w3", "[fd00::1]:80 w1", "[fd00::2]:80 w1"],
    ]);
    await resolver.close();
  });
});

/** A `node:dns` rejection as c-ares makes it. */
function dnsFailure(code: string): Error {
  return Object.assign(new Error(`query ${code}`), { code });
}

describe("property through the resolver (node:dns stubbed, no network)", () => {
  it("per priority level, the published endpoints of each target sum to a share equal to its SRV weight's share", async () => {
    const target = fc.record({
      priority: fc.integer({ min: 0, max: 2 }),
      weight: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 65_535 })),
      v4: fc.integer({ min: 0, max: 3 }),
      v6: fc.integer({ min: 0, max: 3 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(target, { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 0, max: 3 }),
        async (targets, zeroWeight) => {
          const clock = new ManualClock();
          const resolver = dnsSrvResolver(NAME, { clock, resolveTargets: true, zeroWeight, retries: 0, jitter: 0 });
          const dns = (resolver as unknown as { dns: NodeDnsResolver }).dns;
          const byName = new Map(targets.map((t, i) => [`t${i}.w.test`, { ...t, i }]));
          dns.resolveSrv = async () =>
            targets.map((t, i) => ({ name: `t${i}.w.test`, port: 1000 + i, priority: t.priority, weight: t.weight }));
          const family = (six: boolean) => async (name: string) => {
            const t = byName.get(name);
            const n = t === undefined ? 0 : six ? t.v6 : t.v4;
            if (t === undefined || n === 0) throw dnsFailure("ENODATA");
            return Array.from({ length: n }, (_, j) => ({
              address: six ? `fd00::${t.i + 1}:${j + 1}` : `10.0.${t.i}.${j + 1}`,
              ttl: 30,
            }));
          };
          dns.resolve4 = family(false) as never;
          dns.resolve6 = family(true) as never;
          await resolver.refresh();
          const endpoints: readonly Endpoint[] = resolver.endpoints ?? [];
          await resolver.close();
          // The SRV mapping of weight 0 (RFC 2782), over the records with addresses or not.
          const positive = new Set(targets.filter((t) => t.weight > 0).map((t) => t.priority));
          const srvWeight = (t: { priority: number; weight: number }) =>
            t.weight > 0 ? t.weight : positive.has(t.priority) ? zeroWeight : 1;
          const served = targets.map((t, i) => ({ t, i })).filter(({ t }) => t.v4 + t.v6 > 0);
          expect(endpoints).toHaveLength(sum(served.map(({ t }) => t.v4 + t.v6)));
          for (const level of new Set(served.map(({ t }) => t.priority))) {
            const inLevel = served.filter(({ t }) => t.priority === level);
            const weightTotal = sum(inLevel.map(({ t }) => srvWeight(t)));
            const sums = inLevel.map(({ i }) => sum(endpoints.filter((e) => e.port === 1000 + i).map((e) => e.weight)));
            const splitTotal = sum(sums);
            inLevel.forEach(({ t }, k) => {
              expect((sums[k] as number) * weightTotal).toBe(srvWeight(t) * splitTotal);
            });
          }
          for (const e of endpoints)
            expect(Number.isInteger(e.weight) && e.weight >= 0 && e.weight <= 65_535).toBe(true);
        },
      ),
      { seed: 2782, numRuns: 300 },
    );
  });
});
