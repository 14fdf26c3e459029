import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { buildMaglevTable } from "../../src/balancers/maglev-table.js";
import { MaglevTables } from "../../src/balancers/maglev-tables.js";
import type { Clock, EndpointInput, Host, MaglevOptions, Timer, Upstream } from "../../src/index.js";
import { createUpstream, endpoint, InvalidConfigError, maglev, systemClock } from "../../src/index.js";
import { ManualClock, ManualResolver } from "../../src/testing/index.js";
import { expectConfigErrors } from "../helpers/config-errors.js";
import { keyHashes, moved } from "../helpers/hashing.js";
import { context, fixture, hostsOf } from "../helpers/picks.js";

// Every full table fill goes through this spy: a build over the same endpoints, or one made from the
// last table while a change waits for its window, does not.
vi.mock("../../src/balancers/maglev-table.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../src/balancers/maglev-table.js")>();
  return { ...original, buildMaglevTable: vi.fn(original.buildMaglevTable) };
});
const fills = vi.mocked(buildMaglevTable);

const KEYS = keyHashes(20_000);
/** The default table size. */
const SIZE = 65537;
const address = (i: number) => `10.0.0.${i}:80`;
/** Endpoints 10.0.0.1:80 … 10.0.0.n:80. */
const first = (n: number) => Array.from({ length: n }, (_, i) => address(i + 1));

const open: Upstream[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((u) => u.close()));
  fills.mockClear();
});

function upstream(options?: MaglevOptions, clock: Clock = new ManualClock()) {
  const resolver = new ManualResolver();
  // Panic only below 10% healthy, so that a level with over half of it down is compacted, not in panic.
  const priority = { panicThreshold: 10 };
  const api = createUpstream({ name: "api", resolver, balancer: maglev(options), clock, priority });
  open.push(api);
  return { api, resolver, route: () => KEYS.map((hash) => api.pick({ hash }).id) };
}

/** Where a table built from scratch over `set` sends each key (a fresh upstream that builds at once). */
function fresh(set: readonly (string | EndpointInput)[]): string[] {
  const { resolver, route } = upstream({ rebuildDelayMs: 0 });
  resolver.push(set);
  return route();
}

/**
 * Where the table over `set` sends each key when the entries of the endpoints `down` pass the key on
 * to the next entry whose endpoint is not down (the picker's skip of an ejected endpoint, unbounded).
 */
function skipping(set: readonly string[], down: readonly string[]): string[] {
  const { hosts } = hostsOf(set.map((id) => endpoint(id)));
  const table = buildMaglevTable(hosts, SIZE);
  const idAt = (e: number) => (hosts[table[e] as number] as Host).endpoint.id;
  return KEYS.map((hash) => {
    let e = Math.floor(((hash >>> 0) * SIZE) / 2 ** 32);
    while (down.includes(idAt(e))) e = (e + 1) % SIZE;
    return idAt(e);
  });
}

const count = (routes: readonly string[], id: string) => routes.filter((r) => r === id).length;

describe("maglev: a resolver change waits rebuildDelayMs for its table", () => {
  it("a removal takes effect at once, each of its keys passed to the next entry's endpoint, no other key moving; the table follows after 1,000 ms", () => {
    const gone = address(7);
    const rest = first(20).filter((id) => id !== gone);
    const skipped = skipping(first(20), [gone]);
    const table = fresh(rest);
    fills.mockClear();
    const clock = new ManualClock();
    const { resolver, route } = upstream(undefined, clock);
    resolver.push(first(20));
    const before = route();
    expect(fills).toHaveBeenCalledTimes(1);
    resolver.push(rest);
    const after = route();
    expect(count(after, gone)).toBe(0);
    expect(moved(before, after)).toBe(count(before, gone));
    // Exactly where the picker's skip sends an ejected endpoint's keys.
    expect(after).toEqual(skipped);
    clock.advance(999);
    expect(route()).toEqual(after);
    expect(fills).toHaveBeenCalledTimes(1);
    clock.advance(1);
    expect(fills).toHaveBeenCalledTimes(2);
    const rebuilt = route();
    expect(rebuilt).toEqual(table);
    // The build moves the leaver's keys again, most of them (the new table fills its entries its own
    // way), and a few others (Maglev's disruption), as a table built at once would have.
    const onLeaver = KEYS.flatMap((_, k) => (before[k] === gone ? [k] : []));
    const again = onLeaver.filter((k) => rebuilt[k] !== after[k]).length;
    const others = KEYS.filter((_, k) => before[k] !== gone && rebuilt[k] !== before[k]).length;
    expect([onLeaver.length, again, others]).toMatchInlineSnapshot(`
      [
        981,
        958,
        76,
      ]
    `);
  });

  it("an endpoint that joins gets keys only once the window ends, then as a table built from scratch gives them", () => {
    const clock = new ManualClock();
    const { resolver, route } = upstream(undefined, clock);
    resolver.push(first(20));
    const before = route();
    resolver.push(first(21));
    expect(route()).toEqual(before);
    clock.advance(999);
    expect(count(route(), address(21))).toBe(0);
    clock.advance(1);
    const after = route();
    expect(after).toEqual(fresh(first(21)));
    expect(count(after, address(21))).toBeGreaterThan(KEYS.length / 21 / 2);
  });

  it("a weight change keeps the endpoint's keys until the window ends", () => {
    const clock = new ManualClock();
    const { resolver, route } = upstream({ rebuildDelayMs: 250 }, clock);
    resolver.push(first(10));
    const before = route();
    const heavier = first(10).map((id, i) => (i === 0 ? { host: "10.0.0.1", port: 80, weight: 300 } : id));
    resolver.push(heavier);
    clock.advance(249);
    expect(route()).toEqual(before);
    clock.advance(1);
    const after = route();
    expect(after).toEqual(fresh(heavier));
    expect(count(after, address(1))).toBeGreaterThan(2 * count(before, address(1)));
  });

  it("a burst of 10 changes within the window costs exactly one full build, over the set as it is when the window ends", () => {
    const clock = new ManualClock();
    const { api, resolver, route } = upstream(undefined, clock);
    resolver.push(first(20));
    const before = route();
    // A rolling deploy: every 100 ms one old endpoint leaves or a new one joins (ids 21 …).
    const set = first(20);
    const left: string[] = [];
    for (let k = 0; k < 10; k++) {
      if (k % 2 === 0) left.push(set.splice(set.indexOf(address(2 + k)), 1)[0] as string);
      else set.push(address(21 + k));
      resolver.push(set);
      const now = route();
      // Every removal at once; no joiner yet; only the leavers' keys have moved.
      for (const id of left) expect(count(now, id)).toBe(0);
      expect(now.some((id) => Number(id.split(".")[3]?.split(":")[0]) > 20)).toBe(false);
      expect(moved(before, now)).toBe(left.reduce((n, id) => n + count(before, id), 0));
      clock.advance(k < 9 ? 100 : 99);
    }
    expect(clock.now()).toBe(999);
    expect(fills).toHaveBeenCalledTimes(1);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(1);
    expect(fills).toHaveBeenCalledTimes(2);
    expect(clock.pendingTimers).toBe(0);
    const built = route();
    // A change after the build opens a new window from then.
    clock.advance(500);
    resolver.push(set.slice(1));
    clock.advance(999);
    expect(fills).toHaveBeenCalledTimes(2);
    clock.advance(1);
    expect(fills).toHaveBeenCalledTimes(3);
    expect(api.endpoints.length).toBe(set.length - 1);
    expect(built).toEqual(fresh(set));
  });

  it("a change undone within the window needs no build: the table is kept", () => {
    const clock = new ManualClock();
    const { resolver, route } = upstream(undefined, clock);
    resolver.push(first(20));
    const before = route();
    resolver.push(first(19));
    resolver.push(first(20));
    expect(route()).toEqual(before);
    clock.advance(5000);
    expect(route()).toEqual(before);
    expect(fills).toHaveBeenCalledTimes(1);
    // The undone change's window is forgotten: a change now waits a window of its own.
    resolver.push(first(19));
    clock.advance(999);
    expect(fills).toHaveBeenCalledTimes(1);
    clock.advance(1);
    expect(fills).toHaveBeenCalledTimes(2);
  });

  it("a whole level replaced has no endpoint to pass keys on to: its table is built at once", () => {
    const clock = new ManualClock();
    const { resolver, route } = upstream(undefined, clock);
    resolver.push(first(5));
    const replaced = first(10).slice(5);
    resolver.push(replaced);
    expect(fills).toHaveBeenCalledTimes(2);
    expect(clock.pendingTimers).toBe(0);
    expect(route()).toEqual(fresh(replaced));
  });

  it("close() cancels the pending build: no timer is left (manual clock) and nothing is built after", async () => {
    const clock = new ManualClock();
    const { api, resolver } = upstream(undefined, clock);
    resolver.push(first(20));
    resolver.push(first(19));
    expect(clock.pendingTimers).toBe(1);
    await api.close();
    expect(clock.pendingTimers).toBe(0);
    clock.advance(10_000);
    expect(fills).toHaveBeenCalledTimes(1);
  });

  it("close() cancels the pending build on real timers too", async () => {
    // The system clock, with its live timers counted (they are unref'd: getActiveResourcesInfo() does not list them).
    const live = new Set<object>();
    const counted: Clock = {
      now: () => systemClock.now(),
      setTimer(callback, ms, options): Timer {
        const token = {};
        live.add(token);
        const timer = systemClock.setTimer(
          () => {
            live.delete(token);
            callback();
          },
          ms,
          options,
        );
        return {
          cancel: () => {
            live.delete(token);
            timer.cancel();
          },
        };
      },
    };
    const { api, resolver } = upstream({ rebuildDelayMs: 60_000 }, counted);
    resolver.push(first(20));
    expect(live.size).toBe(0);
    resolver.push(first(19));
    expect(live.size).toBe(1);
    await api.close();
    expect(live.size).toBe(0);
  });

  it("rebuildDelayMs 0 builds the changed table at once, as before: no timer, the table of the new set", () => {
    const clock = new ManualClock();
    const { resolver, route } = upstream({ rebuildDelayMs: 0 }, clock);
    resolver.push(first(20));
    resolver.push(first(19));
    expect(fills).toHaveBeenCalledTimes(2);
    expect(clock.pendingTimers).toBe(0);
    expect(route()).toEqual(fresh(first(19)));
  });
});

describe("maglev: ejections and zones use the level's table", () => {
  it("a level compacted over its eligible endpoints routes every key as the skipping did, with no new table; they come back to the same keys", () => {
    const clock = new ManualClock();
    const { api, resolver, route } = upstream(undefined, clock);
    resolver.push(first(20));
    const before = route();
    const down = first(11);
    const skipped = skipping(first(20), down);
    fills.mockClear();
    // Over half of the level down: override() compacts it over the 9 endpoints left.
    for (const id of down) api.override(id, "down");
    expect(api.picker.hosts.length).toBe(9);
    expect(route()).toEqual(skipped);
    for (const id of down) api.override(id, undefined);
    expect(api.picker.hosts.length).toBe(20);
    expect(route()).toEqual(before);
    clock.advance(0); // the upstream's own flush timer (rebuildDelayMs 0), set by the flips
    expect(route()).toEqual(before);
    expect(fills).toHaveBeenCalledTimes(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it("with rebuildDelayMs 0 a compacted level gets a table of its own, which moves keys of endpoints that stayed up", () => {
    const clock = new ManualClock();
    const { api, resolver, route } = upstream({ rebuildDelayMs: 0 }, clock);
    resolver.push(first(20));
    for (const id of first(10)) api.override(id, "down");
    const skipped = route();
    api.override(address(11), "down");
    expect(fills).toHaveBeenCalledTimes(2);
    const compacted = route();
    expect(compacted).toEqual(fresh(first(20).slice(11)));
    // Keys of the 9 endpoints that stayed up move too, not only those of the one that went down last.
    const onLast = skipped.filter((id) => id === address(11)).length;
    expect(moved(skipped, compacted)).toBeGreaterThan(onLast);
  });

  it("zone pickers are made from the level's table: one build, no rebuild asked for, keys of the local zone where the level's table puts them", () => {
    const clock = new ManualClock();
    const resolver = new ManualResolver();
    const api = createUpstream({
      name: "api",
      resolver,
      balancer: maglev(),
      clock,
      zone: { local: "a", minClusterSize: 1 },
    });
    open.push(api);
    const set = first(12).map((id, i) => ({ host: id.split(":")[0] as string, port: 80, zone: i < 6 ? "a" : "b" }));
    resolver.push(set);
    expect(fills).toHaveBeenCalledTimes(1);
    expect(clock.pendingTimers).toBe(0);
    const level = fresh(set.map(({ host, port }) => ({ host, port })));
    const local = KEYS.map((hash) => api.pick({ hash }).id);
    const inZone = (id: string) => Number(id.split(".")[3]?.split(":")[0]) <= 6;
    expect(local.every(inZone)).toBe(true);
    // A key the level's table gives a local endpoint stays there; the others pass to the next local entry.
    expect(local.filter((id, k) => id === level[k]).length).toBe(level.filter(inZone).length);
  });
});

describe("maglev() rebuildDelayMs option", () => {
  it("rejects anything but a number of ms from 0 to 2^31 - 1 with InvalidConfigError", () => {
    expectConfigErrors(maglev, [
      [{ rebuildDelayMs: -1 }, "rebuildDelayMs"],
      [{ rebuildDelayMs: Number.NaN }, "rebuildDelayMs"],
      [{ rebuildDelayMs: Number.POSITIVE_INFINITY }, "rebuildDelayMs"],
      [{ rebuildDelayMs: 2 ** 31 }, "rebuildDelayMs"],
      [{ rebuildDelayMs: "1000" as never }, "rebuildDelayMs"],
      [{ rebuildDelayMs: null as never }, "rebuildDelayMs"],
    ]);
    expect(() => maglev({ rebuildDelayMs: -5 })).toThrow(InvalidConfigError);
    expect(() => maglev({ rebuildDelayMs: -5 })).toThrow("rebuildDelayMs: must be a number of ms >= 0");
    for (const ms of [0, 1, 1000, 2 ** 31 - 1]) expect(maglev({ rebuildDelayMs: ms }).name).toBe("maglev");
  });
});

describe("MaglevTables within the window", () => {
  it("property: each entry of an endpoint that stays keeps it; the others go to the next entry whose endpoint stays; joiners get none", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 2, maxLength: 15 }),
        fc.array(fc.boolean(), { minLength: 15, maxLength: 15 }),
        fc.integer({ min: 0, max: 3 }),
        (weights, leaves, joiners) => {
          const pool = fixture([...weights, ...new Array(joiners).fill(50)]);
          const before = pool.hosts.slice(0, weights.length);
          const staying = before.filter((_, j) => !leaves[j]);
          fc.pre(staying.length > 0 && staying.length < before.length + joiners);
          const after = [...staying, ...pool.hosts.slice(weights.length)];
          const clock = new ManualClock();
          const requested: number[] = [];
          const base = { ...context(1, pool.table), clock, requestRebuild: (ms: number) => requested.push(ms) };
          const tables = new MaglevTables(1009, 1000);
          const table = tables.entries(before, { ...base, levelHosts: before });
          clock.advance(400);
          const entries = tables.entries(after, { ...base, levelHosts: after });
          const stays = (j: number) => after.includes(before[j] as Host);
          for (let e = 0; e < 1009; e++) {
            let from = e;
            while (!stays(table[from] as number)) from = (from + 1) % 1009;
            if (after[entries[e] as number] !== before[table[from] as number]) return false;
          }
          // The window starts at the change, not at the last build.
          return tables.builds === 1 && requested.join() === "1000";
        },
      ),
      { numRuns: 150, seed: 12 },
    );
  });
});

describe("MaglevTables with a context whose levelHosts leave the picker's hosts no entry", () => {
  it("builds a table over the picker's own hosts: every pick returns one of them", () => {
    // A table of 2 entries over 5 endpoints: at most 2 of them own an entry.
    const f = fixture([1, 1, 1, 1, 1]);
    const tables = new MaglevTables(2, 1000);
    const ctx = { ...context(1, f.table), levelHosts: f.hosts, requestRebuild: () => {} };
    const level = tables.entries(f.hosts, ctx);
    const owners = new Set(level);
    const without = f.hosts.filter((_, j) => !owners.has(j));
    const entries = tables.entries(without, ctx);
    expect([...entries].every((j) => j >= 0 && j < without.length)).toBe(true);
  });
});
