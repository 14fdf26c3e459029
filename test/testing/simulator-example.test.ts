import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import * as switchyard from "../../src/index.js";
import type { Scenario } from "../../src/testing/index.js";
import * as testing from "../../src/testing/index.js";

/** The ```ts block under "## Unit-test your balancing with the simulator" in docs/testing.md. */
function exampleSource(): string {
  const doc = readFileSync(resolve(import.meta.dirname, "..", "..", "docs", "testing.md"), "utf8");
  const section = doc.slice(doc.indexOf("## Unit-test your balancing with the simulator"));
  const block = /```ts\n([\s\S]*?)```/.exec(section);
  if (block === null) throw new Error("no ts block in the simulator section of docs/testing.md");
  return block[1] as string;
}

/**
 * Runs the docs' example as it is written: compiled to CommonJS, its imports
 * served from src/ (and vitest's `it` replaced by one that collects the
 * test), and returns its `scenario` and the test it declares.
 */
function loadExample(): { scenario: Scenario; tests: [string, () => Promise<void>][] } {
  const js = ts.transpileModule(exampleSource(), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const tests: [string, () => Promise<void>][] = [];
  const modules: Record<string, unknown> = {
    switchyard,
    "switchyard/testing": testing,
    vitest: { expect, it: (name: string, fn: () => Promise<void>) => tests.push([name, fn]) },
  };
  const load = new Function("require", "exports", `${js}\nreturn { scenario };`) as (
    require: (id: string) => unknown,
    exports: object,
  ) => { scenario: Scenario };
  const { scenario } = load((id) => modules[id], {});
  return { scenario, tests };
}

describe("docs/testing.md: the simulator example", () => {
  const example = loadExample();

  it("declares one test, which passes as written", async () => {
    expect(example.tests.map(([name]) => name)).toEqual([
      "keeps p99 under 60 ms while one backend is slow and another is down",
    ]);
    await example.tests[0]?.[1]();
  });

  it("its scenario gives exactly these numbers", async () => {
    const report = await testing.simulate(example.scenario);
    expect([report.requests, report.successes, report.failures, report.timeouts, report.unavailable]).toEqual([
      6027, 6015, 12, 5, 0,
    ]);
    // The slow backend: 5 timeouts (its breaker opened after 5 in a row; Peak EWMA's failure penalty then kept
    // it out of the candidates while it was slow); the dead one: 7 refusals (6, then its breaker's failed probe).
    expect(report.backends.map((b) => [b.requests, b.failures, b.timeouts])).toEqual([
      [2584, 0, 0],
      [2542, 0, 0],
      [249, 5, 5],
      [652, 7, 0],
    ]);
    expect(report.upstream.plugins).toEqual({ "circuit-breaker": { closed: 4, open: 0, halfOpen: 0, trips: 3 } });
    expect(report.latency.max).toBe(500);
    expect(report.latency.p99).toBeCloseTo(50.342, 3);
  });
});
