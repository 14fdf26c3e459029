import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Endpoint, EndpointsChange, UpstreamPlugin } from "../../src/index.js";
import { createUpstream, InvalidArgumentError, roundRobin } from "../../src/index.js";
import { ManualClock, ManualResolver, seededRandom } from "../../src/testing/index.js";

function setup(filter?: (e: Endpoint) => boolean) {
  const resolver = new ManualResolver();
  const log: string[] = [];
  const plugin: UpstreamPlugin = {
    name: "log",
    attach() {},
    onJoin: (h) => log.push(`join ${h.endpoint.id}`),
    onLeave: (h) => log.push(`leave ${h.endpoint.id}`),
  };
  let filtered = 0;
  const upstream = createUpstream({
    name: "api",
    resolver,
    clock: new ManualClock(),
    random: seededRandom(1),
    balancer: roundRobin(),
    plugins: [plugin],
    ...(filter === undefined
      ? {}
      : {
          filter: (e: Endpoint) => {
            filtered++;
            return filter(e);
          },
        }),
  });
  const changes: EndpointsChange[] = [];
  upstream.on("endpoints", (c) => changes.push(c));
  return { resolver, upstream, log, changes, filtered: () => filtered };
}

const ids = (list: readonly Endpoint[]) => list.map((e) => `${e.id}/${e.weight}`);

describe("resolver deltas (publishChanges) and the upstream's O(changed) apply", () => {
  it("applies joins, leaves and changes, keeping the state of endpoints that stay", () => {
    const { resolver, upstream, log, changes } = setup();
    resolver.push(["a:1", "b:1", "c:1"]);
    upstream.report(upstream.endpoints[1] as Endpoint, { status: 500 });
    let delta: unknown;
    resolver.on("endpoints", (_set, d) => {
      delta = d;
    });
    expect(resolver.change([{ host: "d", port: 1 }, { host: "a", port: 1, weight: 7 }, "b:1"], ["c:1", "zz:1"])).toBe(
      true,
    );
    // b:1 is unchanged and zz:1 was never there: neither is in the delta.
    expect(delta).toEqual({
      upserts: [expect.objectContaining({ id: "a:1", weight: 7 }), expect.objectContaining({ id: "d:1" })],
      removals: ["c:1"],
    });
    expect(ids(upstream.endpoints)).toEqual(["a:1/7", "b:1/100", "d:1/100"]);
    expect(ids(resolver.endpoints ?? [])).toEqual(["a:1/7", "b:1/100", "d:1/100"]);
    expect(upstream.stats("b:1")?.failures).toBe(1);
    expect(log).toEqual(["join a:1", "join b:1", "join c:1", "leave c:1", "join d:1"]);
    const last = changes.at(-1) as EndpointsChange;
    expect(ids(last.added)).toEqual(["d:1/100"]);
    expect(ids(last.removed)).toEqual(["c:1/100"]);
    expect(ids(last.updated)).toEqual(["a:1/7"]);
    expect(upstream.picker.hosts.map((h) => h.endpoint.id).sort()).toEqual(["a:1", "b:1", "d:1"]);
  });

  it("a change that changes nothing emits nothing but `resolved`; before any set, upserts are the set", () => {
    const { resolver, upstream, changes } = setup();
    expect(resolver.change(["b:1", "a:1"])).toBe(true);
    expect(ids(upstream.endpoints)).toEqual(["a:1/100", "b:1/100"]);
    let resolved = 0;
    resolver.on("resolved", () => resolved++);
    expect(resolver.change(["a:1"], ["x:1"])).toBe(false);
    expect(resolved).toBe(1);
    expect(changes).toHaveLength(1);
  });

  it("runs the filter on the changed endpoints only, and drops an endpoint that no longer passes it", () => {
    const { resolver, upstream, filtered } = setup((e) => !e.tags.includes("canary"));
    resolver.push(Array.from({ length: 1000 }, (_, i) => `10.0.${i >> 8}.${i & 255}:80`));
    expect(filtered()).toBe(1000);
    resolver.change([{ host: "10.0.0.7", port: 80, tags: ["canary"] }, "10.9.9.9:80"]);
    expect(filtered()).toBe(1002);
    expect(upstream.endpoints).toHaveLength(1000);
    expect(upstream.endpoints.some((e) => e.id === "10.0.0.7:80")).toBe(false);
    expect(upstream.endpoints.some((e) => e.id === "10.9.9.9:80")).toBe(true);
  });

  it("a whole set reaches the upstream as its delta too: the filter runs on the changed endpoints only", () => {
    const { resolver, upstream, changes, filtered } = setup((e) => e.weight !== 3);
    const list = Array.from({ length: 1000 }, (_, i) => `10.0.${i >> 8}.${i & 255}:80`);
    resolver.push(list);
    expect(filtered()).toBe(1000);
    const kept = list.filter((id) => id !== "10.0.0.0:80" && id !== "10.0.0.5:80");
    resolver.push([...kept, { host: "10.0.0.5", port: 80, weight: 3 }, "10.9.9.9:80"]);
    expect(filtered()).toBe(1002);
    expect(upstream.endpoints).toHaveLength(999); // 10.0.0.0 left, 10.0.0.5 filtered out, 10.9.9.9 joined
    const last = changes.at(-1) as EndpointsChange;
    expect(ids(last.removed)).toEqual(["10.0.0.0:80/100", "10.0.0.5:80/100"]);
    expect(ids(last.added)).toEqual(["10.9.9.9:80/100"]);
  });

  it("gives the same upstream as a new one over the same set, for any sequence of changes, whole sets and overrides (property)", () => {
    // Sets of up to 31 endpoints over three priorities and three zones (with zone affinity), weights 0..5, some
    // taken down by an override: each step's upstream (levels touched edited in place, the others kept) is
    // compared with a new upstream made over the same set and overrides (every level built from scratch).
    const id = fc.integer({ min: 0, max: 30 }).map((n) => `h${n}:1`);
    const upsert = fc.record({
      id,
      weight: fc.integer({ min: 0, max: 5 }),
      priority: fc.integer({ min: 0, max: 2 }),
      zone: fc.constantFrom("a", "b", undefined),
    });
    type Upsert = typeof upsert extends fc.Arbitrary<infer T> ? T : never;
    const step = fc.oneof(
      fc.record({
        // One upsert per id in a step (ManualResolver.change() adds the weights of a repeated id, as push() does).
        upserts: fc.uniqueArray(upsert, { maxLength: 6, selector: (u) => u.id }),
        removals: fc.array(id, { maxLength: 6 }),
      }),
      fc.record({ whole: fc.uniqueArray(upsert, { maxLength: 31, selector: (u) => u.id }) }),
      fc.record({ down: id, on: fc.boolean() }),
    );
    const input = (u: Upsert) => ({
      host: u.id.split(":")[0] as string,
      port: 1,
      weight: u.weight,
      priority: u.priority,
      ...(u.zone === undefined ? {} : { zone: u.zone }),
    });
    const zone = { local: "a", minClusterSize: 1 };
    const make = () => {
      const resolver = new ManualResolver();
      const upstream = createUpstream({
        name: "api",
        resolver,
        clock: new ManualClock(),
        random: seededRandom(1),
        balancer: roundRobin(),
        zone,
      });
      return { resolver, upstream };
    };
    // What a picker can give: its hosts that are up, and in a level in panic all of them.
    const reachable = (u: ReturnType<typeof make>["upstream"]) => {
      const snapshot = u.snapshot();
      const panic = new Set(snapshot.levels.filter((l) => l.panic).map((l) => l.priority));
      const down = new Set(snapshot.endpoints.filter((e) => e.health === "UNHEALTHY").map((e) => e.endpoint.id));
      return u.picker.hosts
        .filter((h) => panic.has(h.endpoint.priority) || !down.has(h.endpoint.id))
        .map((h) => h.endpoint.id)
        .sort();
    };
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 14 }), (steps) => {
        const byDelta = make();
        for (const s of steps) {
          if ("upserts" in s) byDelta.resolver.change(s.upserts.map(input), s.removals);
          else if ("whole" in s) byDelta.resolver.push(s.whole.map(input));
          else byDelta.upstream.override(s.down, s.on ? "down" : undefined);
          const fresh = make();
          fresh.resolver.push([...(byDelta.resolver.endpoints ?? [])]);
          for (const e of byDelta.upstream.snapshot().endpoints) {
            if (e.override === "down") fresh.upstream.override(e.endpoint.id, "down");
          }
          const a = byDelta.upstream.snapshot();
          const b = fresh.upstream.snapshot();
          expect(ids(byDelta.upstream.endpoints)).toEqual(ids(fresh.upstream.endpoints));
          expect(a.weight).toEqual(b.weight);
          expect(a.levels).toEqual(b.levels);
          expect(reachable(byDelta.upstream)).toEqual(reachable(fresh.upstream));
          void fresh.upstream.close();
        }
        void byDelta.upstream.close();
      }),
      { numRuns: 400 },
    );
  });

  it("ManualResolver.change() refuses removals that are not ids", () => {
    const resolver = new ManualResolver();
    expect(() => resolver.change([], [1 as unknown as string])).toThrow(InvalidArgumentError);
    expect(() => resolver.change([], "a:1" as unknown as string[])).toThrow(InvalidArgumentError);
  });
});
