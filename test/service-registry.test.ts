import { describe, expect, it } from "vitest";
import {
  createUpstream,
  InvalidConfigError,
  ServiceRegistry,
  staticResolver,
  UnknownServiceError,
} from "../src/index.js";
import { seededRandom } from "../src/testing/index.js";

function upstream(name: string, hosts: string[]) {
  return createUpstream({ name, resolver: staticResolver(hosts), random: seededRandom(1) });
}

describe("ServiceRegistry", () => {
  it("registers upstreams by name with tags and finds them by name or tags", async () => {
    const registry = new ServiceRegistry();
    registry.register(upstream("user-service", ["http://user-service.internal:3000"]), {
      tags: ["v1", "user", "core"],
    });
    registry.register(upstream("product-service-v1", ["http://product-v1:3001"]), { tags: ["v1", "product"] });
    registry.register(upstream("product-service-v2", ["http://product-v2:3001"]), { tags: ["v2", "product"] });
    expect(registry.get("user-service").pick().id).toBe("user-service.internal:3000");
    expect(registry.byTags("core").map((e) => e.name)).toEqual(["user-service"]);
    expect(registry.byTags("product").map((e) => e.name)).toEqual(["product-service-v1", "product-service-v2"]);
    expect(registry.byTags("v2", "product").map((e) => e.name)).toEqual(["product-service-v2"]);
    expect(registry.byTags().length).toBe(3);
    expect(registry.has("nope")).toBe(false);
    expect(registry.find("nope")).toBeUndefined();
    expect(() => registry.get("nope")).toThrow(UnknownServiceError);
    expect(() => registry.get("nope")).toThrow('no service registered as "nope"');
    await registry.close();
    expect(registry.services()).toEqual([]);
  });

  it("refuses a duplicate name and bad tags, keeping what was registered", async () => {
    const registry = new ServiceRegistry();
    const first = upstream("api", ["a:1"]);
    registry.register(first);
    expect(() => registry.register(upstream("api", ["b:1"]))).toThrow(InvalidConfigError);
    expect(() => registry.register(upstream("other", ["b:1"]), { tags: "core" as never })).toThrow(/tags/);
    expect(registry.get("api")).toBe(first);
    expect(registry.unregister("api")).toBe(first);
    expect(first.closed).toBe(false);
    await first.close();
  });

  it("close() closes every upstream", async () => {
    const registry = new ServiceRegistry();
    const a = upstream("a", ["a:1"]);
    const b = upstream("b", ["b:1"]);
    registry.register(a);
    registry.register(b);
    await registry.close();
    expect([a.closed, b.closed]).toEqual([true, true]);
  });
});
