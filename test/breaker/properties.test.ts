import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { BreakerPermit } from "../../src/index.js";
import { CircuitBreaker, CircuitOpenError, consecutiveFailures, openBackoff } from "../../src/index.js";
import { ManualClock, seededRandom } from "../../src/testing/index.js";

type Command =
  | { readonly t: "acquire" }
  | { readonly t: "settle"; readonly i: number; readonly kind: "success" | "failure" | "cancel" }
  | { readonly t: "advance"; readonly ms: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: fc.constant({ t: "acquire" } as const), weight: 4 },
  {
    arbitrary: fc.record({
      t: fc.constant("settle" as const),
      i: fc.nat(),
      kind: fc.constantFrom("success" as const, "failure" as const, "cancel" as const),
    }),
    weight: 4,
  },
  { arbitrary: fc.record({ t: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 400 }) }), weight: 1 },
);

const config = fc.record({
  threshold: fc.integer({ min: 1, max: 4 }),
  probes: fc.integer({ min: 1, max: 4 }),
  successes: fc.integer({ min: 1, max: 5 }),
});

describe("CircuitBreaker properties", () => {
  it("half-open admits exactly up to halfOpenProbes outstanding probes, and closes only after successesToClose", () => {
    // How often the runs reached the cases that matter, so the property cannot pass vacuously.
    const seen = { refusedProbe: 0, closedFromHalfOpen: 0 };
    fc.assert(
      fc.property(
        config,
        fc.array(command, { maxLength: 200, size: "max" }),
        ({ threshold, probes, successes }, commands) => {
          const clock = new ManualClock();
          const breaker = new CircuitBreaker({
            clock,
            random: seededRandom(3),
            strategy: consecutiveFailures(threshold),
            openMs: openBackoff({ initialMs: 100, maxMs: 400, jitter: 0.5 }),
            halfOpenProbes: probes,
            successesToClose: successes,
          });
          // The model: probes of the current half-open period, and their successes.
          let period = 0;
          let probeSuccesses = 0;
          const open: { permit: BreakerPermit; period: number }[] = [];
          breaker.on("stateChange", (change) => {
            if (change.to === "half-open") {
              period++;
              probeSuccesses = 0;
            }
            if (change.from === "half-open" && change.to === "closed") {
              expect(probeSuccesses).toBe(successes);
              seen.closedFromHalfOpen++;
            }
          });
          const outstanding = () => open.filter((p) => p.permit.probe && p.period === period).length;
          for (const c of commands) {
            if (c.t === "advance") clock.advance(c.ms);
            else if (c.t === "acquire") {
              const state = breaker.state; // takes the open → half-open step when due
              const before = outstanding();
              const permit = breaker.tryAcquire();
              if (state === "closed") expect(permit?.probe).toBe(false);
              else if (state === "open") expect(permit).toBeUndefined();
              else {
                expect(permit !== undefined).toBe(before < probes); // the (N+1)th is refused
                if (permit === undefined) seen.refusedProbe++;
              }
              if (permit !== undefined) open.push({ permit, period });
            } else if (open.length > 0) {
              const [p] = open.splice(c.i % open.length, 1) as [{ permit: BreakerPermit; period: number }];
              const probe = p.permit.probe && p.period === period && breaker.state === "half-open";
              if (probe && c.kind === "success") probeSuccesses++;
              p.permit[c.kind]();
            }
            if (breaker.state === "half-open") expect(outstanding()).toBeLessThanOrEqual(probes);
          }
        },
      ),
      { numRuns: 500, seed: 81 },
    );
    expect(seen.refusedProbe).toBeGreaterThan(100);
    expect(seen.closedFromHalfOpen).toBeGreaterThan(100);
  });

  it("a refused execute() never calls its function; an admitted one always does", async () => {
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(fc.constant("ok"), fc.constant("fail"), fc.constant("settle"), fc.integer({ min: 1, max: 300 })),
          { maxLength: 100, size: "max" },
        ),
        async (steps) => {
          const clock = new ManualClock();
          const breaker = new CircuitBreaker({ clock, strategy: consecutiveFailures(2), openMs: 200 });
          const pending: Promise<void>[] = [];
          for (const step of steps) {
            if (typeof step === "number") {
              clock.advance(step);
              continue;
            }
            if (step === "settle") {
              await Promise.all(pending); // the calls so far settle and count
              continue;
            }
            const state = breaker.state;
            let called = false;
            const run = breaker.execute(async () => {
              called = true;
              if (step === "fail") throw new Error("down");
            });
            const admitted = called; // fn runs synchronously inside execute() when admitted
            if (state !== "half-open") expect(admitted).toBe(state === "closed");
            if (!admitted) refused++;
            pending.push(
              run.then(
                () => expect(admitted).toBe(true),
                (e: unknown) => expect(e instanceof CircuitOpenError).toBe(!admitted),
              ),
            );
          }
          await Promise.all(pending);
        },
      ),
      { numRuns: 300, seed: 82 },
    );
    expect(refused).toBeGreaterThan(300);
  });
});
