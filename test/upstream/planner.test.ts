import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EMPTY_PICKER } from "../../src/balancer.js";
import type { Balancer, BalancerContext, Endpoint, Host, Picker, PriorityOptions } from "../../src/index.js";
import {
  endpoint,
  InvalidConfigError,
  random,
  roundRobin,
  weightedRandom,
  weightedRoundRobin,
} from "../../src/index.js";
import { ManualClock, seededRandom } from "../../src/testing/index.js";
import type { HostSetChange } from "../../src/upstream/planner.js";
import { PriorityPlanner } from "../../src/upstream/planner.js";
import { priorityOptions } from "../../src/upstream/priority-options.js";
import { PriorityPicker } from "../../src/upstream/priority-picker.js";
import { hostsOf, markDown, pickIndexes, tally, weightedEndpoints } from "../helpers/picks.js";

/** A balancer that records every picker it builds, with its hosts and context. */
function recording(inner: Balancer) {
  const builds: { hosts: readonly Host[]; context: BalancerContext; picker: Picker }[] = [];
  const balancer: Balancer = {
    name: `recording-${inner.name}`,
    build(hosts, context) {
      const picker = inner.build(hosts, context);
      builds.push({ hosts, context, picker });
      return picker;
    },
  };
  return { balancer, builds };
}

/**
 * A planner over levels of the given weights (`{ 10: [1, 2], 20: [1] }`: priority 10
 * holds two endpoints, priority 20 one). `down` lists indexes into `endpoints`
 * marked down before the first rebuild.
 */
function setup(
  levels: Record<number, readonly number[]>,
  options: { balancer?: Balancer; priority?: PriorityOptions; seed?: number; down?: readonly number[] } = {},
) {
  const endpoints: Endpoint[] = Object.entries(levels).flatMap(([p, weights]) => weightedEndpoints(weights, Number(p)));
  const { table, hosts } = hostsOf(endpoints);
  const { balancer, builds } = recording(options.balancer ?? roundRobin());
  const planner = new PriorityPlanner(
    balancer,
    table,
    seededRandom(options.seed ?? 1),
    new ManualClock(),
    priorityOptions(options.priority),
  );
  for (const i of options.down ?? []) markDown(table, (hosts[i] as Host).slot, true);
  planner.rebuild(hosts);
  /** Marks endpoint i down or up in the table, as `table.refreshDown` would, and tells the planner. */
  const flip = (i: number, down: boolean): boolean => {
    const slot = (hosts[i] as Host).slot;
    markDown(table, slot, down);
    return planner.flip(slot, down);
  };
  const picks = (count: number) => pickIndexes(planner.picker, endpoints, count);
  const indexes = (picker: Picker) => picker.hosts.map((h) => endpoints.indexOf(h.endpoint));
  return { endpoints, table, hosts, planner, builds, flip, picks, indexes };
}

/** Loads of `planner.levels()`. */
const loads = (planner: PriorityPlanner) => planner.levels().map((l) => l.load);

describe("PriorityPlanner.rebuild()", () => {
  it("groups hosts by priority, leaves weight 0 out, and uses the only loaded level's picker as is", () => {
    // KrakenD's SRV example 10/1, 10/2, 20/1, plus drained endpoints (a level of them is no level).
    const p = setup({ 5: [0, 0], 10: [1, 2, 0], 20: [1] }, { balancer: weightedRoundRobin(), seed: 5 });
    expect(p.planner.levels()).toEqual([
      { priority: 10, total: 2, healthy: 2, load: 100, panic: false },
      { priority: 20, total: 1, healthy: 1, load: 0, panic: false },
    ]);
    expect(p.builds.map((b) => p.indexes(b.picker))).toEqual([[2, 3], [5]]);
    expect(p.planner.picker).toBe(p.builds[0]?.picker);
    expect(p.planner.picker).not.toBeInstanceOf(PriorityPicker);
    expect(tally(p.picks(3000), 6)).toEqual([0, 0, 1000, 2000, 0, 0]);
    // A drained endpoint belongs to no level: flipping it changes nothing.
    expect(p.flip(0, true)).toBe(false);
    expect(p.flip(4, true)).toBe(false);
    expect(p.planner.levels()[0]?.healthy).toBe(2);
  });

  it("counts hosts already down, and uses a priority picker when several levels take traffic", () => {
    // P0 50% healthy: health 70 → loads 70 / 30.
    const p = setup({ 0: new Array(10).fill(1), 1: new Array(10).fill(1) }, { seed: 8, down: [0, 1, 2, 3, 4] });
    expect(p.planner.levels()).toEqual([
      { priority: 0, total: 10, healthy: 5, load: 70, panic: false },
      { priority: 1, total: 10, healthy: 10, load: 30, panic: false },
    ]);
    expect(p.planner.picker).toBeInstanceOf(PriorityPicker);
    // 5 of 10 down is over a quarter: the picker is built over the eligible hosts only.
    expect(p.indexes(p.builds[0]?.picker as Picker)).toEqual([5, 6, 7, 8, 9]);
    const counts = tally(p.picks(100_000), 20);
    expect(counts.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
    const p0 = counts.slice(5, 10).reduce((a, b) => a + b, 0);
    expect(Math.abs(p0 - 70_000)).toBeLessThanOrEqual(6);
    expect(counts.slice(10).reduce((a, b) => a + b, 0)).toBe(100_000 - p0);
  });

  it("keeps down hosts in a picker while at most a quarter are down, and the picker skips them", () => {
    const p = setup({ 0: [1, 1, 1, 1, 1, 1, 1, 1] }, { down: [3, 6] });
    expect(p.indexes(p.builds[0]?.picker as Picker)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(p.builds[0]?.context.skipEjected).toBe(true);
    expect(tally(p.picks(60), 8)).toEqual([10, 10, 10, 0, 10, 10, 0, 10]);
  });

  it("in panic builds over every host and skips none", () => {
    // 25% healthy in both levels: health 35 each, availability 70 → 50 / 50, both in panic.
    const p = setup({ 0: [1, 1, 1, 1], 1: [1, 1, 1, 1] }, { seed: 2, down: [0, 1, 2, 4, 5, 6] });
    expect(p.planner.levels().map((l) => [l.load, l.panic])).toEqual([
      [50, true],
      [50, true],
    ]);
    expect(p.builds.map((b) => b.context.skipEjected)).toEqual([false, false]);
    for (const c of tally(p.picks(8000), 8)) expect(Math.abs(c - 1000)).toBeLessThanOrEqual(2);
  });

  it("with the panic threshold at 0, an all-down set has nothing to pick", () => {
    const p = setup({ 0: [1, 1] }, { priority: { panicThreshold: 0 }, down: [0, 1] });
    expect(p.planner.levels()).toEqual([{ priority: 0, total: 2, healthy: 0, load: 0, panic: false }]);
    expect(p.planner.picker).toBe(EMPTY_PICKER);
    expect(p.picks(3)).toEqual([-2, -2, -2]);
  });

  it("is empty over no hosts", () => {
    const p = setup({});
    expect(p.planner.levels()).toEqual([]);
    expect(p.planner.picker).toBe(EMPTY_PICKER);
  });

  it("Envoy's total panic: 5/0, 3/0, 2/0 hosts/healthy take 50 / 30 / 20 of the picks, over every host", () => {
    const p = setup({ 0: [1, 1, 1, 1, 1], 1: [1, 1, 1], 2: [1, 1] }, { seed: 3, down: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
    expect(p.planner.levels().map((l) => [l.load, l.panic])).toEqual([
      [50, true],
      [30, true],
      [20, true],
    ]);
    expect(p.planner.picker).toBeInstanceOf(PriorityPicker);
    const counts = tally(p.picks(100), 10);
    // Over 100 picks the levels take 50 / 30 / 20 give or take one (the level sequence's drift;
    // exact for a given seed, but that depends on the order of the Random's draws), round robin
    // within each level: every host, all of them down, within one pick of its level's even share.
    const levelTotals = (c: number[]) =>
      [c.slice(0, 5), c.slice(5, 8), c.slice(8)].map((l) => l.reduce((a, b) => a + b, 0));
    const split = levelTotals(counts);
    for (const [i, load] of [50, 30, 20].entries())
      expect(Math.abs((split[i] as number) - load)).toBeLessThanOrEqual(1);
    for (const [h, c] of counts.entries()) {
      const [level, size] = h < 5 ? [0, 5] : h < 8 ? [1, 3] : [2, 2];
      expect(Math.abs(c - (split[level] as number) / size)).toBeLessThan(1);
    }
    const levelsOf = levelTotals(tally(p.picks(10_000), 10));
    for (const [i, load] of [50, 30, 20].entries()) {
      expect(Math.abs((levelsOf[i] as number) - load * 100)).toBeLessThanOrEqual(6);
    }
  });
});

describe("PriorityPlanner.flip()", () => {
  it("updates healthy counts and loads in place: one of two P0 hosts down → 70 / 30", () => {
    const p = setup({ 0: [1, 1], 1: [1] }, { seed: 4 });
    const built = p.builds.length;
    expect(loads(p.planner)).toEqual([100, 0]);
    expect(p.flip(0, true)).toBe(false);
    expect(p.planner.levels()).toEqual([
      { priority: 0, total: 2, healthy: 1, load: 70, panic: false },
      { priority: 1, total: 1, healthy: 1, load: 30, panic: false },
    ]);
    expect(p.builds.length).toBe(built); // no rebuild: P0's picker skips host 0
    expect(p.planner.picker).toBeInstanceOf(PriorityPicker);
    const counts = tally(p.picks(1000), 3);
    expect(counts[0]).toBe(0);
    expect(Math.abs((counts[1] as number) - 700)).toBeLessThanOrEqual(6);
    // Back up: everything to P0 again, P0's own picker as is.
    expect(p.flip(0, false)).toBe(false);
    expect(loads(p.planner)).toEqual([100, 0]);
    expect(p.planner.picker).toBe(p.builds[0]?.picker);
    expect(p.builds.length).toBe(built);
  });

  it("returns true when over half of a picker is down, and flush() then rebuilds that level over the eligible hosts", () => {
    const p = setup({ 0: [1, 1, 1, 1], 1: [1, 1, 1, 1] }, { seed: 6 });
    const built = p.builds.length;
    expect(p.flip(0, true)).toBe(false); // 1 of 4
    expect(p.flip(1, true)).toBe(false); // 2 of 4: half, not over
    expect(p.planner.stale).toBe(false);
    expect(p.flip(2, true)).toBe(true); // 3 of 4
    expect(p.planner.stale).toBe(true);
    expect(p.builds.length).toBe(built); // deferred
    // Meanwhile the old picker skips the down hosts.
    expect(tally(p.picks(400), 8).slice(0, 3)).toEqual([0, 0, 0]);
    expect(p.planner.flush()).toBe(true);
    expect(p.builds.length).toBe(built + 1);
    expect(p.indexes(p.builds[built]?.picker as Picker)).toEqual([3]);
    expect(p.planner.stale).toBe(false);
    expect(p.planner.flush()).toBe(false); // nothing stale: nothing rebuilt
    expect(p.builds.length).toBe(built + 1);
  });

  it("returns true when a host comes back up while missing from its level's picker", () => {
    // 2 of 4 down at build: over a quarter, so the picker holds hosts 2 and 3 only.
    const p = setup({ 0: [1, 1, 1, 1] }, { down: [0, 1] });
    expect(p.indexes(p.planner.picker)).toEqual([2, 3]);
    const built = p.builds.length;
    expect(p.flip(0, false)).toBe(true);
    expect(p.builds.length).toBe(built);
    expect(tally(p.picks(20), 4)).toEqual([0, 0, 10, 10]); // not picked until the rebuild
    expect(p.planner.flush()).toBe(true);
    // 1 of 4 down now: at most a quarter, so the new picker holds every host and skips host 1.
    expect(p.indexes(p.planner.picker)).toEqual([0, 1, 2, 3]);
    expect(tally(p.picks(30), 4)).toEqual([10, 0, 10, 10]);
    // Host 1 is in the picker: its return needs no rebuild.
    expect(p.flip(1, false)).toBe(false);
    expect(tally(p.picks(40), 4)).toEqual([10, 10, 10, 10]);
  });

  it("a host in the picker going down and up again needs no rebuild", () => {
    const p = setup({ 0: [1, 1, 1, 1, 1] });
    const picker = p.planner.picker;
    expect(p.flip(2, true)).toBe(false);
    expect(tally(p.picks(40), 5)).toEqual([10, 10, 0, 10, 10]);
    expect(p.flip(2, false)).toBe(false);
    expect(tally(p.picks(50), 5)).toEqual([10, 10, 10, 10, 10]);
    expect(p.planner.picker).toBe(picker);
  });

  it("rebuilds a level at once when its panic state changes", () => {
    const p = setup({ 0: [1, 1, 1, 1] }, { seed: 7 });
    const built = p.builds.length;
    p.flip(0, true);
    p.flip(1, true); // 50% healthy: not under the threshold
    expect(p.builds.length).toBe(built);
    expect(p.flip(2, true)).toBe(false); // 25%: panic, rebuilt at once, nothing deferred
    expect(p.planner.levels()[0]).toEqual({ priority: 0, total: 4, healthy: 1, load: 100, panic: true });
    expect(p.builds.length).toBe(built + 1);
    expect(p.builds[built]?.context.skipEjected).toBe(false);
    expect(p.planner.picker).toBe(p.builds[built]?.picker);
    expect(tally(p.picks(40), 4)).toEqual([10, 10, 10, 10]); // down hosts too
    expect(p.flip(1, false)).toBe(false); // 50%: out of panic, rebuilt at once
    expect(p.planner.levels()[0]?.panic).toBe(false);
    expect(p.builds.length).toBe(built + 2);
    expect(p.builds[built + 1]?.context.skipEjected).toBe(true);
    expect(p.indexes(p.planner.picker)).toEqual([1, 3]); // 2 of 4 down: built over the eligible
    expect(tally(p.picks(40), 4)).toEqual([0, 20, 0, 20]);
  });

  it("moves traffic between levels as health changes, P0 2 hosts and P1 1 host", () => {
    const p = setup({ 0: [1, 1], 1: [1] }, { seed: 11 });
    p.flip(0, true);
    expect(loads(p.planner)).toEqual([70, 30]);
    expect(p.flip(1, true)).toBe(true); // both of P0's picker down
    expect(loads(p.planner)).toEqual([0, 100]);
    expect(p.planner.levels().map((l) => l.panic)).toEqual([false, false]);
    expect(tally(p.picks(10), 3)).toEqual([0, 0, 10]);
    expect(p.planner.flush()).toBe(true);
    expect(p.flip(1, false)).toBe(true); // P0 rebuilt over nothing: host 1 is missing from it
    expect(loads(p.planner)).toEqual([70, 30]);
    expect(p.planner.flush()).toBe(true);
    const counts = tally(p.picks(1000), 3);
    expect(counts[0]).toBe(0);
    expect(Math.abs((counts[1] as number) - 700)).toBeLessThanOrEqual(6);
  });
});

describe("PriorityPlanner.flush(true)", () => {
  it("compacts every level whose picker holds a down host, so its picker excludes them", () => {
    const p = setup({ 0: [1, 1, 1, 1, 1, 1, 1, 1], 1: [1, 1] });
    const built = p.builds.length;
    p.flip(0, true);
    p.flip(5, true);
    expect(p.planner.stale).toBe(false);
    expect(p.planner.flush()).toBe(false);
    expect(p.planner.flush(true)).toBe(true);
    expect(p.builds.length).toBe(built + 1); // P0 only: P1's picker holds no down host
    expect(p.indexes(p.planner.picker)).toEqual([1, 2, 3, 4, 6, 7]);
    expect(p.planner.flush(true)).toBe(false);
  });

  it(`lets a round robin picker pick again after it gave up on a run of down hosts`, () => {
    // 40 hosts, 16 in a row down: 40% down, under half, so nothing is due; the picker gives up on the run.
    const weights = new Array(40).fill(1);
    const p = setup({ 0: weights, 1: [1] }, { seed: 1 });
    for (let i = 0; i < 16; i++) expect(p.flip(i, true)).toBe(false);
    const picks = p.picks(200);
    expect(picks).toContain(-2);
    expect(picks.filter((i) => i >= 0 && i < 16)).toEqual([]);
    expect(p.planner.flush(true)).toBe(true);
    expect(p.picks(200)).not.toContain(-2);
  });
});

describe("priorityOptions()", () => {
  it("validates options with typed errors", () => {
    expect(priorityOptions()).toEqual({ overprovisioningFactor: 1.4, panicThreshold: 50 });
    expect(() => priorityOptions({ overprovisioningFactor: 0.5 })).toThrow(InvalidConfigError);
    expect(() => priorityOptions({ panicThreshold: 101 })).toThrow(/priority.panicThreshold/);
    expect(() => priorityOptions({ panicThreshold: Number.NaN })).toThrow(InvalidConfigError);
  });
});

describe("PriorityPlanner property", () => {
  const balancers = [roundRobin, weightedRoundRobin, random, weightedRandom];
  type Op =
    | { kind: "toggle"; host: number }
    | { kind: "down"; host: number; count: number }
    | { kind: "flush" }
    | { kind: "compact" };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 8, arbitrary: fc.nat(999).map((host) => ({ kind: "toggle" as const, host })) },
    {
      // A run of hosts going down one by one (a zone failing): round robin gives up on such runs.
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("down" as const),
        host: fc.nat(999),
        count: fc.integer({ min: 2, max: 24 }),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: "flush" as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: "compact" as const }) },
  );
  const weightArb = fc.oneof(
    { weight: 1, arbitrary: fc.constant(0) },
    { weight: 6, arbitrary: fc.integer({ min: 1, max: 60 }) },
  );

  it("property: a down host is picked only in panic, and when a pick fails with an eligible host outside panic, flush(true) makes picks succeed", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(weightArb, { minLength: 1, maxLength: 40 }), {
          minLength: 1,
          maxLength: 3,
        }),
        fc.integer({ min: 0, max: 3 }),
        fc.constantFrom(0, 30, 50),
        fc.array(opArb, { maxLength: 80 }),
        fc.integer(),
        (levelWeights, b, panicThreshold, ops, seed) => {
          const p = setup(Object.fromEntries(levelWeights.map((w, i) => [i * 10, w])), {
            balancer: (balancers[b] as () => Balancer)(),
            priority: { panicThreshold },
            seed,
          });
          const n = p.endpoints.length;
          const check = (): boolean => {
            const levels = p.planner.levels();
            const levelOf = (e: Endpoint) => levels.find((l) => l.priority === e.priority);
            // Healthy counts follow the table.
            for (const level of levels) {
              const up = p.hosts.filter(
                (h) => h.endpoint.priority === level.priority && h.endpoint.weight > 0 && p.table.down[h.slot] === 0,
              ).length;
              if (level.healthy !== up) return false;
            }
            for (let k = 0; k < 30; k++) {
              const host = p.planner.picker.pick();
              if (host !== undefined) {
                if (host.endpoint.weight === 0) return false;
                if (p.table.down[host.slot] === 1 && !levelOf(host.endpoint)?.panic) return false;
                continue;
              }
              const eligible = p.hosts.some(
                (h) => h.endpoint.weight > 0 && p.table.down[h.slot] === 0 && levelOf(h.endpoint)?.panic === false,
              );
              if (!eligible) {
                // Nothing can take traffic: every load is 0.
                if (levels.some((l) => l.load > 0)) return false;
                break;
              }
              if (!p.planner.flush(true)) return false;
              for (let j = 0; j < 20; j++) if (p.planner.picker.pick() === undefined) return false;
            }
            return true;
          };
          if (!check()) return false;
          for (const op of ops) {
            if (op.kind === "flush") p.planner.flush();
            else if (op.kind === "compact") p.planner.flush(true);
            else if (op.kind === "toggle") {
              const slot = (p.hosts[op.host % n] as Host).slot;
              p.flip(op.host % n, p.table.down[slot] === 0);
            } else {
              for (let k = 0; k < Math.min(op.count, n); k++) {
                const i = (op.host + k) % n;
                if (p.table.down[(p.hosts[i] as Host).slot] === 0) p.flip(i, true);
              }
            }
            if (!check()) return false;
          }
          return true;
        },
      ),
      { numRuns: 600, seed: 8128 },
    );
  });
});

describe("PriorityPlanner.update()", () => {
  /**
   * A change of `p`'s hosts as the upstream makes one: `add` new endpoints (a
   * slot each), `remove` indexes into `p.hosts`, `change` index → new
   * endpoint (the host keeps its slot). Returns the change after `p.hosts`
   * is updated to the new set, sorted by id.
   */
  function change(
    p: ReturnType<typeof setup>,
    edit: { add?: readonly Endpoint[]; remove?: readonly number[]; change?: ReadonlyMap<number, Endpoint> },
  ): HostSetChange {
    const left = (edit.remove ?? []).map((i) => p.hosts[i] as Host);
    const leftDown = left.map((h) => p.table.down[h.slot] === 1);
    for (const h of left) p.table.release(h.slot);
    const changed: Host[] = [];
    const before: Endpoint[] = [];
    for (const [i, e] of edit.change ?? []) {
      const h = p.hosts[i] as Host & { endpoint: Endpoint };
      before.push(h.endpoint);
      h.endpoint = e;
      changed.push(h);
    }
    const joined = (edit.add ?? []).map((e) => ({ endpoint: e, slot: p.table.allocate(e.weight, 0) }));
    const hosts = [...p.hosts.filter((h) => !left.includes(h)), ...joined].sort((a, b) =>
      a.endpoint.id < b.endpoint.id ? -1 : 1,
    );
    p.hosts.splice(0, p.hosts.length, ...hosts);
    return { hosts, joined, left, leftDown, changed, before };
  }
  const at = (priority: number, n: number, weight = 1) =>
    endpoint({ host: `10.0.${priority}.${n}`, port: 80, weight, priority });

  it("rebuilds only the level a change touches; the others keep their pickers", () => {
    const p = setup({ 0: [1, 1, 1, 1, 1, 1, 1, 1], 1: [1, 1, 1, 1, 1, 1, 1, 1] });
    const first = p.builds.map((b) => b.picker);
    // An endpoint joins level 1, one of level 1 changes weight: level 0 is not rebuilt.
    p.planner.update(change(p, { add: [at(1, 9)], change: new Map([[8, at(1, 1, 5)]]) }));
    expect(p.builds).toHaveLength(3);
    expect(p.builds[2]?.hosts.map((h) => h.endpoint.id)).toEqual([
      "10.0.1.1:80",
      "10.0.1.2:80",
      "10.0.1.3:80",
      "10.0.1.4:80",
      "10.0.1.5:80",
      "10.0.1.6:80",
      "10.0.1.7:80",
      "10.0.1.8:80",
      "10.0.1.9:80",
    ]);
    expect(p.planner.levels().map((l) => [l.total, l.healthy])).toEqual([
      [8, 8],
      [9, 9],
    ]);
    expect(p.planner.picker).toBe(first[0]); // level 0 takes all the load, with its picker of before
  });

  it("moves hosts between levels, and out of them at weight 0, with the healthy counts of the hosts that move", () => {
    const p = setup({ 0: new Array(9).fill(1), 1: new Array(9).fill(1), 2: new Array(9).fill(1) }, { down: [0, 9] });
    expect(p.planner.levels().map((l) => l.healthy)).toEqual([8, 8, 9]);
    // 10.0.0.1 (down) goes to priority 2; 10.0.1.1 (down) to weight 0; 10.0.2.2 (up) leaves; 10.0.0.2 (up) leaves.
    const moved = change(p, {
      change: new Map([
        [0, endpoint({ host: "10.0.0.1", port: 80, weight: 1, priority: 2 })],
        [9, at(1, 1, 0)],
      ]),
      remove: [19, 1],
    });
    expect(moved.leftDown).toEqual([false, false]);
    p.planner.update(moved);
    expect(p.planner.levels().map((l) => [l.priority, l.total, l.healthy])).toEqual([
      [0, 7, 7],
      [1, 8, 8],
      [2, 9, 8],
    ]);
    expect(p.builds).toHaveLength(6); // the three levels were built, then each once again
    const slot = (id: string) => (p.hosts.find((h) => h.endpoint.id === id) as Host).slot;
    expect(p.table.level[slot("10.0.0.1:80")]).toBe(2);
    expect(p.table.level[slot("10.0.1.1:80")]).toBe(-1);
    // The down host now in level 2 is still skipped; the one at weight 0 is in no picker.
    expect(p.table.inPicker[slot("10.0.1.1:80")]).toBe(0);
    expect(p.planner.flip(slot("10.0.1.1:80"), false)).toBe(false);
  });

  it("a host that leaves while down takes nothing from its level's healthy count", () => {
    const p = setup({ 0: new Array(9).fill(1) }, { down: [4] });
    p.planner.update(change(p, { remove: [4] }));
    expect(p.planner.levels()).toEqual([{ priority: 0, total: 8, healthy: 8, load: 100, panic: false }]);
  });

  it("rebuilds a level the change leaves alone when its panic state changes", () => {
    // P0: 2 of 8 healthy (health 35); P1: 4 of 8 (health 70): together 105, healthy enough, no panic.
    const p = setup({ 0: new Array(8).fill(1), 1: new Array(8).fill(1) }, { down: [0, 1, 2, 3, 4, 5, 8, 9, 10, 11] });
    expect(p.planner.levels().map((l) => l.panic)).toEqual([false, false]);
    expect(p.builds.map((b) => [b.hosts.length, b.context.skipEjected])).toEqual([
      [2, true],
      [4, true],
    ]);
    // One of P1's healthy hosts leaves: P1 is 3 of 7 (health 60), 95 in all: every level in panic, and P0,
    // which the change leaves alone, is rebuilt over every host.
    p.planner.update(change(p, { remove: [15] }));
    expect(p.planner.levels().map((l) => l.panic)).toEqual([true, true]);
    expect(p.builds.slice(2).map((b) => [b.hosts.length, b.context.skipEjected])).toEqual([
      [8, false],
      [7, false],
    ]);
  });

  it("regroups when a level appears or empties, or a change touches over an eighth of the hosts", () => {
    const p = setup({ 0: new Array(9).fill(1), 1: new Array(9).fill(1) });
    p.planner.update(change(p, { add: [at(5, 1)] })); // a new priority
    expect(p.builds).toHaveLength(5);
    expect(p.planner.levels().map((l) => l.priority)).toEqual([0, 1, 5]);
    p.planner.update(change(p, { remove: [18] })); // the level of priority 5 empties
    expect(p.builds).toHaveLength(7);
    expect(p.planner.levels().map((l) => l.priority)).toEqual([0, 1]);
    p.planner.update(change(p, { change: new Map([0, 1, 2].map((i) => [i, at(0, i + 1, 3)])) })); // 3 of 18
    expect(p.builds).toHaveLength(9);
  });

  it("regroups when the change does not agree with the levels held", () => {
    const p = setup({ 0: new Array(9).fill(1) });
    const stranger = { endpoint: at(0, 3), slot: p.table.allocate(1, 0) }; // not the host of 10.0.0.3
    p.planner.update({ hosts: p.hosts, joined: [], left: [stranger], leftDown: [false], changed: [], before: [] });
    expect(p.builds).toHaveLength(2);
    expect(p.planner.levels()).toEqual([{ priority: 0, total: 9, healthy: 9, load: 100, panic: false }]);
  });
});
