import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SKIP_BOUND } from "../../src/balancer.js";
import { buildRing, pointPosition, pointsOf, RECORDS_UP_TO, Ring, ringScale } from "../../src/balancers/hash-ring.js";
import { PickerRandom } from "../../src/balancers/picker-random.js";
import { RingBuilder } from "../../src/balancers/ring-hash.js";
import type { Host, Picker, RingHashOptions } from "../../src/index.js";
import { createUpstream, hashKey, ringHash } from "../../src/index.js";
import { ManualClock, ManualResolver, seededRandom } from "../../src/testing/index.js";
import { expectConfigErrors } from "../helpers/config-errors.js";
import { idsBySlot, keyHashes, levelContext, moved, routes, shuffled, weightsAndOne } from "../helpers/hashing.js";
import { context, fixture, hostsOf, markDown, setDown, weightedEndpoints } from "../helpers/picks.js";

/** The ring written the plain way: every point of every host, sorted by (position, id). */
function referenceRing(hosts: readonly Host[], scale: number): { position: number; id: string }[] {
  const points: { position: number; id: string }[] = [];
  for (const h of hosts) {
    for (let i = 0; i < pointsOf(h.endpoint.weight, scale); i++) {
      points.push({ position: pointPosition(h.endpoint.id, i), id: h.endpoint.id });
    }
  }
  return points.sort((a, b) => a.position - b.position || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The id the reference ring routes `hash` to: the first point at or after it, wrapping. */
function referenceRoute(ring: readonly { position: number; id: string }[], hash: number): string {
  let lo = 0;
  let hi = ring.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((ring[mid] as { position: number }).position < hash >>> 0) lo = mid + 1;
    else hi = mid;
  }
  return (ring[lo === ring.length ? 0 : lo] as { id: string }).id;
}

/** Hashes at, just before and just after every point of `ring`, and the two ends of the range. */
function boundaryHashes(ring: readonly { position: number }[]): number[] {
  const out = [0, 0xffffffff];
  for (const p of ring) out.push(p.position, (p.position + 1) >>> 0, (p.position - 1) >>> 0);
  return out;
}

const KEYS = keyHashes(20_000);

describe("ringHash()", () => {
  it("routes a hash to the owner of the first point at or after it, wrapping past the last (every point boundary checked)", () => {
    const f = fixture([1, 2, 3]);
    const scale = ringScale(f.hosts, 1024, 8_388_608);
    expect(scale).toBe(1024 / 6); // 64 points for the heaviest would make 128: held at the minimum
    const reference = referenceRing(f.hosts, scale);
    expect(reference.length).toBe(171 + 341 + 512);
    const hashes = [...boundaryHashes(reference), ...KEYS];
    const expected = hashes.map((h) => referenceRoute(reference, h));
    // Told that no host is down (as an upstream tells it), the picker reads the bucket records; else it walks the points.
    for (const downHosts of [new Int32Array(1), Int32Array.of(1)]) {
      const picker = ringHash().build(f.hosts, { ...f.context, downHosts });
      expect(routes(picker, hashes)).toEqual(expected);
    }
  });

  it("finds the first point at or after a hash in a crowded bucket too (a binary search past four points)", () => {
    // 64 points, 32 buckets: 40 points crowd the first two (positions below 2^28), 24 spread over the rest.
    const positions = [
      ...Array.from({ length: 40 }, (_, i) => i * 6_000_000 + 17),
      ...Array.from({ length: 24 }, (_, i) => 2 ** 28 + i * 160_000_000),
    ];
    const points = new Int32Array(2 * (positions.length + 4));
    positions.forEach((position, p) => {
      points[2 * p] = (position ^ -2147483648) | 0;
      points[2 * p + 1] = p;
    });
    const ring = new Ring(points, positions.length);
    expect(ring.shift).toBe(27);
    const reference = (hash: number) => {
      const p = positions.findIndex((position) => position >= hash >>> 0);
      return p === -1 ? 0 : p;
    };
    const hashes = [0, 2 ** 28 - 1, 2 ** 28, 0xffffffff, ...positions.flatMap((x) => [x - 1, x, x + 1]), ...KEYS];
    for (const hash of hashes) expect(ring.find(hash)).toBe(reference(hash));
    // A pick reads the owner through the bucket records: the same point's (slot p here).
    for (const hash of hashes) expect(ring.owner(hash)).toBe(reference(hash));
  });

  it("property: the bucket records give the owner of the point that a search of the points finds", () => {
    // Positions drawn from a few narrow ranges, so buckets are empty, crowded and shared by equal positions.
    const position = fc.oneof(
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.integer({ min: 0, max: 2000 }),
      fc.integer({ min: 0xffffffff - 2000, max: 0xffffffff }),
      fc.integer({ min: 2 ** 31 - 50, max: 2 ** 31 + 50 }),
    );
    fc.assert(
      fc.property(fc.array(position, { minLength: 1, maxLength: 300 }), fc.array(position), (raw, extra) => {
        const sorted = [...raw].sort((a, b) => a - b);
        const points = new Int32Array(2 * (sorted.length + 4));
        sorted.forEach((x, p) => {
          points[2 * p] = (x ^ -2147483648) | 0;
          points[2 * p + 1] = 1000 + p;
        });
        const ring = new Ring(points, sorted.length);
        const hashes = [0, 0xffffffff, ...extra, ...sorted.flatMap((x) => [x - 1, x, x + 1].map((h) => h >>> 0))];
        return hashes.every(
          (h) => ring.owner(h) === ring.slot(ring.find(h)) && ring.owner(h - 2 ** 32) === ring.owner(h),
        );
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it("without a key, picks a random point from a picker-local generator: an exact sequence for a seed", () => {
    const f = fixture([1, 2, 3], 77);
    const reference = referenceRing(f.hosts, 1024 / 6);
    const mirror = new PickerRandom(seededRandom(77));
    const expected = Array.from({ length: 40 }, () => (reference[mirror.below(reference.length)] as { id: string }).id);
    const picker = ringHash().build(f.hosts, f.context);
    expect(Array.from({ length: 40 }, () => picker.pick()?.endpoint.id)).toEqual(expected);
    // The same for a context with neither key (or keys of the wrong type).
    const twin = ringHash().build(f.hosts, context(77, f.table));
    const odd = [{}, { hash: "1" }, { hashKey: 7 }, { hash: null }, { hashKey: undefined }];
    expect(Array.from({ length: 40 }, (_, i) => twin.pick(odd[i % 5] as never)?.endpoint.id)).toEqual(expected);
  });

  it("uses `hash` when given, else hashes `hashKey`: { hashKey: k } routes as { hash: hashKey(k) }", () => {
    const f = fixture([5, 1, 1, 3]);
    const picker = ringHash().build(f.hosts, f.context);
    for (let i = 0; i < 2000; i++) {
      const key = `session-${i}`;
      const byKey = picker.pick({ hashKey: key });
      expect(picker.pick({ hash: hashKey(key) })).toBe(byKey);
      // A hash is taken as a 32-bit integer: -1 is 0xffffffff; it wins over hashKey.
      expect(picker.pick({ hash: hashKey(key) - 2 ** 32, hashKey: "ignored" })).toBe(byKey);
    }
  });

  it("gives the heaviest endpoint 64 points and the others in proportion, within Envoy's ring bounds", () => {
    const scaleOf = (weights: number[], min = 1024, max = 8_388_608) => ringScale(fixture(weights).hosts, min, max);
    const sizeOf = (weights: number[], min = 1024, max = 8_388_608) => {
      const f = fixture(weights);
      return buildRing(f.hosts, ringScale(f.hosts, min, max), idsBySlot(f.hosts)).size;
    };
    // 1,000 × 100: 64 points each (0.64 per unit of weight), 64,000 in all; 20 × 100: 1,280.
    expect(scaleOf(new Array(1000).fill(100))).toBe(0.64);
    expect(sizeOf(new Array(1000).fill(100))).toBe(64_000);
    expect(sizeOf(new Array(20).fill(100))).toBe(1280);
    // 100, 50, 1: 64, 32 and 1 points... under 1,024: scaled up to the minimum, 1024 / 151 per unit.
    expect(scaleOf([100, 50, 1])).toBe(1024 / 151);
    expect([100, 50, 1].map((w) => pointsOf(w, 1024 / 151))).toEqual([678, 339, 7]);
    // 10 × 100: 640 points would be under the minimum: 1024 / 1000 per unit, 102 points each.
    expect(scaleOf(new Array(10).fill(100))).toBe(1.024);
    expect(sizeOf(new Array(10).fill(100))).toBe(1020);
    // Capped: 100 × 100 at most 1,000 points: 10 each.
    expect(scaleOf(new Array(100).fill(100), 1, 1000)).toBe(0.1);
    expect(sizeOf(new Array(100).fill(100), 1, 1000)).toBe(1000);
    // More endpoints than the maximum: one point each.
    expect(sizeOf([1, 1, 1, 1, 1], 1, 2)).toBe(5);
    // The lightest gets one point however light: 65535 and 1.
    expect([65535, 1].map((w) => pointsOf(w, scaleOf([65535, 1])))).toEqual([1024, 1]);
  });

  it("property: each key goes to one endpoint of the set, the same for the same hosts in any order", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 30 }),
        fc.integer(),
        (weights, seed) => {
          const f = fixture(weights, seed);
          const a = routes(ringHash().build(f.hosts, f.context), KEYS.slice(0, 2000));
          const again = hostsOf(shuffled(f.endpoints, seed));
          const b = routes(ringHash().build(again.hosts, context(seed + 1, again.table)), KEYS.slice(0, 2000));
          const ids = new Set(f.endpoints.map((e) => e.id));
          return a.every((id) => ids.has(id)) && a.join() === b.join();
        },
      ),
      { numRuns: 100, seed: 11 },
    );
  });

  it("property: when one endpoint leaves, only its keys move, each to the next point's owner (while the scale holds)", () => {
    let exact = 0;
    let runs = 0;
    fc.assert(
      fc.property(weightsAndOne(2, 80, 500), ([weights, leaving]) => {
        runs++;
        const f = fixture(weights);
        const rest = f.hosts.filter((_, i) => i !== leaving);
        const leaver = (f.hosts[leaving] as Host).endpoint.id;
        const before = routes(ringHash().build(f.hosts, f.context), KEYS);
        const after = routes(ringHash().build(rest, context(1, f.table)), KEYS);
        if (ringScale(rest, 1024, 8_388_608) !== ringScale(f.hosts, 1024, 8_388_608)) return true;
        exact++;
        // The keys that moved are exactly the leaver's; where they went is where skipping it sends them.
        const skipping = ringHash().build(f.hosts, context(1, f.table));
        markDown(f.table, (f.hosts[leaving] as Host).slot, true);
        const skipped = routes(skipping, KEYS);
        markDown(f.table, (f.hosts[leaving] as Host).slot, false);
        return (
          before.every((id, k) => (id === leaver ? after[k] !== leaver : after[k] === id)) &&
          skipped.join() === after.join()
        );
      }),
      { numRuns: 150, seed: 12 },
    );
    // The scale holds unless the heaviest endpoint leaves or the ring is held at a bound (few endpoints).
    expect(exact).toBeGreaterThan(runs / 3);
  });

  it("moves 1/N of the keys when one endpoint of N (equal weights) leaves; ~2/N while the ring is held at its minimum", () => {
    const share = (n: number, options?: RingHashOptions) => {
      const f = fixture(new Array(n).fill(100));
      const before = routes(ringHash(options).build(f.hosts, f.context), KEYS);
      const after = routes(ringHash(options).build(f.hosts.slice(1), context(1, f.table)), KEYS);
      const leaver = (f.hosts[0] as Host).endpoint.id;
      // From 17 endpoints up (or with no minimum), exactly the leaver's keys move.
      if (n >= 17 || options !== undefined)
        expect(moved(before, after)).toBe(before.filter((id) => id === leaver).length);
      return Number((moved(before, after) / KEYS.length).toFixed(4));
    };
    // The docs quote these (docs/balancing.md, "Consistent hashing"): 20,000 keys.
    expect([5, 10, 20, 100, 1000].map((n) => share(n))).toMatchInlineSnapshot(`
      [
        0.313,
        0.1872,
        0.0524,
        0.0109,
        0.0013,
      ]
    `);
    // Below 17 endpoints the default ring is held at 1,024 points; without the minimum only the leaver's keys move.
    expect([5, 10].map((n) => share(n, { minimumRingSize: 1 }))).toMatchInlineSnapshot(`
      [
        0.1749,
        0.1032,
      ]
    `);
  });

  it("respects weights: points in proportion (exactly, to rounding), keys within 6% of the weight share", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 65535 }), { minLength: 1, maxLength: 8 }), (weights) => {
        const f = fixture(weights);
        const scale = ringScale(f.hosts, 65536, 8_388_608);
        const ring = buildRing(f.hosts, scale, idsBySlot(f.hosts));
        const counts = new Array<number>(weights.length).fill(0);
        for (let p = 0; p < ring.size; p++) {
          const i = f.hosts.findIndex((h) => h.slot === ring.slot(p));
          counts[i] = (counts[i] as number) + 1;
        }
        const total = weights.reduce((a, b) => a + b, 0);
        const points = counts.every((c, i) => c === Math.max(1, Math.round((weights[i] as number) * scale)));
        const picker = ringHash({ minimumRingSize: 65536 }).build(f.hosts, f.context);
        const keys = new Array<number>(weights.length).fill(0);
        for (const hash of KEYS) {
          const i = f.hosts.indexOf(picker.pick({ hash }) as Host);
          keys[i] = (keys[i] as number) + 1;
        }
        // Share of keys vs share of weight, for endpoints with at least 5% of the weight (arc noise ~1/√points).
        const shares = keys.every((k, i) => {
          const p = (weights[i] as number) / total;
          return p < 0.05 || Math.abs(k / KEYS.length - p) <= 0.06 * p + 0.01;
        });
        return points && shares;
      }),
      { numRuns: 40, seed: 13 },
    );
  });
});

describe("ring hash with ejected endpoints", () => {
  const caseArb = fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 2, maxLength: 30 }).chain((weights) =>
    fc.tuple(
      fc.constant(weights),
      fc.uniqueArray(fc.integer({ min: 0, max: weights.length - 1 }), {
        minLength: 1,
        maxLength: Math.min(3, weights.length - 1),
      }),
    ),
  );

  it("property: never returns a down endpoint outside panic, and routes every key as a ring rebuilt without them", () => {
    fc.assert(
      fc.property(caseArb, ([weights, down]) => {
        const f = fixture(weights);
        const picker = ringHash().build(f.hosts, f.context);
        setDown(f.table, f.hosts, down);
        const skipped = routes(picker, KEYS);
        const eligible = f.hosts.filter((_, i) => !down.includes(i));
        // The upstream rebuilds over the eligible hosts, the ring sized over the whole level.
        const rebuilt = ringHash().build(eligible, levelContext(context(1, f.table), f.hosts));
        const downIds = new Set(down.map((i) => (f.hosts[i] as Host).endpoint.id));
        const expected = routes(rebuilt, KEYS);
        // "-": the picker gave up after SKIP_BOUND down points in a row (the upstream then rebuilds).
        return skipped.every((id, k) => !downIds.has(id) && (id === "-" || id === expected[k]));
      }),
      { numRuns: 120, seed: 21 },
    );
  });

  it("in panic (skipEjected false) routes to down endpoints as if they were up", () => {
    const f = fixture([3, 3, 3, 3]);
    const before = routes(ringHash().build(f.hosts, context(1, f.table, false)), KEYS);
    const panic = ringHash().build(f.hosts, context(1, f.table, false));
    setDown(f.table, f.hosts, [0, 1, 2]);
    expect(routes(panic, KEYS)).toEqual(before);
  });

  it(`gives up after ${SKIP_BOUND} points on down endpoints, and a host back up takes its keys again with no rebuild`, () => {
    const f = fixture([1, 1, 1]);
    const picker = ringHash().build(f.hosts, f.context);
    const before = routes(picker, KEYS);
    setDown(f.table, f.hosts, [0, 1, 2]);
    expect(new Set(routes(picker, KEYS.slice(0, 100)))).toEqual(new Set(["-"]));
    setDown(f.table, f.hosts, [0, 1, 2], false);
    expect(routes(picker, KEYS)).toEqual(before);
  });

  it("with `avoid`, sends the key to its next endpoint (where it goes if the avoided one leaves); the only endpoint is still returned", () => {
    const f = fixture([2, 1, 4, 1]);
    const picker = ringHash().build(f.hosts, f.context);
    const without = (i: number) =>
      ringHash().build(
        f.hosts.filter((_, j) => j !== i),
        levelContext(f.context, f.hosts),
      );
    for (let i = 0; i < 4; i++) {
      const avoid = (f.hosts[i] as Host).endpoint;
      const next = routes(without(i), KEYS.slice(0, 3000));
      const got = KEYS.slice(0, 3000).map((hash) => picker.pick({ hash, avoid })?.endpoint.id);
      expect(got).toEqual(next);
    }
    const one = fixture([5]);
    const lone = ringHash().build(one.hosts, one.context);
    const only = (one.hosts[0] as Host).endpoint;
    expect(lone.pick({ hash: 1, avoid: only })?.endpoint).toBe(only);
  });
});

describe("ring updates: one endpoint's points in, or out, by a merge", () => {
  it("property: after any sequence of joins, leaves and weight changes the ring equals one built from scratch", () => {
    const ops = fc.array(
      fc.tuple(fc.constantFrom("join", "leave", "weight"), fc.nat(), fc.integer({ min: 1, max: 400 })),
      { minLength: 1, maxLength: 25 },
    );
    fc.assert(
      fc.property(ops, (steps) => {
        // 60 endpoints in one table; the set starts with the first 20.
        const pool = weightedEndpoints(new Array(60).fill(100));
        const { table, hosts: all } = hostsOf(pool);
        let current: Host[] = all.slice(0, 20);
        const builder = new RingBuilder(64, 8_388_608);
        const ctx = context(1, table);
        builder.build(current, ctx);
        for (const [op, n, w] of steps) {
          if (op === "join") {
            const outside = all.filter((h) => !current.some((c) => c.slot === h.slot));
            if (outside.length > 0) current = [...current, outside[n % outside.length] as Host];
          } else if (op === "leave" && current.length > 1) {
            current = current.filter((_, i) => i !== n % current.length);
          } else if (op === "weight") {
            const i = n % current.length;
            const h = current[i] as Host;
            // A new endpoint version in the same slot, as a resolver update gives.
            current = current.map((x, j) => (j === i ? { endpoint: { ...h.endpoint, weight: w }, slot: h.slot } : x));
          }
          const order = shuffled(current, n);
          const ring = builder.build(order, ctx);
          const fresh = buildRing(order, ringScale(order, 64, 8_388_608), idsBySlot(order));
          if (ring.points.join() !== fresh.points.join() || ring.buckets.join() !== fresh.buckets.join()) return false;
          // The records, patched where the merge changed a window, equal those written from scratch.
          if (ring.records?.join() !== fresh.records?.join()) return false;
        }
        return builder.merges > 0 || steps.length < 3;
      }),
      { numRuns: 80, seed: 31 },
    );
  });

  it("property: on small rings too (64 to 200 points, a window often reaching the sentinels), merged records equal fresh ones", () => {
    // One endpoint of weight 64 (64 points) and light ones of weight 1 … 4 (as many points): a light one joining or leaving is a merge.
    const steps = fc.array(fc.tuple(fc.boolean(), fc.nat()), { minLength: 1, maxLength: 30 });
    const weights = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 40, maxLength: 40 });
    fc.assert(
      fc.property(weights, steps, (light, ops) => {
        const { table, hosts: all } = hostsOf(weightedEndpoints([64, ...light]));
        const heavy = all[0] as Host;
        let current: Host[] = [heavy, ...all.slice(1, 10)];
        const builder = new RingBuilder(1, 8_388_608);
        const ctx = context(1, table);
        builder.build(current, ctx);
        for (const [join, n] of ops) {
          const outside = all.filter((h) => !current.includes(h));
          if (join && outside.length > 0) current = [...current, outside[n % outside.length] as Host];
          else if (!join && current.length > 1)
            current = current.filter((h, i) => h === heavy || i !== n % current.length);
          const ring = builder.build(current, ctx);
          const fresh = buildRing(current, ringScale(current, 1, 8_388_608), idsBySlot(current));
          if (ring.points.join() !== fresh.points.join() || ring.records?.join() !== fresh.records?.join())
            return false;
        }
        return builder.merges > 0;
      }),
      { numRuns: 200, seed: 5 },
    );
  });

  it("patches the records whose window reaches the sentinels when point 0's endpoint leaves or joins (200 rings)", () => {
    const { table, hosts: all } = hostsOf(weightedEndpoints([64, ...new Array(300).fill(1)]));
    const ctx = context(1, table);
    let checked = 0;
    let merges = 0;
    for (let k = 0; k < 200; k++) {
      const current = [all[0] as Host, ...all.slice(1 + k, 31 + k)];
      const builder = new RingBuilder(1, 8_388_608);
      const ring = builder.build(current, ctx);
      const first = current.find((h) => h.slot === ring.slot(0)) as Host;
      if (first === all[0]) continue;
      const without = current.filter((h) => h !== first);
      for (const hosts of [without, current]) {
        const merged = builder.build(hosts, ctx);
        const fresh = buildRing(hosts, ringScale(hosts, 1, 8_388_608), idsBySlot(hosts));
        expect(merged.records).toEqual(fresh.records);
        checked++;
      }
      merges += builder.merges;
    }
    // Point 0 was a light endpoint's in some of the rings, and every build after the first was a merge.
    expect(checked).toBeGreaterThan(40);
    expect(merges).toBe(checked);
  });

  it(`keeps bucket records up to ${RECORDS_UP_TO} points; a larger ring routes alike through its buckets, and a merge across the bound makes a new index`, () => {
    // 4,096 endpoints of 64 points: exactly the bound; one more, past it.
    const { table, hosts } = hostsOf(weightedEndpoints(new Array(4097).fill(100)));
    const builder = new RingBuilder(1024, 8_388_608);
    const ctx = context(1, table);
    const small = builder.build(hosts.slice(0, 4096), ctx);
    expect([small.size, small.records?.length]).toEqual([RECORDS_UP_TO, (8 * RECORDS_UP_TO) / 2]);
    const large = builder.build(hosts, ctx);
    expect([large.size, large.records]).toEqual([RECORDS_UP_TO + 64, undefined]);
    const fresh = buildRing(hosts, ringScale(hosts, 1024, 8_388_608), idsBySlot(hosts));
    expect(large.points).toEqual(fresh.points);
    expect(large.buckets).toEqual(fresh.buckets);
    const back = builder.build(hosts.slice(0, 4096), ctx);
    expect(back.records).toEqual(small.records);
    expect(builder.merges).toBe(2);
    // Every key to the owner of the first point at or after it, with or without records.
    for (const ring of [small, large]) {
      for (const hash of [0, 0xffffffff, ...KEYS.slice(0, 2000)])
        expect(ring.owner(hash)).toBe(ring.slot(ring.find(hash)));
    }
    const picker = ringHash().build(hosts, { ...ctx, downHosts: new Int32Array(1) });
    expect(routes(picker, KEYS.slice(0, 2000))).toEqual(
      KEYS.slice(0, 2000).map((h) => (hosts.find((x) => x.slot === large.owner(h)) as Host).endpoint.id),
    );
  });

  it("merges rather than rebuilds when one endpoint joins or leaves a 1,000-endpoint level; keeps the ring when none does", () => {
    const { table, hosts } = hostsOf(weightedEndpoints(new Array(1001).fill(100)));
    const builder = new RingBuilder(1024, 8_388_608);
    const ctx = context(1, table);
    builder.build(hosts.slice(0, 1000), ctx);
    const joined = builder.build(hosts, ctx);
    builder.build(hosts.slice(1), ctx);
    expect(builder.merges).toBe(2);
    // The same endpoints in another order, as new objects: the same ring.
    const same = [...hosts.slice(1)].reverse().map((h) => ({ endpoint: { ...h.endpoint }, slot: h.slot }));
    const kept = builder.build(hosts.slice(1), ctx);
    expect(builder.build(same, ctx)).toBe(kept);
    expect(kept).not.toBe(joined);
  });
});

describe("ring hash in an upstream", () => {
  const addresses = Array.from({ length: 20 }, (_, i) => `10.0.0.${i + 1}:80`);

  function upstream() {
    const resolver = new ManualResolver();
    const clock = new ManualClock();
    const api = createUpstream({
      name: "api",
      resolver,
      balancer: ringHash(),
      clock,
      random: seededRandom(5),
      priority: { panicThreshold: 10 },
    });
    resolver.push(addresses);
    return { api, resolver, clock };
  }

  const route = (api: ReturnType<typeof upstream>["api"]) => KEYS.slice(0, 5000).map((hash) => api.pick({ hash }).id);

  it("an ejection moves only the ejected endpoint's keys; a rebuild without the ejected ones (over half) moves nothing more", () => {
    const { api, clock } = upstream();
    const before = route(api);
    expect(api.pick({ hashKey: "user-1" }).id).toBe(api.pick({ hash: hashKey("user-1") }).id);
    api.override("10.0.0.3:80", "down");
    const one = route(api);
    const onThird = before.filter((id) => id === "10.0.0.3:80").length;
    expect(onThird).toBeGreaterThan(0);
    expect(before.filter((id, k) => id !== one[k]).length).toBe(onThird);
    // Eleven of twenty down: the level's picker is rebuilt over the nine left (after rebuildDelayMs, or at once
    // when a pick finds 16 down points in a row), and routes every key as the skipping picker did.
    const down = addresses.slice(2, 13);
    for (const id of down) api.override(id, "down");
    const skipping = route(api);
    clock.advance(0);
    expect(api.picker.hosts.length).toBe(9);
    expect(route(api)).toEqual(skipping);
    for (const [k, id] of skipping.entries()) if (!down.includes(before[k] as string)) expect(id).toBe(before[k]);
    // All back: every key where it was.
    for (const id of down) api.override(id, undefined);
    clock.advance(0);
    expect(api.picker.hosts.length).toBe(20);
    expect(route(api)).toEqual(before);
  });

  it("keeps a key on one endpoint while two priority levels share the traffic", () => {
    const resolver = new ManualResolver();
    const api = createUpstream({ name: "api", resolver, balancer: ringHash(), clock: new ManualClock() });
    resolver.push([
      ...addresses.slice(0, 10),
      ...addresses.slice(10).map((a) => ({ host: a.split(":")[0] as string, port: 81, priority: 1 })),
    ]);
    // Four of ten down in priority 0: health 84%, so 16% of the traffic spills to priority 1.
    for (const id of addresses.slice(0, 4)) api.override(id, "down");
    expect(api.snapshot().levels.map((l) => l.load)).toEqual([84, 16]);
    const first = route(api);
    expect(route(api)).toEqual(first);
    const spilled = first.filter((id) => id.endsWith(":81")).length / first.length;
    expect(spilled).toBeGreaterThan(0.13);
    expect(spilled).toBeLessThan(0.19);
  });

  it("a retry with `avoid` goes to the key's next endpoint", () => {
    const { api } = upstream();
    const first = api.pick({ hashKey: "cart-9" });
    const retry = api.pick({ hashKey: "cart-9", avoid: first });
    expect(retry.id).not.toBe(first.id);
    api.override(first.id, "down");
    expect(api.pick({ hashKey: "cart-9" }).id).toBe(retry.id);
  });

  it("an endpoint the resolver adds takes keys only (about 1/21 of them), from every other endpoint", () => {
    const { api, resolver } = upstream();
    const before = route(api);
    resolver.push([...addresses, "10.0.0.21:80"]);
    const after = route(api);
    const changed = after.filter((id, k) => id !== before[k]);
    expect(changed.every((id) => id === "10.0.0.21:80")).toBe(true);
    expect(changed.length / after.length).toBeGreaterThan(0.02);
    expect(changed.length / after.length).toBeLessThan(0.08);
  });
});

describe("ringHash() options", () => {
  it("rejects invalid ring sizes with InvalidConfigError naming the option", () => {
    expectConfigErrors(ringHash, [
      [{ minimumRingSize: 0 }, "minimumRingSize"],
      [{ minimumRingSize: 1.5 }, "minimumRingSize"],
      [{ minimumRingSize: 8_388_609 }, "minimumRingSize"],
      [{ minimumRingSize: "1024" as never }, "minimumRingSize"],
      [{ maximumRingSize: Number.NaN }, "maximumRingSize"],
      [{ maximumRingSize: 16_777_216 }, "maximumRingSize"],
      [{ minimumRingSize: 2048, maximumRingSize: 1024 }, "maximumRingSize"],
      ["ring" as never, "options"],
    ]);
    expect(() => ringHash({ minimumRingSize: 2048, maximumRingSize: 1024 })).toThrow(
      "maximumRingSize: must be at least minimumRingSize (2048), got 1024",
    );
    expect(ringHash({ minimumRingSize: 1, maximumRingSize: 1 }).name).toBe("ring-hash");
  });

  it("works through pick() for any context value (no TypeError)", () => {
    const f = fixture([1, 2]);
    const picker: Picker = ringHash().build(f.hosts, f.context);
    for (const c of [
      null,
      undefined,
      5,
      "k",
      { hash: Number.NaN },
      { hash: Infinity },
      { hash: 2 ** 40 },
      { avoid: 3 },
    ]) {
      expect(f.hosts).toContain(picker.pick(c as never));
    }
  });
});
