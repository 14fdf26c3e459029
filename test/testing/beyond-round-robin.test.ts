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

  it("the published shape: round robin degrades above p95, least request above p99, Peak EWMA only near p99.9", () => {
    const rr = run("round robin").report;
    const lr = run("least request").report;
    const ewma = run("Peak EWMA").report;
    const baseline = run("Peak EWMA, no slow backend").report;
    expect(rr.latency.p95).toBeLessThan(200);
    expect(rr.latency.p99).toBe(1000);
    expect(lr.latency.p99).toBeLessThan(200);
    expect(lr.latency.p999).toBe(1000);
    expect(ewma.latency.p99).toBeLessThan(200);
    // Published ≈ 95% / 99% / 99.9%.
    expect(rr.successRate).toBeGreaterThan(0.95);
    expect(lr.successRate).toBeGreaterThan(0.99);
    expect(ewma.successRate).toBeGreaterThan(0.998);
    expect(rr.successRate < lr.successRate && lr.successRate < ewma.successRate).toBe(true);
    expect([baseline.successRate, baseline.timeouts]).toEqual([1, 0]);
    // Every run: 60,000 requests, every failure a timeout, but for one request begin() refused (see the docs).
    for (const r of runs) {
      expect([r.report.requests, r.report.failures]).toEqual([60_000, r.report.timeouts + r.report.unavailable]);
    }
    expect(runs.map((r) => r.report.unavailable)).toEqual([0, 0, 0, 0, 0]);
  });

  it("the slow backend under Peak EWMA: shunned while slow, its share growing back as its 1 s estimate decays after", () => {
    const slow = run("Peak EWMA").report.backends[0]?.series ?? [];
    const sum = (from: number, to: number) => slow.slice(from, to).reduce((a, b) => a + b, 0);
    // 1,000 requests/s over 11 backends: about 91 each per second.
    expect(Math.min(...slow.slice(0, 15))).toBeGreaterThan(70);
    expect(Math.max(...slow.slice(16, 45))).toBeLessThan(10);
    expect(slow[45]).toBeGreaterThan(0);
    expect(sum(55, 60)).toBeGreaterThan(2 * sum(45, 50));
  });
});
