import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { endpoint, endpointId, parseEndpoint } from "../../src/index.js";
import {
  defaults,
  endpointObject,
  endpointString,
  expectCode,
  expectValidEndpoint,
  hostText,
  outcome,
  port,
  RUNS,
} from "./arbitraries.js";

/**
 * 10,000 random inputs per entry point: every input either yields a valid,
 * frozen endpoint or throws a `SwitchyardError` with a stable code. A plain
 * TypeError or any other throw fails the property.
 */
describe("fuzz: endpoint entry points", () => {
  it("endpoint(input, defaults)", () => {
    const seen = { ok: 0, rejected: 0 };
    fc.assert(
      fc.property(fc.oneof(endpointObject, endpointString, fc.anything()), defaults, (input, d) => {
        const result = outcome(() => endpoint(input as never, d as never));
        if (result.ok) {
          seen.ok++;
          expectValidEndpoint(result.value);
        } else {
          seen.rejected++;
          expectCode(result.error, ["ERR_INVALID_ENDPOINT", "ERR_INVALID_ARGUMENT"]);
        }
      }),
      { seed: 20_260_701, numRuns: RUNS },
    );
    expect(seen.ok + seen.rejected).toBe(RUNS);
    expect(seen.ok).toBeGreaterThan(RUNS * 0.05);
    expect(seen.rejected).toBeGreaterThan(RUNS * 0.05);
  });

  it("parseEndpoint(text, defaults)", () => {
    const seen = { ok: 0, rejected: 0 };
    fc.assert(
      fc.property(fc.oneof({ weight: 4, arbitrary: endpointString }, fc.anything()), defaults, (text, d) => {
        const result = outcome(() => parseEndpoint(text as never, d as never));
        if (result.ok) {
          seen.ok++;
          expectValidEndpoint(result.value);
          // The same text through endpoint() gives the same endpoint.
          expect(endpoint(text as string, d as never)).toEqual(result.value);
        } else {
          seen.rejected++;
          expectCode(result.error, ["ERR_INVALID_ENDPOINT", "ERR_INVALID_ARGUMENT"]);
        }
      }),
      { seed: 20_260_702, numRuns: RUNS },
    );
    expect(seen.ok).toBeGreaterThan(RUNS * 0.05);
    expect(seen.rejected).toBeGreaterThan(RUNS * 0.05);
  });

  it("endpointId(host, port): the id endpoint() gives, or the error it throws", () => {
    const seen = { ok: 0, rejected: 0 };
    fc.assert(
      fc.property(fc.oneof({ weight: 4, arbitrary: hostText }, fc.anything()), port, (host, p) => {
        const result = outcome(() => endpointId(host as never, p as never));
        const built = outcome(() => endpoint({ host: host as string, port: p as number }));
        expect(result.ok).toBe(built.ok);
        if (result.ok && built.ok) {
          seen.ok++;
          expect(result.value).toBe(built.value.id);
          expect(endpointId(built.value.host, built.value.port)).toBe(result.value);
        } else if (!result.ok) {
          seen.rejected++;
          expectCode(result.error, ["ERR_INVALID_ENDPOINT"]);
        }
      }),
      { seed: 20_260_703, numRuns: RUNS },
    );
    expect(seen.ok).toBeGreaterThan(RUNS * 0.05);
    expect(seen.rejected).toBeGreaterThan(RUNS * 0.05);
  });

  it("one host grammar: a host is accepted by the string form exactly when the object form accepts it", () => {
    const seen = { ok: 0, rejected: 0 };
    fc.assert(
      fc.property(
        // Characters that delimit the string form (and surrounding whitespace,
        // trimmed from a whole string) cannot be compared this way.
        hostText.filter((h) => !/[/?#@]/.test(h) && h.trim() === h && h !== ""),
        fc.integer({ min: 1, max: 65535 }),
        (host, p) => {
          const text = host.includes(":") && !host.startsWith("[") ? `[${host}]:${p}` : `${host}:${p}`;
          const fromObject = outcome(() => endpoint({ host, port: p }));
          const fromString = outcome(() => parseEndpoint(text));
          const fromUrl = outcome(() => parseEndpoint(`https://${text}/`, { scheme: "https" }));
          expect([fromString.ok, fromUrl.ok]).toEqual([fromObject.ok, fromObject.ok]);
          if (fromObject.ok && fromString.ok && fromUrl.ok) {
            seen.ok++;
            expect(fromString.value).toEqual(fromObject.value);
            expect(fromUrl.value).toEqual({ ...fromObject.value, scheme: "https" });
          } else {
            seen.rejected++;
          }
        },
      ),
      { seed: 20_260_704, numRuns: RUNS },
    );
    expect(seen.ok).toBeGreaterThan(RUNS * 0.05);
    expect(seen.rejected).toBeGreaterThan(RUNS * 0.05);
  });
});
