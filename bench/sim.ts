/**
 * Simulation figures: Linkerd's "Beyond Round Robin" experiment through the
 * simulator (scripts/beyond-round-robin.ts; the table and chart in
 * docs/balancing.md), and how long the simulator takes for it.
 *
 * - `sim.slow-backend.<balancer>.p99`, `.p999` (ms, nearest rank; a timed-out
 *   request counts at the 1 s timeout) and `.success` (fraction of requests
 *   answered with a success); `sim.no-slow-backend.peak-ewma.p999`, the
 *   baseline. Deterministic: the same on every run and machine.
 * - `sim.run.n60000` (ms): one 60-second, 60,000-request run (Peak EWMA, slow
 *   backend) in real time, median of calls (`msPerCall`), report included.
 * @module
 */

import type { RunSpec } from "../scripts/beyond-round-robin.js";
import { RUNS, scenario } from "../scripts/beyond-round-robin.js";
import { simulate } from "../src/testing/index.js";
import type { Figure } from "./harness.js";
import { CALL_ROUNDS, median, sink } from "./harness.js";

/** The figures' name of a run: `sim.slow-backend.peak-ewma`, `sim.no-slow-backend.peak-ewma`. */
function prefix(spec: RunSpec): string {
  return `sim.${spec.slow ? "slow-backend" : "no-slow-backend"}.${spec.key}`;
}

/** Milliseconds per call of an async `run`: 3 untimed calls, then the median of `CALL_ROUNDS` (as `msPerCall`). */
async function msPerAsyncCall(run: () => Promise<number>): Promise<number> {
  for (let k = 0; k < 3; k++) sink(await run());
  const samples: number[] = [];
  for (let r = 0; r < CALL_ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    sink(await run());
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(samples);
}

/** The simulation figures whose name passes `select`. */
export async function simFigures(select: (name: string) => boolean): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const spec of RUNS) {
    const name = prefix(spec);
    const wanted = [`${name}.p99`, `${name}.p999`, `${name}.success`].filter(select);
    if (wanted.length === 0) continue;
    const report = await simulate(scenario(spec));
    const values: Record<string, [number, string]> = {
      [`${name}.p99`]: [report.latency.p99, "ms"],
      [`${name}.p999`]: [report.latency.p999, "ms"],
      [`${name}.success`]: [report.successRate, "fraction"],
    };
    for (const figureName of wanted) {
      const [value, unit] = values[figureName] as [number, string];
      figures.push({ name: figureName, value, unit });
    }
  }
  if (select("sim.run.n60000")) {
    const spec = RUNS.find((r) => r.slow && r.key === "peak-ewma") as RunSpec;
    const value = await msPerAsyncCall(async () => (await simulate(scenario(spec))).requests);
    figures.push({ name: "sim.run.n60000", value, unit: "ms" });
  }
  return figures;
}
