import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { BreakerSnapshot, CircuitBreakerOptions, CircuitBreakersOptions } from "../../src/index.js";
import {
  anyStrategy,
  CircuitBreaker,
  CircuitOpenError,
  circuitBreakers,
  consecutiveFailures,
  failureRateByCount,
  failureRateByTime,
  openBackoff,
  SwitchyardError,
  slowCallRate,
} from "../../src/index.js";
import { ManualClock } from "../../src/testing/index.js";
import { worksOrTypedError } from "../helpers/errors.js";

/**
 * The breaker's public entry points that take user input, 10,000 random
 * inputs each (fixed seeds): `fc.anything()` and shaped near-misses. Each
 * call works or throws a `SwitchyardError` with a stable code, never a
 * TypeError, and a restore that throws changes nothing.
 */
const RUNS = 10_000;

function mostly(...shaped: fc.Arbitrary<unknown>[]): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: fc.oneof(...shaped), weight: 9 }, { arbitrary: fc.anything(), weight: 1 });
}

const number = fc.oneof(
  fc.integer({ min: -10, max: 1000 }),
  fc.double(),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0, 0.5, 2 ** 31),
);
const maybe = (a: fc.Arbitrary<unknown>) => mostly(a, fc.constant(undefined));

const strategyState = mostly(
  fc.record({ failures: mostly(number) }, { requiredKeys: [] }),
  fc.record({ outcomes: mostly(fc.array(mostly(fc.constantFrom(0, 1), number)), fc.string()) }, { requiredKeys: [] }),
  fc.record(
    {
      bucketMs: mostly(number, fc.constant(100)),
      calls: mostly(fc.array(mostly(number))),
      failures: mostly(fc.array(mostly(number))),
    },
    { requiredKeys: [] },
  ),
);

const snapshot = mostly(
  fc.record(
    {
      state: mostly(fc.constantFrom("closed", "open", "half-open", "ajar")),
      trips: maybe(number),
      openForMs: maybe(number),
      halfOpenSuccesses: maybe(number),
      strategy: maybe(
        fc.record(
          {
            name: mostly(
              fc.constantFrom("consecutive-failures", "failure-rate-by-count", "failure-rate-by-time", "any"),
            ),
            state: strategyState,
          },
          { requiredKeys: [] },
        ),
      ),
    },
    { requiredKeys: [] },
  ),
);

const strategies = [
  () => consecutiveFailures(2),
  () => failureRateByCount({ calls: 4, minimumCalls: 2 }),
  () => failureRateByTime({ windowMs: 1000, buckets: 10, minimumCalls: 2 }),
  () => anyStrategy(consecutiveFailures(2), slowCallRate({ slowMs: 10, calls: 3 })),
];

describe(`breaker fuzz: ${RUNS} inputs per entry point work or throw a typed error`, () => {
  it("new CircuitBreaker(options), restore(snapshot), strategies and openBackoff", () => {
    let made = 0;
    fc.assert(
      fc.property(
        mostly(
          fc.record(
            {
              openMs: maybe(mostly(number, fc.record({ initialMs: maybe(number), maxMs: maybe(number) }))),
              halfOpenProbes: maybe(number),
              successesToClose: maybe(number),
              restore: maybe(snapshot),
            },
            { requiredKeys: [] },
          ),
        ),
        snapshot,
        fc.nat(strategies.length - 1),
        fc.record(
          {
            rate: maybe(number),
            calls: maybe(number),
            minimumCalls: maybe(number),
            windowMs: maybe(number),
            buckets: maybe(number),
            slowMs: maybe(number),
            multiplier: maybe(number),
            jitter: maybe(number),
            initialMs: maybe(number),
            maxMs: maybe(number),
          },
          { requiredKeys: [] },
        ),
        (options, restored, s, strategyOptions) => {
          const o = options as Record<string, unknown> | undefined;
          if (typeof o?.openMs === "object" && o.openMs !== null) {
            worksOrTypedError(() => openBackoff(o.openMs as never));
          }
          let breaker: CircuitBreaker | undefined;
          const clock = new ManualClock();
          const make = () => {
            breaker = new CircuitBreaker({
              ...(typeof o === "object" && o !== null ? o : {}),
              ...(typeof o?.openMs === "object" ? { openMs: 100 } : {}),
              strategy: (strategies[s] as () => never)(),
              clock,
            } as CircuitBreakerOptions);
          };
          if (worksOrTypedError(make)) made++;
          const b = breaker ?? new CircuitBreaker({ clock, strategy: (strategies[s] as () => never)() });
          const before = b.snapshot();
          if (!worksOrTypedError(() => b.restore(restored as BreakerSnapshot))) expect(b.snapshot()).toEqual(before);
          expect(["closed", "open", "half-open"]).toContain(b.state);
          b.tryAcquire()?.failure();
          worksOrTypedError(() => consecutiveFailures(strategyOptions.calls as number));
          worksOrTypedError(() => failureRateByCount(strategyOptions as never));
          worksOrTypedError(() => failureRateByTime(strategyOptions as never));
          worksOrTypedError(() => slowCallRate(strategyOptions as never));
          worksOrTypedError(() => openBackoff(strategyOptions as never));
        },
      ),
      { numRuns: RUNS, seed: 91 },
    );
    expect(made).toBeGreaterThan(500);
  });

  it("permit.success(latencyMs) / failure(latencyMs), and execute(fn, signal)", async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ clock, strategy: slowCallRate({ slowMs: 10, calls: 4 }), openMs: 5 });
    const calls: Promise<unknown>[] = [];
    fc.assert(
      fc.property(fc.anything(), fc.anything(), fc.boolean(), (latency, signal, ok) => {
        clock.advance(1);
        const permit = breaker.tryAcquire();
        if (permit !== undefined) {
          const settled = worksOrTypedError(() =>
            ok ? permit.success(latency as number) : permit.failure(latency as number),
          );
          expect(permit.settled).toBe(settled);
          if (!settled) permit.cancel();
        }
        calls.push(
          breaker.execute(signal as never, signal as AbortSignal).catch((e: unknown) => {
            expect(e instanceof SwitchyardError || e instanceof CircuitOpenError).toBe(true);
          }),
        );
      }),
      { numRuns: RUNS, seed: 92 },
    );
    await Promise.all(calls);
  });

  it("circuitBreakers(options)", () => {
    let made = 0;
    fc.assert(
      fc.property(
        mostly(
          fc.record(
            {
              name: maybe(fc.string()),
              halfOpenProbes: maybe(number),
              successesToClose: maybe(number),
              openMs: maybe(number),
              restore: maybe(fc.dictionary(fc.constantFrom("a:1", "b:1", "__proto__", "constructor"), snapshot)),
            },
            { requiredKeys: [] },
          ),
        ),
        (options) => {
          if (worksOrTypedError(() => circuitBreakers(options as CircuitBreakersOptions))) made++;
        },
      ),
      { numRuns: RUNS, seed: 93 },
    );
    expect(made).toBeGreaterThan(500);
  });
});
