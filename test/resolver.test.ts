import { describe, expect, it } from "vitest";
import type { Endpoint } from "../src/index.js";
import { ResolverError } from "../src/index.js";
import { ManualResolver } from "../src/testing/index.js";

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
