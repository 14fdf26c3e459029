/**
 * SliceSet, the in-memory state of a Kubernetes watch, on its own: slices
 * replaced and removed one at a time, endpoints listed by two slices,
 * address families, and what `apply()` says changed. No network.
 */
import { describe, expect, it } from "vitest";
import { SliceSet } from "../../../src/resolvers/registry/k8s-endpoints.js";
import type { ParsedSlice } from "../../../src/resolvers/registry/k8s-slices.js";
import { parseSlice } from "../../../src/resolvers/registry/k8s-slices.js";
import { endpointSlice } from "../../helpers/kubernetes-api.js";

const CONTEXT = { resolver: "test", registry: "kubernetes" };
const OPTIONS = { scheme: "http", port: undefined, condition: "ready" as const };

function slice(name: string, ips: readonly string[], addressType = "IPv4", zone?: string): ParsedSlice {
  return parseSlice(
    endpointSlice(
      name,
      "api",
      ips.map((ip) => ({ ip, zone })),
      { addressType },
    ),
    OPTIONS,
    CONTEXT,
  );
}

const ids = (set: SliceSet) => set.endpoints().map((e) => e.id);

describe("SliceSet", () => {
  it("replaces and removes slices by name, and says when the merged set changed", () => {
    const set = new SliceSet("auto");
    expect(set.apply("a", slice("a", ["10.0.0.1", "10.0.0.2"]))).toBe(true);
    expect(set.apply("b", slice("b", ["10.0.0.3"]))).toBe(true);
    expect(ids(set)).toEqual(["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"]);
    expect(set.apply("a", slice("a", ["10.0.0.1", "10.0.0.2"]))).toBe(false); // the same slice again
    expect(set.apply("a", slice("a", ["10.0.0.1"]))).toBe(true);
    expect(set.apply("b", undefined)).toBe(true);
    expect(set.apply("b", undefined)).toBe(false);
    expect(ids(set)).toEqual(["10.0.0.1:8080"]);
    expect(set.size).toBe(1);
  });

  it("an endpoint that did not change keeps its object; one whose fields changed is replaced", () => {
    const set = new SliceSet("auto");
    set.apply("a", slice("a", ["10.0.0.1", "10.0.0.2"], "IPv4", "zone-a"));
    const [first, second] = set.endpoints();
    expect(set.apply("a", slice("a", ["10.0.0.1", "10.0.0.2"], "IPv4", "zone-a"))).toBe(false);
    expect(set.endpoints()[0]).toBe(first);
    expect(set.endpoints()[1]).toBe(second);
    expect(set.apply("a", slice("a", ["10.0.0.1", "10.0.0.2"], "IPv4", "zone-b"))).toBe(true);
    expect(set.endpoints().map((e) => e.zone)).toEqual(["zone-b", "zone-b"]);
  });

  it("a new version of a slice, read with known(), reuses the endpoints it lists unchanged", () => {
    const set = new SliceSet("auto");
    const pods = (third: string) => [
      { ip: "10.0.0.1", zone: "z1", node: "n1", pod: "api-1" },
      { ip: "10.0.0.2", zone: "z1", node: "n2", pod: "api-2" },
      { ip: third, zone: "z2", node: "n3", pod: "api-3" },
    ];
    const read = (third: string, known?: boolean) =>
      parseSlice(
        endpointSlice("a", "api", pods(third), { labels: { tier: "web" } }),
        OPTIONS,
        CONTEXT,
        known ? (name) => set.known(name) : undefined,
      );
    const first = read("10.0.0.3");
    set.apply("a", first);
    expect(set.known("a")?.ordered).toBe(first.endpoints);
    expect(set.known("b")).toBeUndefined();
    const next = read("10.0.0.9", true); // pod api-3 moved to another address
    expect(next.endpoints.map((e) => e.id)).toEqual(["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.9:8080"]);
    expect(next.endpoints.map((e, i) => e === first.endpoints[i])).toEqual([true, true, false]);
    expect(next.endpoints[2]?.metadata).toEqual({
      "kubernetes.io/service-name": "api",
      "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
      tier: "web",
      nodeName: "n3",
      pod: "api-3",
    });
    // Without known() the same slice is read into new endpoints, equal to those.
    const fresh = read("10.0.0.9");
    expect(fresh.endpoints).toEqual(next.endpoints);
    expect(fresh.endpoints[0]).not.toBe(first.endpoints[0]);
  });

  it("a label named __proto__ is a plain key of every endpoint's metadata", () => {
    const labels = JSON.parse('{"__proto__":"x","tier":"web"}') as Record<string, string>;
    const read = parseSlice(
      endpointSlice("a", "api", [{ ip: "10.0.0.1", pod: "api-1" }], { labels }),
      OPTIONS,
      CONTEXT,
    );
    const metadata = read.endpoints[0]?.metadata as Record<string, string>;
    expect(Object.getPrototypeOf(metadata)).toBe(Object.prototype);
    expect(Object.keys(metadata)).toContain("__proto__");
    expect(Object.getOwnPropertyDescriptor(metadata, "__proto__")?.value).toBe("x");
    expect(metadata.pod).toBe("api-1");
  });

  it("an endpoint listed by two slices is one; the other slice's copy takes over when the first lets go", () => {
    const set = new SliceSet("auto");
    set.apply("a", slice("a", ["10.0.0.1"], "IPv4", "zone-a"));
    expect(set.apply("b", slice("b", ["10.0.0.1"], "IPv4", "zone-b"))).toBe(false); // listed twice: one endpoint, a's copy
    expect(set.endpoints().map((e) => `${e.id} ${e.zone}`)).toEqual(["10.0.0.1:8080 zone-a"]);
    expect(set.apply("a", undefined)).toBe(true); // b's copy, in another zone, is in force now
    expect(set.endpoints().map((e) => `${e.id} ${e.zone}`)).toEqual(["10.0.0.1:8080 zone-b"]);
    set.apply("a", slice("a", ["10.0.0.1"], "IPv4", "zone-b"));
    expect(set.apply("b", undefined)).toBe(false); // a's copy is equal: nothing changed
    expect(ids(set)).toEqual(["10.0.0.1:8080"]);
  });

  it("auto: IPv4 slices when there are any, else IPv6; a family asked for is kept; FQDN slices count for nothing", () => {
    const auto = new SliceSet("auto");
    auto.apply("v6", slice("v6", ["fd00::1"], "IPv6"));
    auto.apply("fqdn", slice("fqdn", ["api.example.test"], "FQDN"));
    expect([auto.family, ids(auto)]).toEqual(["IPv6", ["[fd00::1]:8080"]]);
    expect(auto.apply("v4", slice("v4", []))).toBe(true); // an IPv4 slice, even empty, switches the family
    expect([auto.family, ids(auto)]).toEqual(["IPv4", []]);
    expect(auto.apply("v4", undefined)).toBe(true);
    expect(ids(auto)).toEqual(["[fd00::1]:8080"]);
    const v4 = new SliceSet("IPv4");
    v4.apply("v6", slice("v6", ["fd00::1"], "IPv6"));
    expect([v4.family, ids(v4)]).toEqual(["IPv4", []]);
  });

  it("reset() replaces every slice; dropped() lists what the slices of the family in use could not use", () => {
    const set = new SliceSet("auto");
    set.apply("old", slice("old", ["10.0.0.9"]));
    const bad = parseSlice(
      endpointSlice("c", "api", [{ ip: "10.0.0.5" }], { ports: [{ name: "grpc", port: 9090 }] }),
      { ...OPTIONS, port: "http" },
      CONTEXT,
    );
    set.reset([slice("a", ["10.0.0.1"]), bad, slice("v6", ["fd00::1"], "IPv6")]);
    expect(ids(set)).toEqual(["10.0.0.1:8080"]);
    expect(set.size).toBe(3);
    expect(set.dropped()).toEqual([
      { record: 'EndpointSlice "c"', reason: 'no TCP port named "http" (its TCP ports: "grpc" 9090)' },
    ]);
  });
});
