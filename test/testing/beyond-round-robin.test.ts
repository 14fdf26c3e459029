import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Run } from "../../scripts/beyond-round-robin.js";
import { beyondRoundRobin, markdownTable, SVG_PATH, svgChart } from "../../scripts/beyond-round-robin.js";

const root = resolve(import.meta.dirname, "..", "..");
let runs: Run[];

function run(label: string): Run {
  const found = runs.find((r) => r.label === label);
  if (found === undefined) throw new Error(`no run ${label}`);
  return found;
}

describe('"Beyond Round Robin", reproduced (scripts/beyond-round-robin.ts)', () => {
  beforeAll(async () => {
    runs = await beyondRoundRobin();
  }, 60_000);

  it("the committed chart and the table in docs/balancing.md are what the script produces now", () => {
    // Regenerate both with `npm run sim:beyond-round-robin` when a balancer or the simulator changes.
    expect(readFileSync(SVG_PATH, "utf8")).toBe(svgChart(runs));
    const balancing = readFileSync(resolve(root, "docs", "balancing.md"), "utf8");
    const section = balancing.slice(balancing.indexOf("## Beyond Round Robin, reproduced"));
    expect(section).toContain(markdownTable(runs));
    expect(section).toContain("![");
    expect(section).toContain("(img/beyond-round-robin.svg)");
  });

  it("the published shape: round robin degrades above p95, least request above p99, Finagle's Peak EWMA near p99.9", () => {
    const rr = run("round robin").report;
    const lr = run("least request").report;
    const finagle = run("Peak EWMA, failurePenalty 0").report;
    const baseline = run("Peak EWMA, no slow backend").report;
    expect(rr.latency.p95).toBeLessThan(200);
    expect(rr.latency.p99).toBe(1000);
    expect(lr.latency.p99).toBeLessThan(200);
    expect(lr.latency.p999).toBe(1000);
    expect(finagle.latency.p99).toBeLessThan(200);
    expect(finagle.latency.p999).toBe(1000);
    // Published ≈ 95% / 99% / 99.9%.
    expect(rr.successRate).toBeGreaterThan(0.95);
    expect(lr.successRate).toBeGreaterThan(0.99);
    expect(finagle.successRate).toBeGreaterThan(0.998);
    expect(rr.successRate < lr.successRate && lr.successRate < finagle.successRate).toBe(true);
    expect([baseline.successRate, baseline.timeouts]).toEqual([1, 0]);
    // Every run: 60,000 requests, every failure a timeout; begin() never refused one.
    for (const r of runs) {
      expect([r.report.requests, r.report.failures]).toEqual([60_000, r.report.timeouts + r.report.unavailable]);
    }
    expect(runs.map((r) => r.report.unavailable)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it("the target: Peak EWMA (failure penalty on, the default) keeps p99.9 within 1.2× of its baseline, success ≥ 99.9%", () => {
    const ewma = run("Peak EWMA").report;
    const baseline = run("Peak EWMA, no slow backend").report;
    expect(ewma.latency.p999).toBeLessThanOrEqual(1.2 * baseline.latency.p999);
    expect(ewma.successRate).toBeGreaterThanOrEqual(0.999);
    // Its failures: the first second's requests, sent before any timed out, and a few probes.
    expect(ewma.timeouts).toBeLessThan(run("Peak EWMA, failurePenalty 0").report.timeouts / 4);
  });

  it("the slow backend under Peak EWMA: shunned while slow, its share growing back as its estimate decays after", () => {
    for (const label of ["Peak EWMA", "Peak EWMA, failurePenalty 0"]) {
      const slow = run(label).report.backends[0]?.series ?? [];
      const sum = (from: number, to: number) => slow.slice(from, to).reduce((a, b) => a + b, 0);
      // 1,000 requests/s over 11 backends: about 91 each per second.
      expect(Math.min(...slow.slice(0, 15))).toBeGreaterThan(70);
      expect(Math.max(...slow.slice(16, 45))).toBeLessThan(label === "Peak EWMA" ? 2 : 10);
      expect(sum(45, 50)).toBeGreaterThan(0);
      expect(sum(55, 60)).toBeGreaterThan(2 * sum(45, 50));
    }
  });
});
