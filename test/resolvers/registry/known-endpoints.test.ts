import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sameEndpoint } from "../../../src/endpoint.js";
import type { Endpoint, EndpointInput } from "../../../src/index.js";
import { endpoint } from "../../../src/index.js";
import { InstanceList } from "../../../src/resolvers/registry/instances.js";
import { equalsInput, inputId } from "../../../src/resolvers/registry/known-endpoints.js";

// Hosts in normal form and not (case, brackets, IPv6 spellings, a trailing dot), and some that are no host.
const host = fc.constantFrom(
  "10.0.0.1",
  "10.0.0.2",
  "api.internal",
  "API.internal",
  "api.internal.",
  "::1",
  "0::1",
  "[::1]",
  "fe80::1",
  "FE80::1",
  "10.1",
  "",
  " 10.0.0.1",
);
const strings = fc.constantFrom("a", "b", "v2");
/** Fields of an input as a registry parser builds one: valid or not. */
const fields = {
  host,
  port: fc.constantFrom(80, 8080, 0, 70_000, 80.5, "80" as unknown as number),
  weight: fc.constantFrom(0, 1, 100, 65_536, -0, null as unknown as number),
  priority: fc.constantFrom(0, 1, 2, -1),
  scheme: fc.constantFrom("http", "https", "HTTP", "h t"),
  hostname: fc.constantFrom("api.test", null as unknown as string),
  zone: fc.constantFrom("z1", "z2", 3 as unknown as string),
  tags: fc.oneof(
    fc.array(strings, { maxLength: 3 }),
    fc.constant([1] as unknown as string[]),
    fc.constant(null as unknown as string[]),
  ),
  metadata: fc.oneof(
    fc.dictionary(strings, strings, { maxKeys: 3 }),
    fc.constant(JSON.parse('{"__proto__":"x"}') as Record<string, string>),
    fc.constant({ a: 1 } as unknown as Record<string, string>),
    fc.constant(new Map() as unknown as Record<string, string>),
    fc.constant(null as unknown as Record<string, string>),
  ),
};
/** An input: any of the fields present, valid or not. */
const input: fc.Arbitrary<EndpointInput> = fc
  .record(fields, { requiredKeys: ["host", "port"] })
  .map((r) => r as EndpointInput);
/** An input endpoint() takes (some fields absent, some hosts not in normal form). */
const valid: fc.Arbitrary<EndpointInput> = fc
  .record(
    {
      host: fc.constantFrom(
        "10.0.0.1",
        "api.internal",
        "API.internal",
        "api.internal.",
        "::1",
        "0::1",
        "[::1]",
        "FE80::1",
      ),
      port: fc.constantFrom(80, 8080),
      weight: fc.constantFrom(0, 1, 100),
      priority: fc.constantFrom(0, 1),
      scheme: fc.constantFrom("http", "HTTPS"),
      hostname: fc.constant("api.test"),
      zone: fc.constantFrom("z1", "z2"),
      tags: fc.array(strings, { maxLength: 3 }),
      metadata: fc.oneof(
        fc.dictionary(strings, strings, { maxKeys: 3 }),
        fc.constant(JSON.parse('{"__proto__":"x"}') as Record<string, string>),
      ),
    },
    { requiredKeys: ["host", "port"] },
  )
  .map((r) => r as EndpointInput);
/** A change to an input: one field replaced (by any value, valid or not), or left out, or none. */
const mutation: fc.Arbitrary<{ key?: string; value?: unknown; drop?: boolean }> = fc.oneof(
  ...Object.entries(fields).map(([key, value]) => value.map((v: unknown) => ({ key, value: v }))),
  fc
    .constantFrom("host", "port", "weight", "priority", "scheme", "hostname", "zone", "tags", "metadata")
    .map((key) => ({ key, drop: true })),
  fc.constant({}),
);

/** `endpoint(i, { scheme })`, or undefined when it throws. */
function built(i: EndpointInput, scheme = "http"): Endpoint | undefined {
  try {
    return endpoint(i, { scheme });
  } catch {
    return undefined;
  }
}

/** An input that spells out every field of `e` (copies of its tags and metadata). */
function inputOf(e: Endpoint): EndpointInput {
  const i: EndpointInput = {
    host: e.host,
    port: e.port,
    weight: e.weight,
    priority: e.priority,
    scheme: e.scheme,
    tags: [...e.tags],
    metadata: JSON.parse(JSON.stringify(e.metadata)) as Record<string, string>,
  };
  if (e.hostname !== undefined) i.hostname = e.hostname;
  if (e.zone !== undefined) i.zone = e.zone;
  return i;
}

describe("equalsInput(): an endpoint already built stands for an input only when endpoint() would build its equal", () => {
  it("true implies endpoint(input) builds an equal endpoint (property)", () => {
    // The inputs compared: an endpoint's own fields with some left out and some replaced, so both answers come up.
    fc.assert(
      fc.property(
        valid,
        fc.array(mutation, { maxLength: 2 }),
        fc.constantFrom("http", "https"),
        (b, changes, scheme) => {
          const e = built(b, scheme);
          if (e === undefined) return;
          const a: Record<string, unknown> = { ...inputOf(e) };
          for (const c of changes) {
            if (c.key === undefined) continue;
            if (c.drop) delete a[c.key];
            else a[c.key] = c.value;
          }
          const i = a as unknown as EndpointInput;
          if (!equalsInput(e, i, scheme)) return;
          const fresh = built(i, scheme);
          expect(fresh).toBeDefined();
          expect(sameEndpoint(fresh as Endpoint, e)).toBe(true);
          expect(inputId(i)).toBe(e.id);
        },
      ),
      { seed: 5, numRuns: 5_000 },
    );
  });

  it("is true for an input that spells out the endpoint's fields, and inputId() is its id (property)", () => {
    fc.assert(
      fc.property(fc.oneof(valid, input), (b) => {
        const e = built(b);
        if (e === undefined) return;
        const endpoint = e as Endpoint;
        expect(equalsInput(endpoint, inputOf(endpoint), "http")).toBe(true);
        expect(inputId(inputOf(endpoint))).toBe(endpoint.id);
      }),
      { seed: 6, numRuns: 2_000 },
    );
  });

  it("absent fields stand for the defaults: weight 100, priority 0, the scheme given, no tags, no metadata", () => {
    const e = endpoint({ host: "10.0.0.1", port: 80 }, { scheme: "https" });
    expect(equalsInput(e, { host: "10.0.0.1", port: 80 }, "https")).toBe(true);
    expect(equalsInput(e, { host: "10.0.0.1", port: 80 }, "http")).toBe(false);
    expect(equalsInput(e, { host: "10.0.0.1", port: 80, tags: [], metadata: {} }, "https")).toBe(true);
    expect(equalsInput(e, { host: "10.0.0.1", port: 80, metadata: { a: "b" } }, "https")).toBe(false);
    // Not normalized first: an input that builds the same endpoint in another spelling is built again.
    expect(equalsInput(e, { host: "010.0.0.1", port: 80 }, "https")).toBe(false);
    expect(inputId({ host: "::1", port: 80 })).toBe("[::1]:80");
    expect(inputId({ host: 1 as unknown as string, port: 80 })).toBeUndefined();
  });
});

describe("InstanceList with the endpoints of the previous answer", () => {
  const list = (known?: InstanceList["result"] extends () => infer R ? R : never) =>
    new InstanceList("http", (i) => `entry ${i}`, known?.known);
  const answer = (inputs: readonly EndpointInput[], known?: ReturnType<InstanceList["result"]>) => {
    const l = list(known);
    inputs.forEach((x, i) => {
      l.add(i, x);
    });
    return l.result();
  };
  const inputs = (weights: readonly number[]) =>
    weights.map((weight, i) => ({ host: `10.0.0.${i + 1}`, port: 80, weight, tags: ["v2"] }));

  it("reuses an unchanged instance's endpoint, at its place or elsewhere, and builds a changed one", () => {
    const first = answer(inputs([1, 2, 3, 4]));
    const next = inputs([1, 2, 9, 4]);
    const second = answer([next[3], next[0], next[1], next[2]] as EndpointInput[], first);
    expect(second.endpoints.map((e) => e.id)).toEqual(["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:80"]);
    expect(second.endpoints.map((e, i) => e === first.endpoints[i])).toEqual([true, true, false, true]);
    expect(second.endpoints[2]?.weight).toBe(9);
  });

  it("comes out sorted by id: in the previous order when the ids are the same, else sorted afresh", () => {
    const first = answer([
      { host: "10.0.0.9", port: 80 },
      { host: "10.0.0.10", port: 80 },
    ]);
    expect(first.endpoints.map((e) => e.id)).toEqual(["10.0.0.10:80", "10.0.0.9:80"]);
    expect(first.known.ordered).toBe(first.endpoints);
    const same = answer(
      [
        { host: "10.0.0.9", port: 80, weight: 5 },
        { host: "10.0.0.10", port: 80 },
      ],
      first,
    );
    expect(same.endpoints.map((e) => `${e.id}/${e.weight}`)).toEqual(["10.0.0.10:80/100", "10.0.0.9:80/5"]);
    const other = answer(
      [
        { host: "10.0.0.9", port: 80 },
        { host: "10.0.0.1", port: 80 },
      ],
      first,
    );
    expect(other.endpoints.map((e) => e.id)).toEqual(["10.0.0.1:80", "10.0.0.9:80"]);
  });

  it("drops duplicates and bad entries as without it", () => {
    const first = answer(inputs([1, 2]));
    const l = list(first);
    l.add(0, { host: "10.0.0.1", port: 80, weight: 1, tags: ["v2"] });
    l.add(1, { host: "10.0.0.1", port: 80, weight: 3, tags: ["v2"] }); // a duplicate with the higher weight
    l.add(2, { host: "10.0.0.2", port: 0 });
    const out = l.result();
    expect(out.endpoints.map((e) => `${e.id}/${e.weight}`)).toEqual(["10.0.0.1:80/3"]);
    expect(out.dropped).toEqual([
      { record: "entry 0", reason: "duplicate of entry 1 (10.0.0.1:80), which has the higher weight" },
      { record: "entry 2", reason: "port must be an integer in 1..65535, got 0" },
    ]);
  });

  it("gives the endpoints an InstanceList without it gives (property)", () => {
    const entry = fc.record({ n: fc.integer({ min: 1, max: 12 }), weight: fc.integer({ min: 0, max: 3 }) });
    const toInput = (r: { n: number; weight: number }) => ({ host: `10.0.0.${r.n}`, port: 80, weight: r.weight });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 12 }), fc.array(entry, { maxLength: 12 }), (a, b) => {
        const first = answer(a.map(toInput));
        const reused = answer(b.map(toInput), first);
        const fresh = answer(b.map(toInput));
        expect(reused.endpoints).toEqual(fresh.endpoints);
        expect(reused.dropped).toEqual(fresh.dropped);
        for (const e of reused.endpoints) {
          const before = first.known.get(e.id);
          if (before !== undefined && sameEndpoint(before, e)) expect(e).toBe(before);
        }
      }),
      { seed: 9, numRuns: 1_000 },
    );
  });
});
