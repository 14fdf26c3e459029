import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Endpoint } from "../src/index.js";
import { createUpstream, endpoint, endpointMatcher, isFailure, ServiceRegistry } from "../src/index.js";
import { ManualClock, ManualResolver, seededRandom } from "../src/testing/index.js";
import { worksOrTypedError } from "./helpers/errors.js";

/**
 * The remaining public entry points that take user input (the registry, the
 * filter matcher, isFailure, and the testing tools), 10,000 random inputs
 * each: every call works or throws a SwitchyardError with a stable code.
 */
const RUNS = 10_000;

describe(`fuzz: ${RUNS} inputs per entry point work or throw a typed error`, () => {
  it("ServiceRegistry: register, get, find, has, unregister, byTags", () => {
    const registry = new ServiceRegistry();
    const upstream = createUpstream({ name: "api", resolver: new ManualResolver() });
    let registered = 0;
    fc.assert(
      fc.property(
        fc.oneof(fc.anything(), fc.constant(upstream)),
        fc.oneof(fc.anything(), fc.record({ tags: fc.oneof(fc.anything(), fc.array(fc.string())) })),
        fc.oneof(fc.anything(), fc.constantFrom("api", "nope")),
        (u, options, name) => {
          if (worksOrTypedError(() => registry.register(u as never, options as never))) registered++;
          worksOrTypedError(() => registry.get(name as string));
          registry.find(name as string);
          registry.has(name as string);
          registry.byTags(name as string);
          registry.unregister(name as string);
        },
      ),
      { numRuns: RUNS, seed: 81 },
    );
    expect(registered).toBeGreaterThan(10);
    void upstream.close();
  });

  it("endpointMatcher(filter), and the predicate it returns", () => {
    const e = endpoint({ host: "a", port: 1, tags: ["v1"], metadata: { version: "1" }, zone: "z1" });
    const selector = fc.record(
      {
        tags: fc.oneof(fc.anything(), fc.array(fc.constantFrom("v1", "v2"))),
        metadata: fc.oneof(fc.anything(), fc.dictionary(fc.constantFrom("version", "x"), fc.string())),
        zone: fc.oneof(fc.anything(), fc.constantFrom("z1", "z2")),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.anything(), selector), (filter) => {
        let match: ((x: Endpoint) => boolean) | undefined;
        if (worksOrTypedError(() => (match = endpointMatcher(filter as never)))) {
          expect(typeof match?.(e)).toBe("boolean");
        }
      }),
      { numRuns: RUNS, seed: 82 },
    );
  });

  it("isFailure(outcome)", () => {
    const outcome = fc.oneof(
      fc.anything(),
      fc.record(
        {
          status: fc.oneof(fc.anything(), fc.integer({ min: 0, max: 700 })),
          failure: fc.oneof(fc.anything(), fc.constantFrom("connect", "reset", "timeout", "cancelled", "abandoned")),
          latencyMs: fc.oneof(fc.anything(), fc.double()),
        },
        { requiredKeys: [] },
      ),
    );
    fc.assert(
      fc.property(outcome, (o) => {
        worksOrTypedError(() => expect(typeof isFailure(o as never)).toBe("boolean"));
      }),
      { numRuns: RUNS, seed: 83 },
    );
  });

  it("seededRandom(seed), ManualClock(start), advance(ms)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.double(), fc.integer()), fc.anything(), (value, ms) => {
        if (worksOrTypedError(() => seededRandom(value as number))) {
          const x = seededRandom(value as number).next();
          expect(x >= 0 && x < 1).toBe(true);
        }
        let clock: ManualClock | undefined;
        if (worksOrTypedError(() => (clock = new ManualClock(value as number)))) {
          worksOrTypedError(() => clock?.advance(ms as number));
          expect(Number.isFinite(clock?.now())).toBe(true);
        }
      }),
      { numRuns: RUNS, seed: 84 },
    );
  });
});
