import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sameEndpoint } from "../src/endpoint.js";
import type { Endpoint, EndpointsDelta } from "../src/index.js";
import { endpoint, InvalidArgumentError, InvalidEndpointError, ResolverError } from "../src/index.js";
import { endpointsDelta, normalizeEndpoints } from "../src/resolver.js";
import { ManualResolver } from "../src/testing/index.js";
import { thrown } from "./helpers/errors.js";

describe("Resolver events", () => {
  it("emits endpoints only on a change, and resolved on every success, after endpoints", () => {
    const resolver = new ManualResolver();
    const seen: string[] = [];
    resolver.on("endpoints", (set) => seen.push(`endpoints ${set.map((e) => e.id).join(",")}`));
    resolver.on("resolved", (set, changed) => seen.push(`resolved ${set.map((e) => e.id).join(",")} ${changed}`));
    resolver.on("error", (e) => seen.push(`error ${e.message}`));

    resolver.push(["10.0.0.2:80", "10.0.0.1:80"]);
    resolver.error(new ResolverError("manual", "down"));
    resolver.push(["10.0.0.1:80", "10.0.0.2:80"]);
    resolver.push(["10.0.0.1:80"]);

    expect(seen).toEqual([
      "endpoints 10.0.0.1:80,10.0.0.2:80",
      "resolved 10.0.0.1:80,10.0.0.2:80 true",
      "error manual: down",
      "resolved 10.0.0.1:80,10.0.0.2:80 false",
      "endpoints 10.0.0.1:80",
      "resolved 10.0.0.1:80 true",
    ]);
  });

  it("an unchanged success hands listeners the set in force", () => {
    const resolver = new ManualResolver();
    resolver.push(["10.0.0.1:80"]);
    const current = resolver.endpoints;
    let got: readonly Endpoint[] | undefined;
    resolver.on("resolved", (set) => {
      got = set;
    });
    resolver.push(["10.0.0.1:80"]);
    expect(got).toBe(current);
  });

  it("emits nothing after close()", async () => {
    const resolver = new ManualResolver();
    let events = 0;
    resolver.on("resolved", () => events++);
    await resolver.close();
    expect(resolver.push(["10.0.0.1:80"])).toBe(false);
    expect(events).toBe(0);
  });
});

describe("the delta with every set after the first", () => {
  it("publish() hands listeners exactly what differs from the previous set; the first set comes without one", () => {
    const resolver = new ManualResolver();
    const deltas: (EndpointsDelta | undefined)[] = [];
    resolver.on("endpoints", (_set, delta) => deltas.push(delta));
    resolver.push(["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"]);
    resolver.push(["10.0.0.4:80", { host: "10.0.0.2", port: 80, weight: 7 }, "10.0.0.1:80"]);
    resolver.push(["10.0.0.4:80", { host: "10.0.0.2", port: 80, weight: 7 }, "10.0.0.1:80"]); // the same: no event
    expect(deltas).toHaveLength(2);
    expect(deltas[0]).toBeUndefined();
    expect(deltas[1]?.upserts.map((e) => `${e.id}/${e.weight}`)).toEqual(["10.0.0.2:80/7", "10.0.0.4:80/100"]);
    expect(deltas[1]?.removals).toEqual(["10.0.0.3:80"]);
    expect(Object.isFrozen(deltas[1])).toBe(true);
  });

  it("endpointsDelta: applied to the previous set it gives the next, and it is empty only for equal sets (property)", () => {
    const entry = fc
      .record({ n: fc.integer({ min: 0, max: 20 }), weight: fc.integer({ min: 0, max: 3 }), v2: fc.boolean() })
      .map((r) => endpoint({ host: `h${r.n}`, port: 80, weight: r.weight, tags: r.v2 ? ["v2"] : [] }));
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 15 }), fc.array(entry, { maxLength: 15 }), (a, b) => {
        const previous = normalizeEndpoints(a);
        const next = normalizeEndpoints(b);
        const delta = endpointsDelta(previous, next);
        const same = previous.length === next.length && previous.every((e, i) => sameEndpoint(e, next[i] as Endpoint));
        expect(delta === undefined).toBe(same);
        const applied = new Map(previous.map((e) => [e.id, e]));
        for (const id of delta?.removals ?? []) applied.delete(id);
        for (const e of delta?.upserts ?? []) {
          expect(applied.has(e.id) && sameEndpoint(applied.get(e.id) as Endpoint, e)).toBe(false); // only real changes
          applied.set(e.id, e);
        }
        expect([...applied.values()].sort((x, y) => (x.id < y.id ? -1 : 1))).toEqual(next);
      }),
      { seed: 11, numRuns: 500 },
    );
  });
});

describe("normalizeEndpoints() (every resolver's publish())", () => {
  it("a list sorted by id with each id once comes back as it is, in a frozen copy", () => {
    const list = [endpoint("a:1"), endpoint("b:1"), endpoint("c:1")];
    const out = normalizeEndpoints(list);
    expect(out).not.toBe(list);
    expect(out).toEqual(list);
    expect(out.every((e, i) => e === list[i])).toBe(true);
    expect(Object.isFrozen(out)).toBe(true);
  });

  const e = (host: string, weight: number, priority = 0, extra: object = {}) =>
    endpoint({ host, port: 80, weight, priority, ...extra });

  it("sorts by id and keeps endpoints without duplicates as they are", () => {
    const a = e("a", 1);
    const b = e("b", 2);
    const out = normalizeEndpoints([b, a]);
    expect(out).toEqual([a, b]);
    expect(out[0]).toBe(a);
    expect(Object.isFrozen(out)).toBe(true);
  });

  it("adds the weights of duplicates at the same priority (RFC 2782: each record is its own choice)", () => {
    const out = normalizeEndpoints([e("a", 10), e("b", 10), e("a", 10)]);
    expect(out.map((x) => [x.id, x.weight])).toEqual([
      ["a:80", 20],
      ["b:80", 10],
    ]);
    expect(Object.isFrozen(out[0])).toBe(true);
  });

  it("keeps only the lowest priority of an id: a fallback entry adds nothing", () => {
    const out = normalizeEndpoints([e("a", 5, 1), e("a", 1, 0), e("a", 9, 0)]);
    expect(out.map((x) => [x.id, x.priority, x.weight])).toEqual([["a:80", 0, 10]]);
  });

  it("caps a sum at 65535", () => {
    expect(normalizeEndpoints([e("a", 40000), e("a", 40000)])[0]?.weight).toBe(65535);
  });

  it("never throws on duplicates that differ in other fields, and picks their fields by a fixed rule", () => {
    const http = e("a", 1, 0, { hostname: "y.test" });
    const https = e("a", 2, 0, { scheme: "https", hostname: "x.test" });
    const one = normalizeEndpoints([http, https]);
    const two = normalizeEndpoints([https, http]);
    expect(one).toEqual(two);
    expect(one.map((x) => [x.id, x.weight, x.scheme, x.hostname])).toEqual([["a:80", 3, "http", "y.test"]]);
  });

  it("property: the result does not depend on list order and normalizing twice changes nothing", () => {
    const entry = fc
      .record({
        host: fc.constantFrom("a", "b", "c"),
        weight: fc.integer({ min: 0, max: 40_000 }),
        priority: fc.integer({ min: 0, max: 2 }),
        scheme: fc.constantFrom("http", "https"),
        zone: fc.option(fc.constantFrom("z1", "z2"), { nil: undefined }),
        tags: fc.constantFrom([], ["v1"], ["v2"]),
      })
      .map((r) => endpoint({ ...r, port: 80 }));
    fc.assert(
      fc.property(
        fc
          .array(entry, { maxLength: 12 })
          .chain((list) => fc.tuple(fc.constant(list), fc.shuffledSubarray(list, { minLength: list.length }))),
        ([list, shuffled]) => {
          const out = normalizeEndpoints(list);
          expect(normalizeEndpoints(shuffled)).toEqual(out);
          expect(normalizeEndpoints(out)).toEqual(out);
          for (const x of out) {
            const same = list.filter((y) => y.id === x.id);
            const lowest = Math.min(...same.map((y) => y.priority));
            expect(x.priority).toBe(lowest);
            const sum = same.filter((y) => y.priority === lowest).reduce((s, y) => s + y.weight, 0);
            expect(x.weight).toBe(Math.min(65535, sum));
          }
        },
      ),
      { seed: 7, numRuns: 500 },
    );
  });
});

describe("ManualResolver.push()", () => {
  it("a list that is not an array throws InvalidArgumentError and pushes nothing", () => {
    const resolver = new ManualResolver();
    resolver.push(["10.0.0.1:80"]);
    const before = resolver.endpoints;
    for (const bad of ["10.0.0.2:80", undefined, null, { length: 0 }]) {
      const error = thrown(() => resolver.push(bad as never));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).argument).toBe("endpoints");
    }
    expect(resolver.endpoints).toBe(before);
  });

  it("a hole, a bad entry or a scheme clash throws InvalidEndpointError naming the index, and pushes nothing", () => {
    const resolver = new ManualResolver();
    resolver.push(["10.0.0.1:80"]);
    const before = resolver.endpoints;
    // biome-ignore lint/suspicious/noSparseArray: the sparse array is the input under test
    expect(thrown(() => resolver.push([, "10.0.0.2:80"] as never)).message).toMatch(/^endpoints\[0\]: /);
    expect(thrown(() => resolver.push(["10.0.0.2:80", "10.1:80"])).message).toMatch(/^endpoints\[1\]: invalid IPv4/);
    const clash = thrown(() => resolver.push(["http://10.0.0.2:80", "https://10.0.0.2:80"]));
    expect(clash).toBeInstanceOf(InvalidEndpointError);
    expect(clash.message).toMatch(/^endpoints\[0\] .* and endpoints\[1\] .* differ in scheme/);
    expect(resolver.endpoints).toBe(before);
  });

  it("duplicates add their weights, as in a static list", () => {
    const resolver = new ManualResolver();
    resolver.push(["10.0.0.1:80", "10.0.0.1:80", "10.0.0.2:80"]);
    expect(resolver.endpoints?.map((x) => [x.id, x.weight])).toEqual([
      ["10.0.0.1:80", 200],
      ["10.0.0.2:80", 100],
    ]);
  });
});
