/**
 * Figures of the passive health plug-ins on the attempt path: what
 * `onOutcome` adds to `upstream.end()`.
 *
 * - `health.outlier.outcome.bare` (ns/op): `begin()` then `end()` on a
 *   1,000-endpoint weighted round robin upstream on the system clock, no
 *   plug-in: the attempt figure the others are read against.
 * - `health.outlier.outcome.noop` (ns/op): the same with a plug-in whose
 *   `onOutcome` does nothing: what the plug-in seam itself costs an attempt.
 * - `health.outlier.outcome` (ns/op): the same with `outlierDetection()`
 *   (Envoy's defaults) attached: its `onOutcome` counts every outcome.
 * - `health.passive.outcome` (ns/op): the same with `passiveHealthChecks()`
 *   (thresholds of 5 for every counter).
 * - `health.outlier.outcome.alloc`, `health.passive.outcome.alloc` (B/op):
 *   bytes per `begin()` + `end()` with the plug-in, over 10⁶ attempts. Must be 0 (< 0.5).
 *
 * One outcome in 17 is a 500 (counted as a failure by both plug-ins), the
 * rest 200. With a seeded random the picks are the same in every run, and
 * this pattern never puts five 500s in a row on one endpoint: each figure
 * checks afterwards that nothing was ejected, so every attempt measured took
 * the same path. All four ns/op figures are interleaved with
 * the same array-index baseline (`ratio`), so a plug-in's cost is the
 * difference of two figures of one run: over `.noop` for its own work, over
 * `.bare` for the whole.
 * @module
 */
import type { Outcome, Upstream, UpstreamPlugin } from "../src/index.js";
import {
  createUpstream,
  outlierDetection,
  passiveHealthChecks,
  staticResolver,
  weightedRoundRobin,
} from "../src/index.js";
import { seededRandom } from "../src/testing/index.js";
import type { Figure, Measurement } from "./harness.js";
import { bytesPerOp, figure, nsPerOp, sink } from "./harness.js";
import { baselinePicker, endpointInputs } from "./pick.js";

const OK: Outcome = Object.freeze({ status: 200 });
const FAILED: Outcome = Object.freeze({ status: 500 });

function upstreamWith(plugins: UpstreamPlugin[]): Upstream {
  return createUpstream({
    name: "bench-health",
    resolver: staticResolver(endpointInputs(1000, { weighted: true, seed: 7 })),
    balancer: weightedRoundRobin(),
    plugins,
    random: seededRandom(7),
  });
}

/** One attempt: begin, end with a 200, or a 500 every 17th. */
function attemptOn(upstream: Upstream): (i: number) => number {
  return (i) => {
    const token = upstream.begin();
    upstream.end(token, i % 17 === 0 ? FAILED : OK);
    return token;
  };
}

/** Throws when the run ejected something (the figure would mix in skipped picks) or left attempts open. */
function checkRun(upstream: Upstream, what: string): void {
  const s = upstream.snapshot();
  const ejected = s.endpoints.filter((e) => e.ejections.length > 0).length;
  if (ejected !== 0) throw new Error(`${what} bench: ${ejected} endpoints were ejected during the run`);
  if (s.attempts.inFlight !== 0) throw new Error(`${what} bench: ${s.attempts.inFlight} attempts left in flight`);
}

function nsFigure(plugins: UpstreamPlugin[], what: string): Measurement {
  const upstream = upstreamWith(plugins);
  const m = nsPerOp(attemptOn(upstream), baselinePicker());
  checkRun(upstream, what);
  void upstream.close();
  return m;
}

function allocFigure(plugin: UpstreamPlugin, what: string): number {
  const upstream = upstreamWith([plugin]);
  const op = attemptOn(upstream);
  const bytes = bytesPerOp((i) => sink(op(i)));
  checkRun(upstream, what);
  void upstream.close();
  return bytes;
}

const passive = () =>
  passiveHealthChecks({ healthy: { successes: 5 }, unhealthy: { httpFailures: 5, tcpFailures: 5, timeouts: 5 } });

/** Runs the health plug-in figures whose name `select` accepts, in report order. */
export function healthFigures(select: (name: string) => boolean): Figure[] {
  const out: Figure[] = [];
  if (select("health.outlier.outcome.bare")) {
    out.push(figure("health.outlier.outcome.bare", "ns/op", nsFigure([], "bare")));
  }
  if (select("health.outlier.outcome.noop")) {
    const noop: UpstreamPlugin = { name: "noop", attach() {}, onOutcome() {} };
    out.push(figure("health.outlier.outcome.noop", "ns/op", nsFigure([noop], "noop")));
  }
  if (select("health.outlier.outcome")) {
    out.push(figure("health.outlier.outcome", "ns/op", nsFigure([outlierDetection()], "outlier")));
  }
  if (select("health.outlier.outcome.alloc")) {
    out.push(figure("health.outlier.outcome.alloc", "B/op", allocFigure(outlierDetection(), "outlier alloc")));
  }
  if (select("health.passive.outcome")) {
    out.push(figure("health.passive.outcome", "ns/op", nsFigure([passive()], "passive")));
  }
  if (select("health.passive.outcome.alloc")) {
    out.push(figure("health.passive.outcome.alloc", "B/op", allocFigure(passive(), "passive alloc")));
  }
  return out;
}
