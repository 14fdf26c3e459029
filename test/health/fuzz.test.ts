import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { outlierDetection, passiveHealthChecks } from "../../src/index.js";
import { worksOrTypedError } from "../helpers/errors.js";

const RUNS = 5000;

/** A value that is sometimes a plausible option value, often anything at all. */
const value = fc.oneof(
  fc.anything(),
  fc.integer({ min: -2, max: 300 }),
  fc.double(),
  fc.boolean(),
  fc.array(fc.integer({ min: 90, max: 1000 }), { maxLength: 4 }),
);

describe(`fuzz: ${RUNS} option objects per factory make a plug-in or throw a typed error`, () => {
  it("passiveHealthChecks(options)", () => {
    let made = 0;
    const group = (keys: string[]) => fc.oneof(value, fc.dictionary(fc.constantFrom(...keys), value));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.record(
            {
              name: value,
              healthy: group(["successes", "httpStatuses"]),
              unhealthy: group(["httpFailures", "tcpFailures", "timeouts", "httpStatuses"]),
              ejectionMs: value,
              maxEjectionMs: value,
            },
            { requiredKeys: [] },
          ),
        ),
        (options) => {
          if (worksOrTypedError(() => passiveHealthChecks(options as never))) made++;
        },
      ),
      { numRuns: RUNS, seed: 801 },
    );
    expect(made).toBeGreaterThan(100);
  });

  it("outlierDetection(options)", () => {
    const keys = [
      "name",
      "intervalMs",
      "baseEjectionTimeMs",
      "maxEjectionTimeMs",
      "maxEjectionTimeJitterMs",
      "maxEjectionPercent",
      "alwaysEjectOneHost",
      "consecutive5xx",
      "enforcingConsecutive5xx",
      "consecutiveGatewayFailure",
      "splitExternalLocalOriginErrors",
      "successRateStdevFactor",
      "failurePercentageThreshold",
      "successRateRequestVolume",
    ];
    let made = 0;
    fc.assert(
      fc.property(
        fc.oneof(fc.anything(), fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: 3 })),
        (options) => {
          if (worksOrTypedError(() => outlierDetection(options as never))) made++;
        },
      ),
      { numRuns: RUNS, seed: 802 },
    );
    expect(made).toBeGreaterThan(100);
  });
});
