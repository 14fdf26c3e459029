import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SKIP_BOUND } from "../../src/balancer.js";
import { murmur3 } from "../../src/balancers/hash-key.js";
import { buildMaglevTable, isPrime } from "../../src/balancers/maglev-table.js";
import { MaglevTables } from "../../src/balancers/maglev-tables.js";
import { PickerRandom } from "../../src/balancers/picker-random.js";
import type { Host } from "../../src/index.js";
import { createUpstream, hashKey, maglev } from "../../src/index.js";
import { ManualClock, ManualResolver, seededRandom } from "../../src/testing/index.js";
import { expectConfigErrors } from "../helpers/config-errors.js";
import { keyHashes, moved, routes, shuffled } from "../helpers/hashing.js";
import { context, fixture, hostsOf, setDown } from "../helpers/picks.js";

/**
 * Envoy's weighted Maglev population written as Envoy writes it (an
 * iteration loop over every endpoint, in id order here), with the weights
 * compared as integers: the reference for `buildMaglevTable`'s heap.
 */
function envoyTable(hosts: readonly Host[], size: number): Int32Array {
  const order = hosts
    .map((_, j) => j)
    .sort((x, y) => {
      const a = (hosts[x] as Host).endpoint.id;
      const b = (hosts[y] as Host).endpoint.id;
      return a < b ? -1 : a > b ? 1 : 0;
    });
  const entries = order.map((j) => {
    const id = (hosts[j] as Host).endpoint.id;
    return {
      j,
      offset: (murmur3(id, 3) >>> 0) % size,
      skip: ((murmur3(id, 4) >>> 0) % (size - 1)) + 1,
      weight: (hosts[j] as Host).endpoint.weight,
      next: 0,
      target: 0,
    };
  });
  const most = Math.max(...entries.map((e) => e.weight));
  const table = new Int32Array(size).fill(-1);
  let filled = 0;
  for (let iteration = 1; filled < size; iteration++) {
    for (const e of entries) {
      if (filled === size) break;
      if (iteration * e.weight < e.target) continue;
      e.target += most;
      let c = (e.offset + e.skip * e.next) % size;
      while (table[c] !== -1) c = (e.offset + e.skip * ++e.next) % size;
      table[c] = e.j;
      e.next++;
      filled++;
    }
  }
  return table;
}

const KEYS = keyHashes(20_000);

/** The table entry of a hash: ⌊hash × size / 2^32⌋. */
const entryOf = (hash: number, size: number) => Math.floor(((hash >>> 0) * size) / 2 ** 32);

describe("maglev()", () => {
  it("property: fills the table exactly as Envoy's weighted population loop (equal and unequal weights)", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(fc.integer({ min: 1, max: 65535 }), { minLength: 1, maxLength: 12 }),
          fc.integer({ min: 1, max: 40 }).map((n) => new Array<number>(n).fill(100)),
        ),
        fc.constantFrom(2, 3, 7, 251, 1009),
        (weights, size) => {
          const f = fixture(weights);
          return buildMaglevTable(f.hosts, size).join() === envoyTable(f.hosts, size).join();
        },
      ),
      { numRuns: 300, seed: 41 },
    );
  });

  it("routes a hash to the endpoint of table entry ⌊hash × size / 2^32⌋", () => {
    const f = fixture([3, 1, 2, 5]);
    const table = buildMaglevTable(f.hosts, 65537);
    const picker = maglev().build(f.hosts, f.context);
    const hashes = [0, 1, 65535, 65536, 2 ** 31, 0xffffffff, ...KEYS.slice(0, 5000)];
    const expected = hashes.map((h) => (f.hosts[table[entryOf(h, 65537)] as number] as Host).endpoint.id);
    expect(routes(picker, hashes)).toEqual(expected);
    // A small table, so a hash near 2^32 lands in the last entry.
    const small = maglev({ tableSize: 7 }).build(f.hosts, f.context);
    const seven = buildMaglevTable(f.hosts, 7);
    expect(small.pick({ hash: 0xffffffff })).toBe(f.hosts[seven[6] as number]);
    expect(small.pick({ hash: 0 })).toBe(f.hosts[seven[0] as number]);
  });

  it("without a key, picks a random entry from a picker-local generator: an exact sequence for a seed", () => {
    const f = fixture([1, 2, 3], 78);
    const table = buildMaglevTable(f.hosts, 65537);
    const mirror = new PickerRandom(seededRandom(78));
    const expected = Array.from({ length: 40 }, () => f.hosts[table[mirror.below(65537)] as number]);
    const picker = maglev().build(f.hosts, f.context);
    expect(Array.from({ length: 40 }, () => picker.pick())).toEqual(expected);
    const twin = maglev().build(f.hosts, context(78, f.table));
    const odd = [{}, { hash: "1" }, { hashKey: 7 }, { hash: null }, null];
    expect(Array.from({ length: 40 }, (_, i) => twin.pick(odd[i % 5] as never))).toEqual(expected);
  });

  it("uses `hash` when given, else hashes `hashKey`: { hashKey: k } routes as { hash: hashKey(k) }", () => {
    const f = fixture([5, 1, 1, 3]);
    const picker = maglev().build(f.hosts, f.context);
    for (let i = 0; i < 2000; i++) {
      const key = `session-${i}`;
      const byKey = picker.pick({ hashKey: key });
      expect(picker.pick({ hash: hashKey(key) })).toBe(byKey);
      expect(picker.pick({ hash: hashKey(key) - 2 ** 32, hashKey: "ignored" })).toBe(byKey);
    }
  });

  it("property: each key goes to one endpoint of the set, the same for the same hosts in any order", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 30 }),
        fc.integer(),
        (weights, seed) => {
          const f = fixture(weights, seed);
          const a = routes(maglev({ tableSize: 1009 }).build(f.hosts, f.context), KEYS.slice(0, 2000));
          const again = hostsOf(shuffled(f.endpoints, seed));
          const b = routes(
            maglev({ tableSize: 1009 }).build(again.hosts, context(seed + 1, again.table)),
            KEYS.slice(0, 2000),
          );
          const ids = new Set(f.endpoints.map((e) => e.id));
          return a.every((id) => ids.has(id)) && a.join() === b.join();
        },
      ),
      { numRuns: 100, seed: 42 },
    );
  });

  it("respects weights: each endpoint's entries within 2 of tableSize × its weight share", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 65535 }), { minLength: 1, maxLength: 10 }), (weights) => {
        const f = fixture(weights);
        const table = buildMaglevTable(f.hosts, 65537);
        const counts = new Array<number>(weights.length).fill(0);
        for (const j of table) counts[j] = (counts[j] as number) + 1;
        const total = weights.reduce((a, b) => a + b, 0);
        return counts.every((c, i) => Math.abs(c - (65537 * (weights[i] as number)) / total) <= 2);
      }),
      { numRuns: 60, seed: 43 },
    );
  });

  it("moves about 1/N of the keys when one endpoint of N leaves, a little more as N nears the table size (measured)", () => {
    const measure = (n: number) => {
      const f = fixture(new Array(n).fill(100));
      const leaver = (f.hosts[0] as Host).endpoint.id;
      const before = routes(maglev().build(f.hosts, f.context), KEYS);
      const after = routes(maglev().build(f.hosts.slice(1), context(1, f.table)), KEYS);
      // Share of keys that moved, and share that were on the endpoint that left (which must move).
      return [moved(before, after) / KEYS.length, before.filter((id) => id === leaver).length / KEYS.length].map((x) =>
        Number(x.toFixed(4)),
      );
    };
    // The docs quote these (docs/balancing.md, "Consistent hashing"): 20,000 keys, tableSize 65537.
    expect([5, 10, 20, 100, 1000].map(measure)).toMatchInlineSnapshot(`
      [
        [
          0.2039,
          0.2026,
        ],
        [
          0.1033,
          0.0998,
        ],
        [
          0.0562,
          0.0524,
        ],
        [
          0.0173,
          0.0111,
        ],
        [
          0.0068,
          0.0014,
        ],
      ]
    `);
  });

  it("property: when one endpoint of N leaves, the keys of the others that move stay under 1/N of all keys (tableSize 65537, N ≤ 100)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 100 }), fc.nat(), (n, k) => {
        const f = fixture(new Array(n).fill(100));
        const leaving = k % n;
        const leaver = (f.hosts[leaving] as Host).endpoint.id;
        const keys = KEYS.slice(0, 5000);
        const before = routes(maglev().build(f.hosts, f.context), keys);
        const after = routes(
          maglev().build(
            f.hosts.filter((_, i) => i !== leaving),
            context(1, f.table),
          ),
          keys,
        );
        const others = before.filter((id, i) => id !== leaver && after[i] !== id).length;
        return before.every((id, i) => id !== leaver || after[i] !== leaver) && others / keys.length < 1 / n;
      }),
      { numRuns: 40, seed: 44 },
    );
  });
});

describe("maglev rebuilds", () => {
  it("reuse a level's table when its endpoints (ids and weights, in any order) did not change", () => {
    const tables = new MaglevTables(1009);
    const f = fixture([1, 2, 3]);
    // A context made by hand (no requestRebuild): every change is built at once.
    const table = (hosts: readonly Host[]) => tables.entries(hosts, f.context);
    const first = table(f.hosts);
    // New endpoint objects with the same ids and weights (a resolver refresh, a metadata change): the same table.
    const again = f.hosts.map((h) => ({ endpoint: { ...h.endpoint, tags: ["v2"] }, slot: h.slot }));
    expect(table(again)).toBe(first);
    // A weight or the set changes: a new table, equal to one built from scratch.
    const heavier = f.hosts.map((h, i) => (i === 0 ? { endpoint: { ...h.endpoint, weight: 5 }, slot: h.slot } : h));
    expect(table(heavier)).not.toBe(first);
    expect(table(heavier).join()).toBe(buildMaglevTable(heavier, 1009).join());
    expect(tables.builds).toBe(2);
    // Another order: the same table with the indexes of the new order, as a build would fill it, without one.
    const reversed = [...heavier].reverse();
    expect(table(reversed).join()).toBe(buildMaglevTable(reversed, 1009).join());
    expect(tables.builds).toBe(2);
    // Another priority level keeps its own table.
    const other = fixture([4, 4], 1, 1);
    tables.entries(other.hosts, other.context);
    expect(table(reversed).join()).toBe(buildMaglevTable(reversed, 1009).join());
    expect(tables.builds).toBe(3);
  });
});

describe("maglev with ejected endpoints", () => {
  it("property: never returns a down endpoint outside panic; a key on one goes to the next entry's endpoint that is up", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 2, maxLength: 20 }).chain((weights) =>
          fc.tuple(
            fc.constant(weights),
            fc.uniqueArray(fc.integer({ min: 0, max: weights.length - 1 }), {
              minLength: 1,
              maxLength: Math.min(3, weights.length - 1),
            }),
          ),
        ),
        ([weights, down]) => {
          const f = fixture(weights);
          const table = buildMaglevTable(f.hosts, 1009);
          const picker = maglev({ tableSize: 1009 }).build(f.hosts, f.context);
          setDown(f.table, f.hosts, down);
          return KEYS.slice(0, 3000).every((hash) => {
            const got = picker.pick({ hash });
            let e = entryOf(hash, 1009);
            for (let k = 0; k < SKIP_BOUND; k++, e = (e + 1) % 1009) {
              const j = table[e] as number;
              if (!down.includes(j)) return got === f.hosts[j];
            }
            return got === undefined;
          });
        },
      ),
      { numRuns: 100, seed: 45 },
    );
  });

  it("unlike ring hash, a table rebuilt without the down endpoint does not route exactly as the skipping did (measured)", () => {
    const f = fixture(new Array(20).fill(100));
    const picker = maglev().build(f.hosts, f.context);
    const before = routes(picker, KEYS);
    setDown(f.table, f.hosts, [0]);
    const skipped = routes(picker, KEYS);
    const rebuilt = routes(maglev().build(f.hosts.slice(1), context(1, f.table)), KEYS);
    const leaver = (f.hosts[0] as Host).endpoint.id;
    const onLeaver = before.flatMap((id, k) => (id === leaver ? [k] : []));
    // Skipping moves only the down endpoint's keys; the rebuild puts a share of them elsewhere, and moves a few others.
    expect(moved(before, skipped)).toBe(onLeaver.length);
    const agree = onLeaver.filter((k) => skipped[k] === rebuilt[k]).length / onLeaver.length;
    const others = before.filter((id, k) => id !== leaver && rebuilt[k] !== id).length / KEYS.length;
    expect([onLeaver.length / KEYS.length, agree, others].map((x) => Number(x.toFixed(4)))).toMatchInlineSnapshot(`
      [
        0.0524,
        0.0191,
        0.0038,
      ]
    `);
  });

  it("in panic (skipEjected false) routes to down endpoints as if they were up; gives up after 16 down entries", () => {
    const f = fixture([3, 3, 3]);
    const before = routes(maglev().build(f.hosts, context(1, f.table, false)), KEYS);
    const panic = maglev().build(f.hosts, context(1, f.table, false));
    const skipping = maglev().build(f.hosts, f.context);
    setDown(f.table, f.hosts, [0, 1, 2]);
    expect(routes(panic, KEYS)).toEqual(before);
    expect(new Set(routes(skipping, KEYS.slice(0, 100)))).toEqual(new Set(["-"]));
    setDown(f.table, f.hosts, [0, 1, 2], false);
    expect(routes(skipping, KEYS)).toEqual(before);
  });

  it("with `avoid`, sends the key to the next entry's other endpoint; the only endpoint is still returned", () => {
    const f = fixture([2, 1, 4, 1]);
    const table = buildMaglevTable(f.hosts, 65537);
    const picker = maglev().build(f.hosts, f.context);
    for (const hash of KEYS.slice(0, 3000)) {
      const first = picker.pick({ hash }) as Host;
      let e = entryOf(hash, 65537);
      while (f.hosts[table[e] as number] === first) e = (e + 1) % 65537;
      expect(picker.pick({ hash, avoid: first.endpoint })).toBe(f.hosts[table[e] as number]);
    }
    const one = fixture([5]);
    const lone = maglev().build(one.hosts, one.context);
    const only = (one.hosts[0] as Host).endpoint;
    expect(lone.pick({ hash: 1, avoid: only })?.endpoint).toBe(only);
  });
});

describe("maglev in an upstream", () => {
  it("routes by key; an ejection moves only the ejected endpoint's keys; a retry with `avoid` goes elsewhere", () => {
    const resolver = new ManualResolver();
    const api = createUpstream({ name: "api", resolver, balancer: maglev(), clock: new ManualClock() });
    resolver.push(Array.from({ length: 10 }, (_, i) => `10.0.0.${i + 1}:80`));
    const route = () => KEYS.slice(0, 5000).map((hash) => api.pick({ hash }).id);
    const before = route();
    expect(api.pick({ hashKey: "user-1" })).toBe(api.pick({ hash: hashKey("user-1") }));
    api.override("10.0.0.4:80", "down");
    const after = route();
    expect(moved(before, after)).toBe(before.filter((id) => id === "10.0.0.4:80").length);
    const first = api.pick({ hashKey: "cart-9" });
    expect(api.pick({ hashKey: "cart-9", avoid: first }).id).not.toBe(first.id);
  });
});

describe("maglev() options", () => {
  it("rejects a table size that is not a prime up to 5,000,011 with InvalidConfigError", () => {
    expectConfigErrors(maglev, [
      [{ tableSize: 0 }, "tableSize"],
      [{ tableSize: 1 }, "tableSize"],
      [{ tableSize: 65536 }, "tableSize"],
      [{ tableSize: 65537.5 }, "tableSize"],
      [{ tableSize: 5_000_077 }, "tableSize"],
      [{ tableSize: "65537" as never }, "tableSize"],
      [{ tableSize: Number.NaN }, "tableSize"],
      [42 as never, "options"],
    ]);
    expect(() => maglev({ tableSize: 100 })).toThrow("tableSize: must be a prime up to 5000011, got 100");
    expect(isPrime(5_000_011)).toBe(true);
    expect(isPrime(5_000_077)).toBe(true);
    for (const size of [2, 3, 65537, 5_000_011]) expect(maglev({ tableSize: size }).name).toBe("maglev");
  });
});
