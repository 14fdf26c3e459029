/**
 * Linkerd's "Beyond Round Robin" experiment (2016), reproduced in the
 * simulator: 11 backends answering in normal(167 ms, 5 ms), one of them at
 * 2 s from t = 15 s to t = 45 s, 1,000 requests/s for 60 s, a 1 s client
 * timeout; round robin, least request, Peak EWMA without its failure
 * penalty (Finagle's) and with it (the default), Peak EWMA without the
 * slow backend (its baseline), and Peak EWMA with per-endpoint circuit
 * breakers (Linkerd's failure accrual).
 *
 *   npm run sim:beyond-round-robin
 *     (node --import tsx scripts/beyond-round-robin.ts)
 *
 * writes docs/img/beyond-round-robin.svg and prints the Markdown table of
 * docs/balancing.md ("Beyond Round Robin, reproduced"). The simulation is
 * deterministic: test/testing/beyond-round-robin.test.ts checks that both
 * match what this produces. bench/sim.ts reports the same runs as figures.
 * @module
 */
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Balancer, UpstreamPlugin } from "../src/index.js";
import { circuitBreakers, leastRequest, p2cPeakEwma, roundRobin } from "../src/index.js";
import type { LatencySummary, Scenario, SimulationReport } from "../src/testing/index.js";
import { normalLatency, simulate, slowPhase } from "../src/testing/index.js";

/** One configuration of the experiment. */
export interface RunSpec {
  /** Name in bench figures: `sim.slow-backend.<key>`, `sim.no-slow-backend.<key>`. */
  readonly key: string;
  /** Name in the table and the chart. */
  readonly label: string;
  /** Whether one backend is slow from 15 s to 45 s. */
  readonly slow: boolean;
  readonly balancer: () => Balancer;
  /** Per-endpoint circuit breakers (5 failures in a row open one). */
  readonly breakers?: boolean;
}

/** A finished run. */
export interface Run extends RunSpec {
  readonly report: SimulationReport;
  /** Every request's latency as the upstream was told it, sorted (for the chart's curve). */
  readonly latencies: Float64Array;
}

export const RUNS: readonly RunSpec[] = [
  { key: "round-robin", label: "round robin", slow: true, balancer: roundRobin },
  { key: "least-request", label: "least request", slow: true, balancer: leastRequest },
  {
    key: "peak-ewma-finagle",
    label: "Peak EWMA, failurePenalty 0",
    slow: true,
    balancer: () => p2cPeakEwma({ failurePenalty: 0 }),
  },
  { key: "peak-ewma", label: "Peak EWMA", slow: true, balancer: () => p2cPeakEwma() },
  { key: "peak-ewma", label: "Peak EWMA, no slow backend", slow: false, balancer: () => p2cPeakEwma() },
  {
    key: "peak-ewma-breakers",
    label: "Peak EWMA + circuitBreakers()",
    slow: true,
    balancer: () => p2cPeakEwma(),
    breakers: true,
  },
];

/**
 * A plug-in that only listens: it collects the latency of every outcome the
 * upstream sees (the simulator reports each request's, a timed-out one at the
 * timeout), for percentiles beyond the report's.
 */
function latencyRecorder(into: number[]): UpstreamPlugin {
  return {
    name: "latency-recorder",
    attach() {},
    onOutcome(_host, outcome) {
      if (outcome.latencyMs !== undefined) into.push(outcome.latencyMs);
    },
  };
}

/** The experiment's scenario for one configuration; `latencies`, when given, collects every request's latency. */
export function scenario(spec: RunSpec, latencies?: number[]): Scenario {
  return {
    seed: 1,
    durationMs: 60_000,
    ratePerSecond: 1000,
    arrivals: "fixed", // a load generator's constant rate
    timeoutMs: 1000,
    backends: Array.from({ length: 11 }, (_, i) => ({
      latency: normalLatency(167, 5),
      phases: spec.slow && i === 0 ? [slowPhase(15_000, 45_000, 2000)] : [],
    })),
    upstream: () => ({
      balancer: spec.balancer(),
      plugins: [
        ...(spec.breakers === true ? [circuitBreakers()] : []),
        ...(latencies === undefined ? [] : [latencyRecorder(latencies)]),
      ],
    }),
  };
}

/** Runs every configuration, in `RUNS` order. */
export async function beyondRoundRobin(): Promise<Run[]> {
  const runs: Run[] = [];
  for (const spec of RUNS) {
    const latencies: number[] = [];
    const report = await simulate(scenario(spec, latencies));
    runs.push({ ...spec, report, latencies: Float64Array.from(latencies).sort() });
  }
  return runs;
}

const ms = (x: number) => x.toFixed(1);

/** The Markdown table: latency percentiles (ms, nearest rank, timeouts at 1,000), success rate, failed requests, of which timeouts. */
export function markdownTable(runs: readonly Run[]): string {
  const rows = runs.map((r) => {
    const l = r.report.latency;
    return [
      r.label,
      r.slow ? "yes" : "no",
      ms(l.p50),
      ms(l.p90),
      ms(l.p95),
      ms(l.p99),
      ms(l.p999),
      ms(l.max),
      `${(r.report.successRate * 100).toFixed(3)}%`,
      String(r.report.failures),
      String(r.report.timeouts),
    ];
  });
  const header = [
    "balancer",
    "slow backend",
    "p50",
    "p90",
    "p95",
    "p99",
    "p99.9",
    "max",
    "success",
    "failed",
    "timeouts",
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join(" | ")} |`;
  const rule = `| ${widths.map((w, i) => (i < 2 ? "-".repeat(w) : `${"-".repeat(w - 1)}:`)).join(" | ")} |`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}

/** The "nines" axis runs from p50 to just past the maximum of 60,000 requests, at log10(60,000) ≈ 4.78. */
const X_MAX = 4.9;

/**
 * The latency at nines position x of sorted `latencies` (x = log10(1 / (1 −
 * p))): nearest rank ⌈p·n⌉, as the report's percentiles; past the last rank,
 * the maximum.
 */
function latencyAt(latencies: Float64Array, x: number): number {
  const n = latencies.length;
  const rank = Math.min(n, Math.max(1, Math.ceil((1 - 10 ** -x) * n)));
  return latencies[rank - 1] as number;
}

/** The chart's marked percentiles: name, position on the "nines" axis (log10 of 1 / (1 − p)), and the summary field. */
const POINTS: readonly { name: string; x: number; field: keyof LatencySummary }[] = [
  { name: "p50", x: Math.log10(2), field: "p50" },
  { name: "p90", x: 1, field: "p90" },
  { name: "p95", x: Math.log10(20), field: "p95" },
  { name: "p99", x: 2, field: "p99" },
  { name: "p99.9", x: 3, field: "p999" },
  { name: "max", x: Math.log10(60_000), field: "max" },
];

const X_MIN = Math.log10(2);

const COLORS = ["#d62728", "#ff7f0e", "#8c564b", "#1f77b4", "#2ca02c", "#9467bd"];
const DASHES = ["", "", "", "", "6 4", "2 3"];

/**
 * The chart: latency by percentile for each run, percentiles on a "nines"
 * axis (p90, p99, p99.9 evenly spaced), latency on a log axis, the 1 s
 * timeout marked. Hand-written SVG; every number printed with fixed
 * decimals, so the same runs give the same bytes.
 */
export function svgChart(runs: readonly Run[]): string {
  const width = 760;
  const height = 440;
  const left = 70;
  const right = 250;
  const top = 56;
  const bottom = 56;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const yMin = Math.log10(150);
  const yMax = Math.log10(1300);
  const px = (x: number) => (left + ((x - X_MIN) / (X_MAX - X_MIN)) * plotW).toFixed(1);
  const py = (msValue: number) => (top + plotH - ((Math.log10(msValue) - yMin) / (yMax - yMin)) * plotH).toFixed(1);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12" role="img" aria-labelledby="title">`,
    `<title id="title">Beyond Round Robin, reproduced: latency by percentile of ${runs.map((r) => r.label).join(", ")}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${left}" y="22" font-size="15" font-weight="bold">Beyond Round Robin, reproduced: latency by percentile</text>`,
    `<text x="${left}" y="40" fill="#555555">11 backends at normal(167 ms, 5 ms), one at 2 s from 15 s to 45 s; 1,000 requests/s for 60 s; 1 s timeout</text>`,
  );
  // Grid and axes.
  for (const tick of [150, 200, 300, 500, 700, 1000]) {
    const y = py(tick);
    out.push(
      `<line x1="${left}" y1="${y}" x2="${left + plotW}" y2="${y}" stroke="#e5e5e5"/>`,
      `<text x="${left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${tick}</text>`,
    );
  }
  for (const p of POINTS) {
    const x = px(p.x);
    out.push(
      `<line x1="${x}" y1="${top}" x2="${x}" y2="${top + plotH}" stroke="#e5e5e5"/>`,
      `<text x="${x}" y="${top + plotH + 18}" text-anchor="middle">${p.name}</text>`,
    );
  }
  out.push(
    `<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999999"/>`,
    `<line x1="${left}" y1="${py(1000)}" x2="${left + plotW}" y2="${py(1000)}" stroke="#555555" stroke-dasharray="3 3"/>`,
    `<text x="${left + 6}" y="${(Number(py(1000)) - 6).toFixed(1)}" fill="#555555">client timeout (1 s)</text>`,
    `<text x="${left + plotW / 2}" y="${height - 14}" text-anchor="middle">percentile</text>`,
    `<text transform="translate(18 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">latency, ms (log scale)</text>`,
  );
  // One line per run, with its legend entry.
  runs.forEach((run, i) => {
    const color = COLORS[i % COLORS.length] as string;
    const dash = DASHES[i % DASHES.length] as string;
    const dashAttr = dash === "" ? "" : ` stroke-dasharray="${dash}"`;
    // The curve: the latency at every 0.02 of the nines axis, drawn as steps (a percentile curve is one).
    const curve: string[] = [];
    let previous = Number.NaN;
    const last = Math.log10(run.latencies.length);
    for (let k = 0; ; k++) {
      const x = Math.min(last, X_MIN + k * 0.02);
      const y = latencyAt(run.latencies, x);
      if (y !== previous && !Number.isNaN(previous)) curve.push(`${px(x)},${py(previous)}`);
      curve.push(`${px(x)},${py(y)}`);
      previous = y;
      if (x === last) break;
    }
    out.push(`<polyline points="${curve.join(" ")}" fill="none" stroke="${color}" stroke-width="2"${dashAttr}/>`);
    for (const p of POINTS) {
      const value = run.report.latency[p.field];
      out.push(
        `<circle cx="${px(p.x)}" cy="${py(value)}" r="3" fill="${color}"><title>${run.label}: ${p.name} ${ms(value)} ms</title></circle>`,
      );
    }
    const ly = top + 10 + i * 22;
    const lx = left + plotW + 16;
    out.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${color}" stroke-width="2"${dashAttr}/>`,
      `<text x="${lx + 30}" y="${ly}" dominant-baseline="middle">${run.label}</text>`,
    );
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

/** Where the chart goes. */
export const SVG_PATH = resolve(import.meta.dirname, "..", "docs", "img", "beyond-round-robin.svg");

async function main(): Promise<void> {
  const started = performance.now();
  const runs = await beyondRoundRobin();
  const elapsed = performance.now() - started;
  writeFileSync(SVG_PATH, svgChart(runs));
  process.stdout.write(`${markdownTable(runs)}\n\n`);
  process.stdout.write(
    `${runs.length} simulations of ${runs[0]?.report.requests} requests each in ${elapsed.toFixed(0)} ms; wrote ${join("docs", "img", "beyond-round-robin.svg")}\n`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
